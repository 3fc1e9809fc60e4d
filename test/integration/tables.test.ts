/**
 * Tables on the real broker: word count across two workers with a kill -9, lmdb restarts that
 * replay only the tail, failover time with and without a standby, partition mismatches at
 * start-up, and a global table shared by two workers.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { App, PartitionsMismatch } from '../../src/index.ts'
import { brokerUrl, eventually, kafka, startProcess, testAdmin, unique } from './_kafka.ts'

const vocabulary = Array.from({ length: 100 }, (_, i) => `word${i}`)

/** Produce `n` words (keyed by the word) and return how many of each were sent. */
async function produceWords(topic: string, n: number, sent = new Map<string, number>(), distinct = vocabulary.length): Promise<Map<string, number>> {
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (let i = 0; i < n; i += 500) {
      const messages = []
      for (let j = i; j < Math.min(n, i + 500); j++) {
        const word = distinct === vocabulary.length ? vocabulary[(j * 7919) % vocabulary.length]! : `w${(j * 7919) % distinct}`
        sent.set(word, (sent.get(word) ?? 0) + 1)
        messages.push({ key: word, value: word })
      }
      await producer.send({ topic, messages })
    }
  } finally {
    await producer.disconnect()
  }
  return sent
}

/** Follow a changelog: the latest count per word, and how many records it holds. */
async function followChangelog(t: { after(fn: () => Promise<void>): void }, topic: string) {
  const latest = new Map<string, number>()
  let records = 0
  const consumer = kafka.consumer({ groupId: unique('changelog-reader') })
  await consumer.connect()
  t.after(() => consumer.disconnect())
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      records += 1
      const word = JSON.parse(message.key!.toString()) as string
      if (message.value === null) latest.delete(word)
      else latest.set(word, Number(message.value.toString()))
    },
  })
  return { latest, records: () => records }
}

function workerEnv(id: string, words: string, extra: Record<string, string> = {}) {
  return { APP_ID: id, BROKER_URL: brokerUrl, WORDS_TOPIC: words, PARTITIONS: '8', ...extra }
}

function lastAssigned(stderr: string): number[] {
  const all = [...stderr.matchAll(/ASSIGNED (\[[\d,]*\])/g)]
  return all.length === 0 ? [] : (JSON.parse(all[all.length - 1]![1]!) as number[])
}

test('word count, 2 workers, 8 partitions: kill -9 one mid-stream; the other takes over and no word is lost', async (t) => {
  const k = await testAdmin(t)
  const id = unique('wc')
  const words = await k.topic(unique('wc-words'), 8)
  k.cleanupTopic(`${id}-counts-changelog`)
  k.cleanupGroup(id)
  const changelog = `${id}-counts-changelog`
  const a = startProcess('test/fixtures/table-worker.ts', workerEnv(id, words))
  k.stopLater({ stop: async () => void (a.kill(), await a.exited) })
  await a.waitFor(/ASSIGNED \[0,1,2,3,4,5,6,7\]/)
  const b = startProcess('test/fixtures/table-worker.ts', workerEnv(id, words))
  k.stopLater({ stop: async () => void (b.kill(), await b.exited) })
  await eventually(() => lastAssigned(a.stderr()).length === 4 && lastAssigned(b.stderr()).length === 4, 'a 4/4 split')

  const sent = await produceWords(words, 3000)
  await eventually(() => (b.stderr().match(/COUNTED/g) ?? []).length > 500, 'worker B counting')
  b.kill('SIGKILL')
  await b.exited
  await produceWords(words, 3000, sent)
  const view = await followChangelog(t, changelog)
  await eventually(
    () => vocabulary.every((w) => (view.latest.get(w) ?? 0) >= (sent.get(w) ?? 0)),
    () => `every word counted at least as often as sent; short: ${vocabulary.filter((w) => (view.latest.get(w) ?? 0) < (sent.get(w) ?? 0)).map((w) => `${w} ${view.latest.get(w) ?? 0}/${sent.get(w)}`).join(', ')}`,
    90_000,
  )
  assert.deepEqual(lastAssigned(a.stderr()), [0, 1, 2, 3, 4, 5, 6, 7], 'A took over all partitions')
  let counted = 0
  for (const w of vocabulary) counted += view.latest.get(w) ?? 0
  const total = [...sent.values()].reduce((x, y) => x + y, 0)
  console.log(`table word count: ${total} words sent, final counts sum to ${counted}: ${counted - total} counted twice after the kill -9`)
  assert.ok(counted >= total)
})

test('lmdb store: a restart replays only the changelog written since the store\'s last commit', async (t) => {
  const k = await testAdmin(t)
  const id = unique('lmdb')
  const words = await k.topic(unique('lmdb-words'), 8)
  const changelog = `${id}-counts-changelog`
  k.cleanupTopic(changelog)
  k.cleanupGroup(id)
  const datadir = mkdtempSync(join(tmpdir(), 'faust-lmdb-'))
  t.after(() => rmSync(datadir, { recursive: true, force: true }))
  const env = workerEnv(id, words, { STORE: 'lmdb://', DATADIR: datadir, STANDBYS: '0' })
  const first = startProcess('test/fixtures/table-worker.ts', env)
  k.stopLater({ stop: async () => void (first.kill(), await first.exited) })
  await first.waitFor(/READY/)
  const sent = await produceWords(words, 4000)
  const view = await followChangelog(t, changelog)
  await eventually(() => vocabulary.every((w) => view.latest.get(w) === sent.get(w)), 'all 4000 counted and committed')
  first.kill('SIGTERM')
  assert.equal((await first.exited)[0], 0)
  const before = view.records()

  // While the worker is down, another writer adds to the changelog: that is the tail.
  const producer = kafka.producer()
  await producer.connect()
  t.after(() => producer.disconnect())
  await producer.send({ topic: changelog, messages: Array.from({ length: 50 }, (_, i) => ({ key: JSON.stringify(`extra${i}`), value: '1', partition: i % 8 })) })
  await eventually(() => view.records() === before + 50, 'the tail in the changelog')

  const second = startProcess('test/fixtures/table-worker.ts', env)
  k.stopLater({ stop: async () => void (second.kill(), await second.exited) })
  await second.waitFor(/READY \d+/)
  const replayed = Number(/READY (\d+)/.exec(second.stderr())![1])
  console.log(`lmdb restart: ${replayed} of ${before + 50} changelog records replayed`)
  assert.equal(replayed, 50, 'only the tail written while the worker was down')
  second.kill('SIGTERM')
  assert.equal((await second.exited)[0], 0)

  const third = startProcess('test/fixtures/table-worker.ts', env)
  k.stopLater({ stop: async () => void (third.kill(), await third.exited) })
  await third.waitFor(/READY \d+/)
  assert.equal(Number(/READY (\d+)/.exec(third.stderr())![1]), 0, 'after a clean stop nothing is replayed')
})

for (const standbys of [1, 0]) {
  test(`failover with ${standbys} standby replica(s): time until the survivor has restored the table and counts again`, async (t) => {
    const k = await testAdmin(t)
    const id = unique(`fo${standbys}`)
    const words = await k.topic(unique('fo-words'), 8)
    k.cleanupTopic(`${id}-counts-changelog`)
    k.cleanupGroup(id)
    const env = workerEnv(id, words, { STANDBYS: String(standbys), QUIET: '1', SESSION_TIMEOUT: '6' })
    const a = startProcess('test/fixtures/table-worker.ts', env)
    k.stopLater({ stop: async () => void (a.kill(), await a.exited) })
    await a.waitFor(/ASSIGNED \[0,1,2,3,4,5,6,7\]/)
    const b = startProcess('test/fixtures/table-worker.ts', env)
    k.stopLater({ stop: async () => void (b.kill(), await b.exited) })
    await eventually(() => lastAssigned(a.stderr()).length === 4 && lastAssigned(b.stderr()).length === 4, 'a 4/4 split')
    // A big table: 100,000 words over 50,000 distinct keys.
    const sent = await produceWords(words, 100_000, new Map(), 50_000)
    const view = await followChangelog(t, `${id}-counts-changelog`)
    await eventually(() => view.latest.size === sent.size && [...sent].every(([w, n]) => view.latest.get(w) === n), 'all counted and committed', 120_000)
    const readyBefore = (a.stderr().match(/READY/g) ?? []).length
    const killed = Date.now()
    b.kill('SIGKILL')
    await b.exited
    await eventually(() => lastAssigned(a.stderr()).length === 8, 'A assigned all 8', 60_000)
    const assignedAt = Date.now()
    await eventually(() => (a.stderr().match(/READY/g) ?? []).length > readyBefore, 'A restored', 120_000)
    const readyAt = Date.now()
    const ready = [...a.stderr().matchAll(/READY (\d+) (\d+)/g)].pop()!
    const replayed = Number(ready[1])
    console.log(
      `failover with ${standbys} standby: detected and reassigned in ${assignedAt - killed} ms, table restored in ${readyAt - assignedAt} ms ` +
        `(${replayed} changelog records replayed, recovery ${ready[2]} ms); total ${readyAt - killed} ms`,
    )
    if (standbys === 0) assert.ok(replayed >= 20_000, `a full restore of the dead worker's partitions (${replayed})`)
    else assert.ok(replayed < 5_000, `only the tail (${replayed})`)
  })
}

test('a source topic and a changelog with different partition counts: a clear error at start-up', async (t) => {
  const k = await testAdmin(t)
  const id = unique('mismatch')
  const words = await k.topic(unique('mm-words'), 3)
  const app = new App(id, { broker: brokerUrl })
  const source = app.topic(words)
  app.table('counts', { partitions: 8, sources: [source] })
  k.cleanupTopic(`${id}-counts-changelog`)
  k.stopLater(app)
  await assert.rejects(app.start(), (err: unknown) => {
    assert.ok(err instanceof PartitionsMismatch)
    assert.match(err.message, new RegExp(`source topic ${words} has 3 partitions but the changelog ${id}-counts-changelog has 8`))
    return true
  })
  // An existing changelog with another partition count is refused too.
  const other = new App(id, { broker: brokerUrl })
  other.table('counts', { partitions: 4 })
  k.stopLater(other)
  await assert.rejects(other.start(), (err: unknown) => err instanceof PartitionsMismatch && /has 8 partitions but the app needs 4/.test(err.message))
})

test('a global table on two workers: each sees the writes of both', async (t) => {
  const k = await testAdmin(t)
  const id = unique('global')
  const updates = await k.topic(unique('gt-updates'), 4)
  k.cleanupTopic(`${id}-config-changelog`)
  k.cleanupGroup(id)
  const mk = () => {
    const app = new App(id, { broker: brokerUrl, brokerSessionTimeout: 10, brokerHeartbeatInterval: 1 })
    const config = app.globalTable<string, number>('config', { partitions: 4 })
    app.agent(app.topic(updates, { keyType: String }), async (stream) => {
      for await (const [key, value] of stream.items()) config.set(key, value as number)
    }, { name: 'apply' })
    k.stopLater(app)
    return { app, config }
  }
  const a = mk()
  const b = mk()
  await a.app.start()
  await b.app.start()
  await eventually(() => a.app.assignment().length === 2 && b.app.assignment().length === 2, 'split 2/2')
  const producer = kafka.producer()
  await producer.connect()
  t.after(() => producer.disconnect())
  await producer.send({ topic: updates, messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: String(i) })) })
  await eventually(() => a.config.size === 40 && b.config.size === 40, 'both workers hold all 40 keys')
  for (let i = 0; i < 40; i++) {
    assert.equal(a.config.get(`k${i}`), i)
    assert.equal(b.config.get(`k${i}`), i)
  }
})
