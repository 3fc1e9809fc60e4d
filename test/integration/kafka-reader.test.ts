/**
 * The Kafka reader (no consumer group) against a real broker: offsets, tailing, reassignment,
 * transactions, out-of-range offsets, prompt stop, and throughput next to a kafkajs group consumer.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveSettings } from '../../src/app/settings.ts'
import { KafkaTransport } from '../../src/transport/drivers/kafka.ts'
import { KafkaReader } from '../../src/transport/drivers/kafka-reader.ts'
import { type LoggerT, silentLogger } from '../../src/types/logging.ts'
import type { ReaderDriverOptions } from '../../src/types/transport.ts'
import type { RawRecord, TP } from '../../src/types/tuples.ts'
import { tp } from '../../src/utils/tp.ts'
import { brokerUrl, eventually, kafka, testAdmin, unique } from './_kafka.ts'

const transport = new KafkaTransport(brokerUrl, resolveSettings('x', { broker: brokerUrl }, {}), {})

/** A logger that keeps warnings, so a test can see the reader noticed something. */
function recordingLogger(): LoggerT & { warnings: string[] } {
  const warnings: string[] = []
  const log: LoggerT & { warnings: string[] } = {
    ...silentLogger,
    warnings,
    warn: (...args: unknown[]) => {
      warnings.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '))
    },
    child: () => log,
  }
  return log
}

interface Delivery {
  tp: TP
  records: RawRecord[]
  /** When it was delivered, relative to the reader's assign() calls. */
  assignCount: number
}

/** A running reader that collects deliveries; aborted and closed when the test ends. */
function startReader(
  t: { after(fn: () => Promise<void>): void },
  options: Partial<ReaderDriverOptions> = {},
) {
  const deliveries: Delivery[] = []
  const state = { assignCount: 0 }
  const reader = new KafkaReader(transport, {
    clientId: 'faust-ts-reader-test',
    maxPartitionFetchBytes: 1024 * 1024,
    isolationLevel: 'read_uncommitted',
    log: silentLogger,
    onRecords: (t, records) => deliveries.push({ tp: t, records, assignCount: state.assignCount }),
    ...options,
  })
  const controller = new AbortController()
  const running = reader.run(controller.signal)
  t.after(async () => {
    controller.abort()
    await running
    await reader.close()
  })
  return {
    reader,
    controller,
    running,
    deliveries,
    assign(positions: Map<TP, number>) {
      state.assignCount += 1
      reader.assign(positions)
    },
    assignCount: () => state.assignCount,
    /** Records delivered for a partition (optionally only after the n-th assign()). */
    records(t: TP, sinceAssign = 0): RawRecord[] {
      return deliveries.filter((d) => d.tp === t && d.assignCount >= sinceAssign).flatMap((d) => d.records)
    },
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Wait for `promise`, but no longer than `ms` (and leave no timer behind). */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  } finally {
    clearTimeout(timer)
  }
}

async function connectedProducer(t: { after(fn: () => Promise<void>): void }, config: Parameters<typeof kafka.producer>[0] = {}) {
  const producer = kafka.producer(config)
  await producer.connect()
  t.after(() => producer.disconnect())
  return producer
}

test('reads three partitions from offsets in the middle of the log: exactly the expected records, in order', { timeout: 60_000 }, async (t) => {
  const k = await testAdmin(t)
  const topic = await k.topic(unique('reader-mid'), 3)
  const producer = await connectedProducer(t)
  for (let p = 0; p < 3; p++) {
    await producer.send({
      topic,
      messages: Array.from({ length: 10 }, (_, i) => ({
        partition: p,
        key: `k${p}-${i}`,
        value: i === 4 ? null : `v${p}-${i}`,
        timestamp: String(1_700_000_000_000 + p * 100 + i),
        headers: { trace: `t${i}`, dup: ['a', 'b'], bin: Buffer.from([p, i]) },
      })),
    })
  }
  const r = startReader(t)
  const start = new Map([[tp(topic, 0), 3], [tp(topic, 1), 7], [tp(topic, 2), 9]])
  r.assign(start)
  await eventually(() => [...start].every(([t, from]) => r.records(t).length === 10 - from), 'all records')
  // Nothing more comes (a duplicate or a re-read would show here).
  await sleep(500)
  for (const [t, from] of start) {
    const got = r.records(t)
    assert.deepEqual(got.map((x) => x.offset), Array.from({ length: 10 - from }, (_, i) => from + i), `offsets of ${t.partition}`)
    for (const rec of got) {
      const i = rec.offset
      assert.equal(rec.topic, topic)
      assert.equal(rec.partition, t.partition)
      assert.equal(rec.key?.toString(), `k${t.partition}-${i}`)
      assert.equal(rec.value === null ? null : rec.value.toString(), i === 4 ? null : `v${t.partition}-${i}`)
      assert.equal(rec.timestamp, 1_700_000_000_000 + t.partition * 100 + i)
      assert.deepEqual(
        rec.headers.map(([h, v]) => [h, v.toString('hex')]),
        [['trace', Buffer.from(`t${i}`).toString('hex')], ['dup', '61'], ['dup', '62'], ['bin', Buffer.from([t.partition, i]).toString('hex')]],
      )
    }
  }
  // Every delivery is one partition's records in offset order, for an interned TP.
  for (const d of r.deliveries) {
    assert.equal(d.tp, tp(d.tp.topic, d.tp.partition))
    for (let i = 1; i < d.records.length; i++) assert.equal(d.records[i]!.offset, d.records[i - 1]!.offset + 1)
  }
  assert.deepEqual([...r.reader.positions()].map(([t, o]) => [t.partition, o]), [[0, 10], [1, 10], [2, 10]])
})

test('tails: records produced after the reader started arrive (as for a standby)', { timeout: 60_000 }, async (t) => {
  const k = await testAdmin(t)
  const topic = await k.topic(unique('reader-tail'), 2)
  const r = startReader(t)
  r.assign(new Map([[tp(topic, 0), 0], [tp(topic, 1), 0]]))
  // Let it settle into idle fetches first.
  await sleep(600)
  assert.equal(r.deliveries.length, 0)
  const producer = await connectedProducer(t)
  for (let burst = 0; burst < 3; burst++) {
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: `b${burst}-${i}` })) })
    await eventually(() => r.records(tp(topic, 0)).length + r.records(tp(topic, 1)).length === 20 * (burst + 1), `burst ${burst}`, 10_000)
    await sleep(300)
  }
  for (const p of [0, 1]) {
    const got = r.records(tp(topic, p))
    assert.deepEqual(got.map((x) => x.offset), Array.from({ length: 30 }, (_, i) => i))
    assert.deepEqual(
      got.map((x) => x.value?.toString()),
      [0, 1, 2].flatMap((b) => Array.from({ length: 10 }, (_, i) => `b${b}-${i * 2 + p}`)),
    )
  }
  assert.deepEqual([...r.reader.positions().values()], [30, 30])
})

test('assign() takes effect at once: a dropped partition delivers nothing more, a moved one restarts', { timeout: 60_000 }, async (t) => {
  const k = await testAdmin(t)
  const topic = await k.topic(unique('reader-reassign'), 3)
  const producer = await connectedProducer(t)
  for (let p = 0; p < 3; p++) {
    await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ partition: p, value: `p${p}-${i}` })) })
  }
  const [p0, p1, p2] = [tp(topic, 0), tp(topic, 1), tp(topic, 2)]
  const r = startReader(t)
  r.assign(new Map([[p0, 0], [p1, 0]]))
  await eventually(() => r.records(p0).length === 50 && r.records(p1).length === 50, 'first assignment read')
  assert.equal(r.records(p2).length, 0)
  // Tailing now, with a fetch in flight for p0 and p1. Write to both and at once drop p0, move p1
  // back to 0 and add p2 from 40: what the fetch in flight brings back must not be delivered.
  // A few rounds (putting p0 back in between), as it is a race.
  const rounds = 5
  for (let round = 0; round < rounds; round++) {
    await producer.send({ topic, messages: [{ partition: 0, value: `late-${round}` }, { partition: 1, value: `more-${round}` }] })
    r.assign(new Map([[p1, 0], [p2, 40]]))
    const since = r.assignCount()
    await eventually(() => r.records(p1, since).length === 51 + round && r.records(p2, since).length === 10, `round ${round} read`)
    await sleep(300)
    assert.deepEqual(r.records(p0, since), [], `round ${round}: nothing for the dropped partition`)
    assert.deepEqual(r.records(p1, since).map((x) => x.offset), Array.from({ length: 51 + round }, (_, i) => i))
    assert.deepEqual(r.records(p2, since).map((x) => x.offset), Array.from({ length: 10 }, (_, i) => 40 + i))
    if (round < rounds - 1) {
      r.assign(new Map([[p0, 51 + round], [p1, 51 + round]]))
      await sleep(300)
    }
  }
  const since = r.assignCount()
  assert.deepEqual([...r.reader.positions()].map(([t, o]) => [t.partition, o]), [[1, 55], [2, 50]])
  await producer.send({ topic, messages: [{ partition: 0, value: 'after' }, { partition: 2, value: 'after' }] })
  await eventually(() => r.records(p2, since).length === 11, 'tail of p2')
  await sleep(500)
  assert.deepEqual(r.records(p0, since), [])
  assert.deepEqual([...r.reader.positions()].map(([t, o]) => [t.partition, o]), [[1, 55], [2, 51]])
  // Every delivery after an assign() starts where that assign() put the partition or continues it.
  for (const t of [p0, p1, p2]) {
    const byAssign = new Map<number, number[]>()
    for (const d of r.deliveries.filter((x) => x.tp === t)) {
      const list = byAssign.get(d.assignCount) ?? []
      list.push(...d.records.map((x) => x.offset))
      byAssign.set(d.assignCount, list)
    }
    for (const offsets of byAssign.values()) {
      for (let i = 1; i < offsets.length; i++) assert.equal(offsets[i], offsets[i - 1]! + 1, `contiguous offsets for ${t.partition}`)
    }
  }
})

test('read_committed skips an aborted transaction and moves past the transaction markers', { timeout: 60_000 }, async (t) => {
  const k = await testAdmin(t)
  const topic = await k.topic(unique('reader-tx'), 1)
  const producer = await connectedProducer(t, {
    transactionalId: unique('reader-tx-id'),
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { initialRetryTime: 50 },
  })
  const aborted = await producer.transaction()
  await aborted.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `aborted-${i}` })) })
  await aborted.abort()
  const committed = await producer.transaction()
  await committed.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `committed-${i}` })) })
  await committed.commit()
  // 5 aborted + ABORT marker + 5 committed + COMMIT marker.
  const offsets = await k.admin.fetchTopicOffsets(topic)
  assert.equal(Number(offsets[0]?.high), 12)

  const p0 = tp(topic, 0)
  const rc = startReader(t, { isolationLevel: 'read_committed' })
  const ru = startReader(t, { isolationLevel: 'read_uncommitted' })
  rc.assign(new Map([[p0, 0]]))
  ru.assign(new Map([[p0, 0]]))
  // The position reaches the end: past the COMMIT marker, the last thing in the log.
  await eventually(() => rc.reader.positions().get(p0) === 12 && ru.reader.positions().get(p0) === 12, 'both at the end')
  assert.deepEqual(rc.records(p0).map((x) => x.value?.toString()), Array.from({ length: 5 }, (_, i) => `committed-${i}`))
  assert.deepEqual(rc.records(p0).map((x) => x.offset), [6, 7, 8, 9, 10])
  // read_uncommitted sees the aborted records too, but never the markers.
  assert.deepEqual(
    ru.records(p0).map((x) => x.value?.toString()),
    [...Array.from({ length: 5 }, (_, i) => `aborted-${i}`), ...Array.from({ length: 5 }, (_, i) => `committed-${i}`)],
  )
  // Starting right at a marker (offset 5 is the ABORT marker, 11 the COMMIT marker) does not stall.
  rc.assign(new Map([[p0, 11]]))
  await eventually(() => rc.reader.positions().get(p0) === 12, 'past the COMMIT marker')
  rc.assign(new Map([[p0, 5]]))
  await eventually(() => rc.reader.positions().get(p0) === 12, 'past the ABORT marker')
  assert.deepEqual(rc.records(p0, 3).map((x) => x.offset), [6, 7, 8, 9, 10])

  // A later committed transaction is tailed after the markers.
  const again = await producer.transaction()
  await again.send({ topic, messages: [{ partition: 0, value: 'late' }] })
  await again.commit()
  await eventually(() => rc.records(p0).some((x) => x.value?.toString() === 'late'), 'late committed record')
  assert.equal(rc.reader.positions().get(p0), 14)
})

test('an offset past the end or before the log start does not wedge the reader', { timeout: 60_000 }, async (t) => {
  const k = await testAdmin(t)
  const topic = await k.topic(unique('reader-oor'), 2)
  const producer = await connectedProducer(t)
  for (let p = 0; p < 2; p++) {
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ partition: p, value: `v${i}` })) })
  }
  const log = recordingLogger()
  const r = startReader(t, { log })
  const [p0, p1] = [tp(topic, 0), tp(topic, 1)]
  // p0 past the end (reset to the earliest offset), p1 fine.
  r.assign(new Map([[p0, 1000], [p1, 15]]))
  await eventually(() => r.records(p0).length === 20 && r.records(p1).length === 5, 'reset past-the-end partition')
  assert.deepEqual(r.records(p0).map((x) => x.offset), Array.from({ length: 20 }, (_, i) => i))
  assert.ok(log.warnings.some((w) => w.includes('out of range')), log.warnings.join('\n'))

  // Before the log start, after records are deleted.
  // kafkajs' admin looks the leader up in its cached metadata only: load the topic's first.
  await k.admin.fetchTopicMetadata({ topics: [topic] })
  await k.admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '12' }] })
  r.assign(new Map([[p0, 3], [p1, 20]]))
  await eventually(() => r.records(p0, 2).length === 8, 'reset before-the-start partition')
  assert.deepEqual(r.records(p0, 2).map((x) => x.offset), Array.from({ length: 8 }, (_, i) => 12 + i))
  // And it still tails both.
  await producer.send({ topic, messages: [{ partition: 0, value: 'x' }, { partition: 1, value: 'y' }] })
  await eventually(() => r.reader.positions().get(p0) === 21 && r.reader.positions().get(p1) === 21, 'tailing after the resets')
})

test('run() returns soon after the signal aborts: idle, tailing, and with no topic known', { timeout: 60_000 }, async (t) => {
  const k = await testAdmin(t)
  const topic = await k.topic(unique('reader-abort'), 1)
  const make = () =>
    new KafkaReader(transport, { clientId: 'abort-test', maxPartitionFetchBytes: 1 << 20, isolationLevel: 'read_uncommitted', log: silentLogger, onRecords: () => {} })
  const cases: Array<[string, Map<TP, number>]> = [
    ['nothing assigned', new Map()],
    ['tailing', new Map([[tp(topic, 0), 0]])],
    ['a topic that does not exist', new Map([[tp(unique('reader-missing'), 0), 0]])],
  ]
  for (const [what, positions] of cases) {
    const reader = make()
    const controller = new AbortController()
    reader.assign(positions)
    const running = reader.run(controller.signal)
    await sleep(700)
    const started = performance.now()
    controller.abort()
    await running
    const took = performance.now() - started
    await reader.close()
    assert.ok(took < 1000, `${what}: run() took ${took.toFixed(0)} ms to return`)
  }
  // A reader that never ran closes too.
  await make().close()
})

test('throughput: 200,000 records, reader vs a kafkajs group consumer', { timeout: 180_000 }, async (t) => {
  const k = await testAdmin(t)
  const partitions = 4
  const total = 200_000
  const topic = await k.topic(unique('reader-speed'), partitions)
  const producer = await connectedProducer(t)
  const value = Buffer.from('0123456789abcdef')
  for (let sent = 0; sent < total; sent += 10_000) {
    await producer.send({
      topic,
      messages: Array.from({ length: 10_000 }, (_, i) => ({ partition: (sent + i) % partitions, key: `k${(sent + i) % 1000}`, value })),
    })
  }

  // The reader: a fresh one each time, from offset 0 of every partition to the end.
  const readAll = async (): Promise<number> => {
    let read = 0
    let done: () => void = () => {}
    const finished = new Promise<void>((resolve) => (done = resolve))
    const r = startReader(t, {
      onRecords: (_t, records) => {
        read += records.length
        if (read >= total) done()
      },
    })
    const started = performance.now()
    r.assign(new Map(Array.from({ length: partitions }, (_, p) => [tp(topic, p), 0])))
    await within(finished, 60_000)
    const ms = performance.now() - started
    assert.equal(read, total, `reader finished within 60 s (read ${read})`)
    r.controller.abort()
    await r.running
    return ms
  }
  // First while kafkajs' decoding code is still cold; again after the group consumer warmed it.
  const readerMs = await readAll()

  // A plain kafkajs group consumer over the same topic.
  const groupId = unique('reader-speed-group')
  k.cleanupGroup(groupId)
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, maxBytesPerPartition: 1024 * 1024 })
  t.after(() => consumer.disconnect())
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let consumed = 0
  let joinedAt = 0
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ||= performance.now()))
  let consumerDone: () => void = () => {}
  const consumerFinished = new Promise<void>((resolve) => (consumerDone = resolve))
  const consumerStart = performance.now()
  await consumer.run({
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length
      if (consumed >= total) consumerDone()
    },
  })
  await within(consumerFinished, 60_000)
  const consumerEnd = performance.now()
  await consumer.stop()
  assert.equal(consumed, total, `consumer finished within 60 s (read ${consumed})`)

  const warmReaderMs = await readAll()

  const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en')
  console.log(`  reader (cold):  ${total} records in ${readerMs.toFixed(0)} ms = ${rate(total, readerMs)} records/s`)
  console.log(
    `  kafkajs group:  ${total} records in ${(consumerEnd - consumerStart).toFixed(0)} ms = ${rate(total, consumerEnd - consumerStart)} records/s` +
      ` (${rate(total, consumerEnd - joinedAt)} records/s after the group join, which took ${(joinedAt - consumerStart).toFixed(0)} ms)`,
  )
  console.log(`  reader (warm):  ${total} records in ${warmReaderMs.toFixed(0)} ms = ${rate(total, warmReaderMs)} records/s`)
})
