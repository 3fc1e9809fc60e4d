/**
 * Tables on the memory:// broker: Faust's changelog format and partitioning, recovery, deletes,
 * global and set tables, errors. (Kafka, lmdb restarts and failover: test/integration/tables.test.ts.)
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { z } from 'zod'
import { PartitionsMismatch, TableOutsideStream } from '../../src/errors.ts'
import type { App } from '../../src/index.ts'
import { newApp, records, waitFor } from './helpers.ts'

function wordCount(app: App, options: { store?: string } = {}) {
  const words = app.topic('words', { keyType: String, valueType: String, valueSerializer: 'raw', partitions: 4 })
  const counts = app.table<string, number>('counts', { default: () => 0, partitions: 4, ...options })
  app.agent(words, async (s) => {
    for await (const w of s) counts.set(w, counts.get(w) + 1)
  }, { name: 'count' })
  return { words, counts }
}

async function send(words: { send(a: { key: string; value: string }): Promise<unknown> }, text: string) {
  for (const w of text.split(' ')) await words.send({ key: w, value: w })
}

test('word count: synchronous get/set inside the agent; changelog in Faust\'s format on the event\'s partition', async (t) => {
  const { app } = newApp(t)
  const { words, counts } = wordCount(app)
  await app.start()
  await send(words, 'the cat and the hat and the bat')
  await waitFor(() => counts.get('the') === 3 && counts.get('bat') === 1, 'counted')
  assert.deepEqual(counts.asObject(), { and: 2, bat: 1, cat: 1, hat: 1, the: 3 })
  assert.equal(counts.size, 5)
  assert.equal(records(app, `${app.id}-counts-changelog`).length, 0, 'changes wait for the commit')
  await app.consumer.commit()
  const changelog = records(app, `${app.id}-counts-changelog`)
  assert.equal(changelog.length, 5, 'one changelog record per key changed since the last commit (the latest value)')
  const source = records(app, 'words')
  for (const r of changelog) {
    const word = JSON.parse(r.key!.toString()) as string
    assert.equal(r.key!.toString(), JSON.stringify(word), 'keys are JSON, as Faust writes them')
    const sourcePartition = source.find((s) => s.key?.toString() === word)!.partition
    assert.equal(r.partition, sourcePartition, 'changelog partition = the event\'s partition')
  }
  assert.equal(changelog.filter((r) => r.key!.toString() === '"the"').map((r) => r.value!.toString()).join(','), '3')
  await send(words, 'the')
  await waitFor(() => counts.get('the') === 4, 'counted')
  await app.consumer.commit()
  assert.deepEqual(records(app, `${app.id}-counts-changelog`).slice(5).map((r) => `${r.key}=${r.value}`), ['"the"=4'])
})

test('a table changed outside stream iteration is an error unless usePartitioner is set', async (t) => {
  const { app } = newApp(t)
  const plain = app.table<string, number>('plain', { partitions: 1 })
  const placed = app.table<string, number>('placed', { usePartitioner: true, partitions: 1 })
  app.agent(app.topic('any', { partitions: 1 }), async (s) => {
    for await (const _ of s);
  }, { name: 'any' })
  await app.start()
  await waitFor(() => app.tables.ready && placed.activePartitions().length === 1, 'partition 0 active')
  assert.throws(() => plain.set('k', 1), TableOutsideStream)
  placed.set('k', 1)
  assert.equal(placed.get('k'), 1)
  await app.consumer.commit()
  const [r] = records(app, `${app.id}-placed-changelog`)
  assert.equal(r?.key?.toString(), '"k"')
})

test('a restarted worker recovers the table from its changelog (memory store: full replay)', async (t) => {
  const first = newApp(t, {}, { id: 'wc-recover' })
  const a = wordCount(first.app)
  await first.app.start()
  await send(a.words, 'x y x z x')
  await waitFor(() => a.counts.get('x') === 3, 'counted')
  await first.app.stop()

  const second = newApp(t, {}, { id: 'wc-recover', url: first.url })
  const b = wordCount(second.app)
  await second.app.start()
  await waitFor(() => second.app.tables.ready && b.counts.size === 3, 'recovered')
  assert.deepEqual(b.counts.asObject(), { x: 3, y: 1, z: 1 })
  assert.equal(second.app.tables.stats.restored, 3, 'one record per key: changes were compacted per commit')
  await send(b.words, 'x')
  await waitFor(() => b.counts.get('x') === 4, 'counting on from the recovered state')
})

test('delete writes a tombstone; recovery applies it', async (t) => {
  const first = newApp(t, {}, { id: 'tomb' })
  const events = first.app.topic('events', { keyType: String, partitions: 2 })
  const table = first.app.table<string, string>('state', { partitions: 2 })
  first.app.agent(events, async (s) => {
    for await (const [k, v] of s.items()) {
      if (v === 'delete') table.delete(k)
      else table.set(k, v as string)
    }
  }, { name: 'state' })
  await first.app.start()
  await events.send({ key: 'a', value: 'one' })
  await events.send({ key: 'b', value: 'two' })
  await events.send({ key: 'a', value: 'delete' })
  await waitFor(() => table.size === 1 && table.has('b') && !table.has('a'), 'a deleted')
  await first.app.consumer.commit()
  const tombstones = records(first.app, `${first.app.id}-state-changelog`).filter((r) => r.value === null)
  assert.equal(tombstones.length, 1)
  assert.equal(tombstones[0]!.key!.toString(), '"a"')
  await first.app.stop()
  const second = newApp(t, {}, { id: 'tomb', url: first.url })
  second.app.topic('events', { keyType: String, partitions: 2 })
  const restored = second.app.table<string, string>('state', { partitions: 2 })
  second.app.agent(second.app.topic('events'), async (s) => {
    for await (const _ of s);
  }, { name: 'state' })
  await second.app.start()
  await waitFor(() => second.app.tables.ready, 'recovered')
  assert.deepEqual(restored.asObject(), { b: 'two' })
})

test('a zod value type is validated and typed; json keys of records', async (t) => {
  const { app } = newApp(t)
  const Totals = z.object({ count: z.number(), sum: z.number() })
  const events = app.topic('amounts', { keyType: String, valueType: Number, partitions: 1 })
  const totals = app.table('totals', { valueType: Totals, default: () => ({ count: 0, sum: 0 }), partitions: 1 })
  app.agent(events, async (s) => {
    for await (const [user, amount] of s.items()) totals.update(user, (v) => ({ count: v.count + 1, sum: v.sum + amount }))
  }, { name: 'totals' })
  await app.start()
  for (const n of [5, 7]) await events.send({ key: 'u1', value: n })
  await waitFor(() => totals.get('u1').count === 2, 'totals')
  assert.deepEqual(totals.get('u1'), { count: 2, sum: 12 })
})

test('a source topic with another partition count than the table stops the worker with PartitionsMismatch', async (t) => {
  const { app } = newApp(t)
  const words = app.topic('words-3', { keyType: String, partitions: 3 })
  const counts = app.table<string, number>('counts-4', { default: () => 0, partitions: 4 })
  app.agent(words, async (s) => {
    for await (const [w] of s.items()) counts.set(w, counts.get(w) + 1)
  }, { name: 'mismatched' })
  await app.start()
  await words.send({ key: 'a', value: 1 })
  await waitFor(() => app.state === 'crashed', 'the worker stopped')
  assert.ok(app.crashReason instanceof PartitionsMismatch, String(app.crashReason))
  assert.match(String(app.crashReason?.message), /words-3 has 3 partitions but the changelog .*counts-4-changelog has 4/)
})

test('with `sources`, a partition mismatch is an error at start-up', async (t) => {
  const { app } = newApp(t)
  const words = app.topic('words-3', { keyType: String, partitions: 3 })
  app.table<string, number>('counts', { partitions: 4, sources: [words] })
  await assert.rejects(app.start(), (err: unknown) => err instanceof PartitionsMismatch && /words-3 has 3 partitions/.test(err.message))
})

test('a global table holds every partition on every worker, with writes from both workers', async (t) => {
  const shared = { id: 'global-app', url: `memory://global-${Date.now()}` }
  const mk = (tt: typeof t) => {
    const { app } = newApp(tt, { topicPartitions: 4 }, shared)
    const updates = app.topic('updates', { keyType: String, partitions: 4 })
    const config = app.globalTable<string, unknown>('config', { partitions: 4 })
    app.agent(updates, async (s) => {
      for await (const [k, v] of s.items()) config.set(k, v)
    }, { name: 'apply' })
    return { app, updates, config }
  }
  const a = mk(t)
  const b = mk(t)
  await a.app.start()
  await b.app.start()
  await waitFor(() => a.app.assignment().length === 2 && b.app.assignment().length === 2, 'split 2/2')
  for (let i = 0; i < 20; i++) await a.updates.send({ key: `k${i}`, value: i })
  await waitFor(() => a.config.size === 20 && b.config.size === 20, 'both workers see all 20 keys')
  for (let i = 0; i < 20; i++) {
    assert.equal(a.config.get(`k${i}`), i)
    assert.equal(b.config.get(`k${i}`), i)
  }
})

test('a set table: add/discard/update with Faust\'s op-log changelog, replayed on recovery', async (t) => {
  const first = newApp(t, {}, { id: 'sets' })
  const ops = first.app.topic('ops', { keyType: String, partitions: 1 })
  const tags = first.app.setTable<string, string>('tags', { partitions: 1 })
  first.app.agent(ops, async (s) => {
    for await (const [user, op] of s.items()) {
      const { action, tag } = op as { action: string; tag: string }
      if (action === 'add') tags.add(user, tag)
      else if (action === 'discard') tags.discard(user, tag)
      else tags.update(user, ['x', 'y'], ['a'])
    }
  }, { name: 'tags' })
  await first.app.start()
  for (const [action, tag] of [['add', 'a'], ['add', 'b'], ['add', 'a'], ['discard', 'b'], ['update', '']]) {
    await ops.send({ key: 'u', value: { action, tag } })
  }
  await waitFor(() => tags.get('u').size === 2 && tags.has('u', 'x'), 'ops applied')
  assert.deepEqual([...tags.get('u')].sort(), ['x', 'y'])
  const log = records(first.app, `${first.app.id}-tags-changelog`).map((r) => [JSON.parse(r.key!.toString()), JSON.parse(r.value!.toString())])
  assert.deepEqual(log, [
    [[1, 'u'], 'a'],
    [[1, 'u'], 'b'],
    [[1, 'u'], 'a'],
    [[2, 'u'], 'b'],
    [[15, 'u'], [['x', 'y'], ['a']]],
  ])
  await first.app.stop()
  const second = newApp(t, {}, { id: 'sets', url: first.url })
  second.app.agent(second.app.topic('ops', { keyType: String, partitions: 1 }), async (s) => {
    for await (const _ of s);
  }, { name: 'tags' })
  const restored = second.app.setTable<string, string>('tags', { partitions: 1 })
  await second.app.start()
  await waitFor(() => second.app.tables.ready && restored.get('u').size === 2, 'replayed')
  assert.deepEqual([...restored.get('u')].sort(), ['x', 'y'])
})

test('lmdb store: a restart replays only the changelog tail after the persisted offset', async (t) => {
  const datadir = mkdtempSync(join(tmpdir(), 'faust-lmdb-'))
  t.after(() => rmSync(datadir, { recursive: true, force: true }))
  const first = newApp(t, { store: 'lmdb://', datadir, brokerCommitInterval: 0.1 }, { id: 'lmdb-tail' })
  const a = wordCount(first.app)
  await first.app.start()
  await send(a.words, 'p q r p q p')
  await waitFor(() => a.counts.get('p') === 3, 'counted')
  await first.app.stop()
  // Writes while the first worker is gone: only these must be replayed.
  const { MemoryBroker } = await import('../../src/index.ts')
  const broker = MemoryBroker.get(first.url)
  broker.append({ topic: `${first.app.id}-counts-changelog`, partition: 0, key: Buffer.from('"extra"'), value: Buffer.from('7') })
  const second = newApp(t, { store: 'lmdb://', datadir }, { id: 'lmdb-tail', url: first.url })
  const b = wordCount(second.app)
  await second.app.start()
  await waitFor(() => second.app.tables.ready && b.counts.get('extra') === 7, 'tail replayed')
  assert.equal(second.app.tables.stats.restored, 1, 'only the one new changelog record was replayed')
  assert.equal(b.counts.get('p'), 3)
  assert.equal(b.counts.get('q'), 2)
})

test('standby replicas follow the changelog; when the active worker leaves, the standby takes over with no replay', async (t) => {
  const shared = { id: 'standby-app', url: `memory://standby-${Date.now()}` }
  const mk = () => {
    const { app } = newApp(t, { topicPartitions: 4, tableStandbyReplicas: 1 }, shared)
    return { app, ...wordCount(app) }
  }
  const a = mk()
  const b = mk()
  await a.app.start()
  await b.app.start()
  await waitFor(() => a.counts.activePartitions().length === 2 && b.counts.activePartitions().length === 2, 'split 2/2')
  assert.deepEqual([...a.counts.activePartitions(), ...b.counts.activePartitions()].sort(), [0, 1, 2, 3])
  assert.deepEqual(a.counts.standbyPartitions(), b.counts.activePartitions(), 'A keeps standbys of B\'s partitions')
  assert.deepEqual(b.counts.standbyPartitions(), a.counts.activePartitions())
  const text = Array.from({ length: 200 }, (_, i) => `w${i % 40}`).join(' ')
  await send(a.words, text)
  await waitFor(() => {
    let total = 0
    for (const [, n] of a.counts.entries()) total += n
    for (const [, n] of b.counts.entries()) total += n
    return total === 200
  }, 'all 200 counted')
  // A's standby stores have B's data (followed from the changelog).
  const bKeys = [...b.counts.keys()].length
  await waitFor(() => b.counts.activePartitions().every((p) => a.counts.stores().get(p)!.size() > 0), 'standbys caught up')
  const standbyKeys = b.counts.activePartitions().reduce((n, p) => n + a.counts.stores().get(p)!.size(), 0)
  assert.equal(standbyKeys, bKeys)
  const restoredBefore = a.app.tables.stats.restored
  await b.app.stop()
  await waitFor(() => a.counts.activePartitions().length === 4 && a.app.tables.ready, 'A owns all 4')
  assert.equal(a.app.tables.stats.restored, 0, 'nothing replayed: the standby was up to date')
  assert.ok(restoredBefore >= 0)
  let total = 0
  for (const [, n] of a.counts.entries()) total += n
  assert.equal(total, 200)
  assert.equal(a.counts.size, 40)
})

test('rocksdb store: each batch\'s keys are prefetched before the agent runs, so reads do not block', async (t) => {
  const datadir = mkdtempSync(join(tmpdir(), 'faust-rocks-'))
  t.after(() => rmSync(datadir, { recursive: true, force: true }))
  const { app } = newApp(t, { store: 'rocksdb://', datadir })
  const { words, counts } = wordCount(app)
  await app.start()
  await waitFor(() => app.tables.ready && counts.activePartitions().length === 4, 'assigned')
  const text = Array.from({ length: 400 }, (_, i) => `k${i % 50}`).join(' ')
  await send(words, text)
  await waitFor(() => app.consumer.stats.acked === 400, 'all 400 processed')
  const { RocksDBStore } = await import('../../src/stores/rocksdb.ts')
  let prefetched = 0
  let roundTrips = 0
  for (const store of counts.stores().values()) {
    assert.ok(store instanceof RocksDBStore)
    prefetched += store.stats().prefetched
    roundTrips += store.stats().roundTrips
  }
  assert.ok(prefetched > 0, 'keys were prefetched')
  assert.equal(roundTrips, 0, `no read had to block on the worker (${prefetched} prefetched, ${roundTrips} round trips)`)
  assert.equal(counts.get('k0'), 8)
  assert.equal(counts.get('k49'), 8)
})

test('a store ahead of its changelog (the topic was recreated) is detected, wiped and rebuilt, with a warning', async (t) => {
  const datadir = mkdtempSync(join(tmpdir(), 'faust-ahead-'))
  t.after(() => rmSync(datadir, { recursive: true, force: true }))
  const first = newApp(t, { store: 'lmdb://', datadir }, { id: 'ahead' })
  const a = wordCount(first.app)
  await first.app.start()
  await send(a.words, 'one two three one two one')
  await waitFor(() => a.counts.get('one') === 3, 'counted')
  await first.app.stop()
  // The changelog is recreated with less in it than the store remembers.
  const { MemoryBroker } = await import('../../src/index.ts')
  const broker = MemoryBroker.get(first.url)
  const changelog = `${first.app.id}-counts-changelog`
  broker.topics.delete(changelog)
  broker.createTopic({ name: changelog, partitions: 4, replicationFactor: 1, config: { 'cleanup.policy': 'compact' } })
  broker.append({ topic: changelog, partition: 0, key: Buffer.from('"fresh"'), value: Buffer.from('1') })
  const second = newApp(t, { store: 'lmdb://', datadir }, { id: 'ahead', url: first.url })
  const b = wordCount(second.app)
  await second.app.start()
  await waitFor(() => second.app.tables.ready && b.counts.get('fresh') === 1, 'rebuilt from the new changelog')
  assert.deepEqual(b.counts.asObject(), { fresh: 1 }, 'nothing from the old store survives')
  assert.ok(second.logs.some((r) => r.level === 'warn' && /ahead of its changelog/.test(r.msg)), 'a warning says why')
})

test('a rebalance during recovery restarts it cleanly: both workers end up with exactly their partitions\' data', async (t) => {
  const shared = { id: 'rebalance-recovery', url: `memory://rr-${Date.now()}` }
  const { MemoryBroker } = await import('../../src/index.ts')
  const broker = MemoryBroker.get(shared.url)
  const changelog = `${shared.id}-counts-changelog`
  broker.createTopic({ name: changelog, partitions: 4, replicationFactor: 1, config: {} })
  const keys = 100_000
  for (let i = 0; i < keys; i++) broker.append({ topic: changelog, partition: i % 4, key: Buffer.from(JSON.stringify(`k${i}`)), value: Buffer.from(String(i)) })
  const mk = () => {
    const { app } = newApp(t, { topicPartitions: 4, tableStandbyReplicas: 0 }, shared)
    return { app, ...wordCount(app) }
  }
  const a = mk()
  await a.app.start()
  // B joins while A is still restoring 100,000 records.
  const b = mk()
  await b.app.start()
  await waitFor(() => a.app.tables.ready && b.app.tables.ready && a.counts.activePartitions().length === 2 && b.counts.activePartitions().length === 2, 'both recovered', 20_000)
  assert.equal(a.counts.size + b.counts.size, keys)
  for (const { counts } of [a, b]) {
    for (const [k, v] of counts.entries()) assert.equal(Number(k.slice(1)) % 4 === v % 4, true)
    assert.equal(counts.size, keys / 2)
  }
})
