/**
 * The web server on the real broker, two workers: a table lookup asked of worker A for a key
 * that worker B holds is forwarded to B; with B killed, A answers from its standby copy; /stats
 * of the two add up to the events sent; /metrics parses.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { keyPartition } from '../../src/utils/murmur2.ts'
import { brokerUrl, eventually, kafka, startProcess, testAdmin, unique } from './_kafka.ts'

const PARTITIONS = 8

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies read field by field
type Json = Record<string, any>

async function getJson(url: string): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json }
}

function webUrl(stderr: string): string | undefined {
  const all = [...stderr.matchAll(/WEB (\S+)/g)]
  return all.at(-1)?.[1]
}

test('two workers: a lookup is forwarded to the owner, and answered by a standby when the owner is down', async (t) => {
  const k = await testAdmin(t)
  const id = unique('web')
  const words = await k.topic(unique('web-words'), PARTITIONS)
  k.cleanupTopic(`${id}-counts-changelog`)
  k.cleanupGroup(id)
  const env = { APP_ID: id, BROKER_URL: brokerUrl, WORDS_TOPIC: words, PARTITIONS: String(PARTITIONS), STANDBYS: '1', QUIET: '1' }
  const a = startProcess('test/fixtures/table-worker.ts', env)
  k.stopLater({ stop: async () => void (a.kill(), await a.exited) })
  await a.waitFor(/READY/)
  const b = startProcess('test/fixtures/table-worker.ts', env)
  k.stopLater({ stop: async () => void (b.kill(), await b.exited) })
  const urlA = () => webUrl(a.stderr())!
  const urlB = () => webUrl(b.stderr())!
  // Both assigned 4 partitions each, with the other's 4 as standbys, and ready.
  await eventually(async () => {
    if (webUrl(a.stderr()) === undefined || webUrl(b.stderr()) === undefined) return false
    const router = (await getJson(`${urlA()}/router`)).body
    const owners = Object.values(router.tables.counts as Record<string, { active: string; standbys: string[] }>)
    return owners.filter((o) => o.active === urlB() && o.standbys.includes(urlA())).length === 4 &&
      owners.filter((o) => o.active === urlA() && o.standbys.includes(urlB())).length === 4 &&
      (await getJson(`${urlB()}/health`)).status === 200 && (await getJson(`${urlA()}/health`)).status === 200
  }, 'a 4/4 split with standbys, both ready')

  // 40 words, each sent i+1 times.
  const vocabulary = Array.from({ length: 40 }, (_, i) => `w${i}`)
  const sent = new Map<string, number>()
  const messages = vocabulary.flatMap((w, i) => Array.from({ length: i + 1 }, () => ({ key: w, value: w })))
  for (const m of messages) sent.set(m.key, (sent.get(m.key) ?? 0) + 1)
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: words, messages })
  await producer.disconnect()

  // /stats of the two workers add up to what was sent.
  await eventually(async () => {
    const [sa, sb] = await Promise.all([getJson(`${urlA()}/stats`), getJson(`${urlB()}/stats`)])
    return sa.body.events.total + sb.body.events.total === messages.length
  }, `${messages.length} events counted between the two`)
  const [sa, sb] = await Promise.all([getJson(`${urlA()}/stats`), getJson(`${urlB()}/stats`)])
  assert.equal(sa.body.messages.byTopic[words].received + sb.body.messages.byTopic[words].received, messages.length)
  assert.equal(sa.body.tables[0].keys + sb.body.tables[0].keys, vocabulary.length)

  // A word held by B (its source partition is B's), asked of A: forwarded, B answers.
  const router = (await getJson(`${urlA()}/router`)).body
  const word = vocabulary.find((w) => router.tables.counts[keyPartition(Buffer.from(w), PARTITIONS)].active === urlB())!
  assert.ok(word !== undefined, 'some word lives on B')
  const forwarded = await getJson(`${urlA()}/table/counts/${word}`)
  assert.equal(forwarded.status, 200)
  assert.equal(forwarded.body.value, sent.get(word))
  assert.equal(forwarded.headers.get('x-faust-ts-worker'), urlB(), 'B answered')
  assert.equal(forwarded.headers.get('x-faust-ts-role'), 'active')
  assert.equal(forwarded.headers.get('x-faust-ts-forwarded-by'), urlA())
  // And one of A's own words is answered by A.
  const own = vocabulary.find((w) => router.tables.counts[keyPartition(Buffer.from(w), PARTITIONS)].active === urlA())!
  const local = await getJson(`${urlA()}/table/counts/${own}`)
  assert.equal(local.body.value, sent.get(own))
  assert.equal(local.headers.get('x-faust-ts-worker'), urlA())

  // The standby on A has caught up with B's changelog (sent at B's commits); ?local answers from
  // this worker's own copy.
  await eventually(async () => {
    const copy = await getJson(`${urlA()}/table/counts/${word}?local`)
    return copy.headers.get('x-faust-ts-role') === 'standby' && copy.body.value === sent.get(word)
  }, "A's standby copy has the final count")

  // B dies. Before the group notices (session timeout 6 s), A still routes to B, cannot reach it,
  // and answers from its standby copy.
  b.kill('SIGKILL')
  await b.exited
  const started = Date.now()
  const standby = await getJson(`${urlA()}/table/counts/${word}`)
  const tookMs = Date.now() - started
  assert.equal(standby.status, 200, JSON.stringify(standby.body))
  assert.equal(standby.headers.get('x-faust-ts-worker'), urlA(), 'A answered')
  assert.equal(standby.headers.get('x-faust-ts-role'), 'standby')
  assert.equal(standby.body.value, sent.get(word), 'the standby copy has the final count')
  t.diagnostic(`owner down: standby answered in ${tookMs} ms`)

  // After the rebalance A holds everything as active.
  await eventually(async () => (await getJson(`${urlA()}/table/counts/${word}`)).headers.get('x-faust-ts-role') === 'active', 'A active for the partition after the rebalance', 60_000)
  const after = await getJson(`${urlA()}/table/counts/${word}`)
  assert.equal(after.body.value, sent.get(word))

  // A's Monitor saw the rebalances: the latest one ended (recovery done) with every field set.
  await eventually(async () => (await getJson(`${urlA()}/stats`)).body.rebalances.recent[0].endMs !== null, 'the last rebalance ended')
  const stats = (await getJson(`${urlA()}/stats`)).body
  assert.ok(stats.rebalances.total >= 2, `rebalances: ${stats.rebalances.total}`)
  const last = stats.rebalances.recent[0]
  assert.equal(last.assigned, PARTITIONS)
  assert.ok(last.generation >= 2 && last.returnMs >= 0 && last.endMs >= last.returnMs, JSON.stringify(last))
  assert.equal(stats.recovery.ready, true)
  assert.equal(stats.recovery.remaining, 0)
  assert.equal(stats.tables[0].active.length, PARTITIONS)

  // /metrics parses as Prometheus text and carries A's numbers.
  const res = await fetch(`${urlA()}/metrics`)
  const text = await res.text()
  let samples = 0
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    // Values as Prometheus parses them (Go's ParseFloat: NaN and Inf in any case).
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|nan|[+-]inf)$/i, line)
    samples += 1
  }
  assert.ok(samples > 50)
  const events = /^faust_events_total\{[^}]*\} (\d+)$/m.exec(text)
  assert.equal(Number(events?.[1]), (await getJson(`${urlA()}/stats`)).body.events.total)
})
