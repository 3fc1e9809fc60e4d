/**
 * Stream operations in a running app: iteration shapes, event fields, filter, take, groupBy,
 * through, echo, noack, combine and currentEvent().
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import { ImproperlyConfigured } from '../../src/errors.ts'
import { currentEvent } from '../../src/streams/context.ts'
import type { Event } from '../../src/streams/event.ts'
import { keyPartition } from '../../src/utils/murmur2.ts'
import { commitNow, committable, Gates, idle, jsonValues, newApp, records, waitFor } from './helpers.ts'

const manualCommit = { brokerCommitEvery: 10_000, brokerCommitInterval: 1000 }

test('iterating a stream yields values; items() yields [key, value]', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('kv', { keyType: String, partitions: 1 })
  const values: unknown[] = []
  const items: Array<[string, unknown]> = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) values.push(v)
    },
    { name: 'values' },
  )
  app.agent(
    topic,
    async (stream) => {
      for await (const [k, v] of stream.items()) items.push([k, v])
    },
    { name: 'items' },
  )
  await app.start()
  await topic.send({ key: 'a', value: { n: 1 } })
  await topic.send({ key: 'b', value: { n: 2 } })
  await topic.send({ key: null, value: 'three' })
  await waitFor(() => values.length === 3 && items.length === 3, 'both agents got 3')
  assert.deepEqual(values, [{ n: 1 }, { n: 2 }, 'three'])
  assert.deepEqual(items, [
    ['a', { n: 1 }],
    ['b', { n: 2 }],
    [null, 'three'],
  ])
})

test('enumerate() counts from 0 (or from start)', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('enum', { partitions: 1 })
  const from0: Array<[number, unknown]> = []
  const from10: Array<[number, unknown]> = []
  app.agent(
    topic,
    async (stream) => {
      for await (const pair of stream.enumerate()) from0.push(pair)
    },
    { name: 'from0' },
  )
  app.agent(
    topic,
    async (stream) => {
      for await (const pair of stream.enumerate(10)) from10.push(pair)
    },
    { name: 'from10' },
  )
  await app.start()
  for (const v of ['x', 'y', 'z']) await topic.send({ value: v })
  await waitFor(() => from0.length === 3 && from10.length === 3, 'enumerated')
  assert.deepEqual(from0, [
    [0, 'x'],
    [1, 'y'],
    [2, 'z'],
  ])
  assert.deepEqual(from10, [
    [10, 'x'],
    [11, 'y'],
    [12, 'z'],
  ])
})

test('events() carry key, value, headers, topic, partition, offset and timestamp', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('fields', { keyType: String, partitions: 3 })
  const got: Event<string, unknown>[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const event of stream.events()) got.push(event)
    },
    { name: 'fields' },
  )
  await app.start()
  const md1 = await topic.send({ key: 'k1', value: { a: 1 }, headers: { h: 'v', bin: Buffer.from([1, 2]) }, partition: 2, timestamp: 1_700_000_000_123 })
  const md2 = await topic.send({ key: 'k2', value: [1, 2], headers: [['dup', 'x'], ['dup', 'y']], partition: 2, timestamp: 1_700_000_000_456 })
  assert.deepEqual([md1.partition, md1.offset, md2.partition, md2.offset], [2, 0, 2, 1])
  await waitFor(() => got.length === 2, 'two events')
  const [e1, e2] = got as [Event<string, unknown>, Event<string, unknown>]
  assert.equal(e1.key, 'k1')
  assert.deepEqual(e1.value, { a: 1 })
  assert.equal(e1.topic, 'fields')
  assert.equal(e1.partition, 2)
  assert.equal(e1.offset, 0)
  assert.equal(e1.timestamp, 1_700_000_000_123)
  assert.equal(e1.headers.h?.toString(), 'v')
  assert.deepEqual(e1.headers.bin, Buffer.from([1, 2]))
  assert.equal(e2.key, 'k2')
  assert.deepEqual(e2.value, [1, 2])
  assert.equal(e2.offset, 1)
  assert.equal(e2.timestamp, 1_700_000_000_456)
  // Repeated header keys: the record keeps the last, the message keeps them all.
  assert.equal(e2.headers.dup?.toString(), 'y')
  assert.deepEqual(
    e2.message.headers.map(([k, v]) => [k, v.toString()]),
    [
      ['dup', 'x'],
      ['dup', 'y'],
    ],
  )
  assert.equal(committable(app, 'fields', 2), 2)
})

test('filter() with sync and async predicates', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('filt', { partitions: 1 })
  const seen: unknown[] = []
  app.agent(
    topic,
    async (stream) => {
      const big = stream.filter((v) => (v as number) >= 3).filter(async (v) => (v as number) % 2 === 1)
      for await (const v of big) seen.push(v)
    },
    { name: 'filt' },
  )
  await app.start()
  for (let i = 0; i < 10; i++) await topic.send({ value: i })
  await waitFor(() => committable(app, 'filt') === 10, 'all acked')
  assert.deepEqual(seen, [3, 5, 7, 9])
})

test('addProcessor() chains transform values in order', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('procs', { partitions: 1 })
  const seen: string[] = []
  app.agent(
    topic,
    async (stream) => {
      const out = stream.addProcessor((v) => (v as number) + 1).addProcessor(async (v, event) => `${v}@${event.offset}`)
      for await (const v of out) seen.push(v)
    },
    { name: 'procs' },
  )
  await app.start()
  for (const v of [10, 20]) await topic.send({ value: v })
  await waitFor(() => seen.length === 2, 'processed')
  assert.deepEqual(seen, ['11@0', '21@1'])
})

test('take(max) yields full batches only; the rest waits', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('take', { partitions: 1 })
  const batches: unknown[][] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const batch of stream.take(3)) batches.push(batch)
    },
    { name: 'take' },
  )
  await app.start()
  for (let i = 0; i < 7; i++) await topic.send({ value: i })
  await waitFor(() => batches.length === 2, 'two batches')
  await idle(100)
  assert.deepEqual(batches, [
    [0, 1, 2],
    [3, 4, 5],
  ])
  // Batch 2 is acked when the loop asks for batch 3; event 6 is in the pending batch.
  assert.equal(committable(app, 'take'), 6)
  await topic.send({ value: 7 })
  await topic.send({ value: 8 })
  await waitFor(() => batches.length === 3, 'third batch')
  assert.deepEqual(batches[2], [6, 7, 8])
})

test('take(max, within) yields a partial batch when `within` seconds pass', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('within', { partitions: 1 })
  const batches: Array<{ values: unknown[]; at: number }> = []
  app.agent(
    topic,
    async (stream) => {
      for await (const batch of stream.take(3, 0.2)) batches.push({ values: batch, at: Date.now() })
    },
    { name: 'within' },
  )
  await app.start()
  const sent = Date.now()
  for (let i = 0; i < 7; i++) await topic.send({ value: i })
  await waitFor(() => batches.length === 3, 'three batches')
  assert.deepEqual(
    batches.map((b) => b.values),
    [
      [0, 1, 2],
      [3, 4, 5],
      [6],
    ],
  )
  assert.ok(batches[1]!.at - sent < 150, 'full batches do not wait')
  const waited = batches[2]!.at - sent
  assert.ok(waited >= 190 && waited < 1000, `partial batch after ~200 ms, took ${waited} ms`)

  // Fewer than max within the window: one batch with all of them.
  batches.length = 0
  for (let i = 10; i < 12; i++) await topic.send({ value: i })
  await waitFor(() => batches.length === 1, 'one partial batch')
  assert.deepEqual(batches[0]!.values, [10, 11])
})

test('take() acks a batch when the loop asks for the next one', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('take-ack', { partitions: 1 })
  const gates = new Gates<number>()
  const batches: unknown[][] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const batch of stream.take(2, 0.05)) {
        batches.push(batch)
        await gates.wait(batches.length)
      }
    },
    { name: 'take-ack' },
  )
  try {
    await app.start()
    for (let i = 0; i < 4; i++) await topic.send({ value: i })
    await waitFor(() => batches.length === 1, 'first batch')
    await idle()
    assert.equal(committable(app, 'take-ack'), undefined, 'batch 1 in progress')
    gates.open(1)
    await waitFor(() => batches.length === 2, 'second batch')
    assert.equal(committable(app, 'take-ack'), 2)
    gates.open(2)
    await waitFor(() => committable(app, 'take-ack') === 4, 'batch 2 acked')
    assert.equal(await commitNow(app, 'take-ack'), 4)
  } finally {
    gates.openAll()
  }
})

const Order = z.object({ user: z.string(), n: z.number() })

test('groupBy(field) repartitions through <agent>-<topic>-<field>-repartition; same key, same partition', async (t) => {
  const { app, broker } = newApp(t, { ...manualCommit, topicPartitions: 4 })
  const orders = app.topic('orders', { keyType: String, valueType: Order, partitions: 4 })
  const got: Array<{ topic: string; partition: number; key: string; user: string; n: number }> = []
  app.agent(
    orders,
    async (stream) => {
      // groupBy(field) types the new key as unknown (not V[field]), hence the cast.
      for await (const e of stream.groupBy('user').events()) {
        got.push({ topic: e.topic, partition: e.partition, key: e.key as string, user: e.value.user, n: e.value.n })
      }
    },
    { name: 'by-user' },
  )
  await app.start()
  const users = ['alice', 'bob', 'carol']
  // Spread each user over several source partitions.
  for (let i = 0; i < 12; i++) await orders.send({ key: `order-${i}`, value: { user: users[i % 3]!, n: i }, partition: i % 4 })
  await waitFor(() => got.length === 12, 'all regrouped')

  const name = 'by-user-orders-user-repartition'
  assert.ok(got.every((g) => g.topic === name), `events come from ${name}: ${[...new Set(got.map((g) => g.topic))].join()}`)
  assert.equal(broker.topics.get(name)?.partitions.length, 4)
  assert.equal(records(app, name).length, 12)
  for (const user of users) {
    const mine = got.filter((g) => g.user === user)
    assert.equal(mine.length, 4)
    assert.ok(mine.every((g) => g.key === user), 'the new key is the field value')
    const partitions = new Set(mine.map((g) => g.partition))
    assert.deepEqual([...partitions], [keyPartition(Buffer.from(user), 4)], `${user} lands in one partition`)
    assert.deepEqual(
      mine.map((g) => g.n).sort((a, b) => a - b),
      [0, 3, 6, 9].map((x) => x + users.indexOf(user)),
    )
  }
  // The source events were acked once forwarded.
  for (let p = 0; p < 4; p++) await waitFor(() => committable(app, 'orders', p) === 3, `orders[${p}] acked`)
})

test('groupBy(fn, { name }) names the topic <agent>-<topic>-<name>-repartition', async (t) => {
  const { app } = newApp(t, { ...manualCommit, topicPartitions: 4 })
  const nums = app.topic('nums', { valueType: Number, partitions: 2 })
  const got: Array<{ topic: string; partition: number; key: string; value: number }> = []
  app.agent(
    nums,
    async (stream) => {
      const grouped = stream.groupBy((v) => (v % 2 === 0 ? 'even' : 'odd'), { name: 'parity' })
      for await (const e of grouped.events()) {
        // The source topic has no keyType, so the repartitioned key is the raw bytes (as in Faust).
        got.push({ topic: e.topic, partition: e.partition, key: String(e.key), value: e.value })
      }
    },
    { name: 'parity' },
  )
  await app.start()
  for (let i = 0; i < 8; i++) await nums.send({ value: i, partition: i % 2 === 0 ? i % 4 >> 1 : 0 })
  await waitFor(() => got.length === 8, 'all regrouped')
  assert.ok(got.every((g) => g.topic === 'parity-nums-parity-repartition'))
  for (const parity of ['even', 'odd']) {
    const mine = got.filter((g) => g.key === parity)
    assert.equal(mine.length, 4)
    assert.ok(mine.every((g) => (g.value % 2 === 0) === (parity === 'even')))
    assert.equal(new Set(mine.map((g) => g.partition)).size, 1, `${parity} lands in one partition`)
  }
})

test('groupBy(fn) without a name throws ImproperlyConfigured', (t) => {
  const { app } = newApp(t)
  const topic = app.topic('nameless')
  assert.throws(
    () => app.stream(topic).groupBy((v) => String(v)),
    (err: unknown) => err instanceof ImproperlyConfigured && /needs a name/.test(err.message),
  )
})

test('groupBy: an event whose key function throws is skipped and acked', async (t) => {
  const { app, logs } = newApp(t, { ...manualCommit, topicPartitions: 2 })
  const topic = app.topic('gb-err', { partitions: 1 })
  const got: unknown[] = []
  app.agent(
    topic,
    async (stream) => {
      const grouped = stream.groupBy(
        (v) => {
          if (v === 'bad') throw new Error('no key for bad')
          return String(v)
        },
        { name: 'k' },
      )
      for await (const v of grouped) got.push(v)
    },
    { name: 'gb-err' },
  )
  await app.start()
  for (const v of ['a', 'bad', 'b']) await topic.send({ value: v })
  await waitFor(() => got.length === 2 && committable(app, 'gb-err') === 3, 'good ones regrouped, all acked')
  assert.deepEqual(got.sort(), ['a', 'b'])
  assert.ok(logs.some((r) => r.level === 'error' && /key function failed/.test(r.msg)))
})

test(
  'groupBy(field, { partitions }) creates the repartition topic with that many partitions',
  async (t) => {
    const { app, broker } = newApp(t, { ...manualCommit, topicPartitions: 4 })
    const orders = app.topic('orders2', { keyType: String, valueType: Order, partitions: 4 })
    const got: unknown[] = []
    app.agent(
      orders,
      async (stream) => {
        for await (const v of stream.groupBy('user', { partitions: 2 })) got.push(v)
      },
      { name: 'by-user2' },
    )
    await app.start()
    await orders.send({ value: { user: 'a', n: 1 } })
    await waitFor(() => got.length === 1, 'regrouped', 1000)
    assert.equal(broker.topics.get('by-user2-orders2-user-repartition')?.partitions.length, 2)
  },
)

test('through(topic) forwards every value and continues from that topic', async (t) => {
  const { app } = newApp(t, manualCommit)
  const source = app.topic('thr-src', { keyType: String, partitions: 1 })
  const relayed = app.topic('thr-dst', { keyType: String, partitions: 1 })
  const got: Array<{ key: string; value: unknown; topic: string }> = []
  app.agent(
    source,
    async (stream) => {
      for await (const e of stream.through<unknown, string>(relayed).events()) got.push({ key: e.key, value: e.value, topic: e.topic })
    },
    { name: 'relay' },
  )
  await app.start()
  for (let i = 0; i < 3; i++) await source.send({ key: `k${i}`, value: { i } })
  await waitFor(() => got.length === 3, 'relayed')
  assert.deepEqual(got, [0, 1, 2].map((i) => ({ key: `k${i}`, value: { i }, topic: 'thr-dst' })))
  assert.deepEqual(jsonValues(app, 'thr-dst'), [{ i: 0 }, { i: 1 }, { i: 2 }])
  assert.deepEqual(
    records(app, 'thr-dst').map((r) => r.key?.toString()),
    ['k0', 'k1', 'k2'],
  )
  await waitFor(() => committable(app, 'thr-src') === 3 && committable(app, 'thr-dst') === 3, 'both acked')
})

test('through(channel) forwards to an in-memory channel', async (t) => {
  const { app } = newApp(t, manualCommit)
  const source = app.topic('thr-ch-src', { partitions: 1 })
  const channel = app.channel({ name: 'mid' })
  const got: Array<{ value: unknown; topic: string }> = []
  app.agent(
    source,
    async (stream) => {
      for await (const e of stream.through(channel).events()) got.push({ value: e.value, topic: e.topic })
    },
    { name: 'relay-ch' },
  )
  await app.start()
  for (let i = 0; i < 3; i++) await source.send({ value: i * 2 })
  await waitFor(() => got.length === 3, 'relayed')
  assert.deepEqual(got, [0, 2, 4].map((value) => ({ value, topic: 'mid' })))
  await waitFor(() => committable(app, 'thr-ch-src') === 3, 'source acked')
})

test(
  'currentEvent() in an agent using groupBy() is the repartitioned event, not the source event',
  async (t) => {
    const { app } = newApp(t, { ...manualCommit, topicPartitions: 2 })
    const topic = app.topic('cur-gb', { partitions: 2 })
    const wrong: string[] = []
    let n = 0
    app.agent(
      topic,
      async (stream) => {
        for await (const value of stream.groupBy((v) => String(v), { name: 'v' })) {
          const ev = currentEvent()
          if (ev?.topic !== 'cur-gb-agent-cur-gb-v-repartition' || ev.value !== value) wrong.push(`${String(value)}: ${ev?.topic}`)
          n += 1
        }
      },
      { name: 'cur-gb-agent' },
    )
    await app.start()
    for (let i = 0; i < 20; i++) await topic.send({ value: i })
    await waitFor(() => n === 20, 'processed')
    assert.deepEqual(wrong, [])
  },
)

test('echo(topic, ...) sends every value on and still yields it', async (t) => {
  const { app } = newApp(t, manualCommit)
  const source = app.topic('echo-src', { keyType: String, partitions: 1 })
  const out1 = app.topic('echo-out1', { keyType: String, partitions: 1 })
  const out2 = app.topic('echo-out2', { keyType: String, partitions: 1 })
  const got: unknown[] = []
  app.agent(
    source,
    async (stream) => {
      for await (const v of stream.echo(out1, out2)) got.push(v)
    },
    { name: 'echo' },
  )
  await app.start()
  for (let i = 0; i < 3; i++) await source.send({ key: `k${i}`, value: `v${i}` })
  await waitFor(() => got.length === 3, 'processed')
  assert.deepEqual(got, ['v0', 'v1', 'v2'])
  for (const name of ['echo-out1', 'echo-out2']) {
    assert.deepEqual(jsonValues(app, name), ['v0', 'v1', 'v2'])
    assert.deepEqual(
      records(app, name).map((r) => r.key?.toString()),
      ['k0', 'k1', 'k2'],
    )
  }
})

test('noack(): events are acked only by event.ack() / stream.ack(event)', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('noack', { partitions: 1 })
  const got: Event[] = []
  let ackedInLoop = 0
  app.agent(
    topic,
    async (stream) => {
      const manual = stream.noack()
      for await (const event of manual.events()) {
        got.push(event)
        // Ack the even ones at once, leave the odd ones for later.
        if ((event.value as number) % 2 === 0 && manual.ack(event)) ackedInLoop += 1
      }
    },
    { name: 'noack' },
  )
  await app.start()
  for (let i = 0; i < 4; i++) await topic.send({ value: i })
  await waitFor(() => got.length === 4, 'all delivered')
  assert.equal(ackedInLoop, 2)
  assert.equal(committable(app, 'noack'), 1, 'offset 1 is unacked')
  got[1]!.ack()
  assert.equal(committable(app, 'noack'), 3)
  got[3]!.ack()
  assert.equal(committable(app, 'noack'), 4)
  assert.equal(await commitNow(app, 'noack'), 4)
})

function combineApp(t: Parameters<typeof newApp>[0]) {
  const { app } = newApp(t, manualCommit)
  const left = app.topic('left', { partitions: 1 })
  const right = app.topic('right', { partitions: 1 })
  const got: Array<[string, unknown]> = []
  app.agent(
    left,
    async (stream) => {
      // The second stream shares the agent stream's options (its stop signal and context).
      for await (const e of stream.combine(right.stream(stream.options)).events()) got.push([e.topic, e.value])
    },
    { name: 'combined' },
  )
  const from = (topic: string) => got.filter(([t]) => t === topic).map(([, v]) => v)
  return { app, left, right, got, from }
}

test('combine() merges two streams (events waiting on both); both are acked', async (t) => {
  const { app, left, right, got, from } = combineApp(t)
  await left.send({ value: 'l0' })
  await left.send({ value: 'l1' })
  await right.send({ value: 'r0' })
  await right.send({ value: 'r1' })
  await app.start()
  await waitFor(() => got.length === 4, 'all four')
  assert.deepEqual(from('left'), ['l0', 'l1'])
  assert.deepEqual(from('right'), ['r0', 'r1'])
  await waitFor(() => committable(app, 'left') === 2 && committable(app, 'right') === 2, 'both acked')
})


test('combine(): an event on the quiet stream is delivered without waiting for the other', async (t) => {
  const { app, left, right, got } = combineApp(t)
  await app.start()
  await left.send({ value: 'l0' })
  await waitFor(() => got.length === 1, 'l0')
  await right.send({ value: 'r0' })
  await waitFor(() => got.length === 2, 'r0 delivered', 1000)
})

test('combine(): events arriving live keep their order per stream', async (t) => {
  const { app, left, right, got, from } = combineApp(t)
  await app.start()
  // Two events on the left, each waited for, then three on the right.
  await left.send({ value: 'l0' })
  await waitFor(() => got.length === 1, 'l0')
  await left.send({ value: 'l1' })
  await waitFor(() => got.length === 2, 'l1')
  for (const v of ['r0', 'r1', 'r2']) await right.send({ value: v })
  await waitFor(() => got.length === 5, 'all five', 1000)
  assert.deepEqual(from('right'), ['r0', 'r1', 'r2'])
})

test('currentEvent() is the event being processed, also in functions the agent calls', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('cur', { keyType: String, partitions: 1 })
  const seen: Array<{ value: unknown; key: unknown; offset: number | undefined; same: boolean; nested: number | undefined }> = []
  async function helper(): Promise<number | undefined> {
    await new Promise((r) => setTimeout(r, 1))
    return currentEvent()?.offset
  }
  app.agent(
    topic,
    async (stream) => {
      for await (const value of stream) {
        const ev = currentEvent()
        seen.push({ value, key: ev?.key, offset: ev?.offset, same: ev === stream.current, nested: await helper() })
      }
    },
    { name: 'cur' },
  )
  assert.equal(currentEvent(), undefined, 'outside an agent')
  await app.start()
  await topic.send({ key: 'a', value: 'x' })
  await topic.send({ key: 'b', value: 'y' })
  await waitFor(() => seen.length === 2, 'processed')
  assert.deepEqual(seen, [
    { value: 'x', key: 'a', offset: 0, same: true, nested: 0 },
    { value: 'y', key: 'b', offset: 1, same: true, nested: 1 },
  ])
  assert.equal(currentEvent(), undefined, 'still undefined outside')
})

test('currentEvent() is separate per actor with concurrency > 1', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('cur-conc', { partitions: 1 })
  const mismatches: string[] = []
  let done = 0
  app.agent(
    topic,
    async (stream) => {
      for await (const value of stream) {
        await new Promise((r) => setTimeout(r, 5 + ((value as number) % 3) * 5))
        if (currentEvent()?.value !== value) mismatches.push(`${String(value)} saw ${String(currentEvent()?.value)}`)
        done += 1
      }
    },
    { name: 'cur-conc', concurrency: 3 },
  )
  await app.start()
  for (let i = 0; i < 9; i++) await topic.send({ value: i })
  await waitFor(() => done === 9, 'processed')
  assert.deepEqual(mismatches, [])
})

test(
  'app.stream() iterated in app.task stops with the app (no hung task at stop)',
  async (t) => {
    const { app } = newApp(t, manualCommit)
    const topic = app.topic('task-stream', { partitions: 1 })
    app.agent(
      topic,
      async (stream) => {
        for await (const _ of stream);
      },
      { name: 'keeps-consumer-subscribed' },
    )
    const seen: unknown[] = []
    app.task(async () => {
      for await (const v of app.stream(topic)) seen.push(v)
    })
    app.tasks.stopTimeout = 0.3 // instead of 10 s, so the failure is quick
    await app.start()
    await topic.send({ value: 1 })
    await waitFor(() => seen.length === 1, 'task stream got the value')
    const started = Date.now()
    await app.stop()
    assert.deepEqual(app.tasks.hungTasks, [])
    assert.ok(Date.now() - started < 250, 'stop did not wait for the task')
  },
)

test('app.stream(topic, { signal }) in app.task receives events and stops with the task', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('task-stream2', { partitions: 1 })
  app.agent(
    topic,
    async (stream) => {
      for await (const _ of stream);
    },
    { name: 'other-reader' },
  )
  const seen: unknown[] = []
  app.task(async (signal) => {
    for await (const v of app.stream(topic, { signal })) seen.push(v)
  })
  await app.start()
  for (let i = 0; i < 3; i++) await topic.send({ value: i })
  await waitFor(() => seen.length === 3, 'task stream got the values')
  assert.deepEqual(seen, [0, 1, 2])
  await app.stop()
  assert.deepEqual(app.tasks.hungTasks, [])
})

test(
  'a stream opened after start in an app with no agents receives events',
  async (t) => {
    const { app } = newApp(t, manualCommit)
    const topic = app.topic('late', { partitions: 1 })
    const seen: unknown[] = []
    app.task(async (signal) => {
      for await (const v of app.stream(topic, { signal })) seen.push(v)
    })
    await app.start()
    await topic.send({ value: 'hello' })
    await waitFor(() => seen.length === 1, 'late stream got the value', 1000)
  },
)

test(
  'app.stream(topic).groupBy() defined before start forwards once the app runs',
  async (t) => {
    // Short shutdown: the unread source event is also left unsettled (see the next test).
    const { app } = newApp(t, { ...manualCommit, topicPartitions: 2, shutdownTimeout: 0.2 })
    const topic = app.topic('pre', { partitions: 2 })
    app.agent(
      topic,
      async (stream) => {
        for await (const _ of stream);
      },
      { name: 'keeps-consumer-subscribed' },
    )
    const controller = new AbortController()
    t.after(() => controller.abort())
    const grouped = app.stream(topic, { signal: controller.signal }).groupBy((v) => String(v), { name: 'v' })
    const seen: unknown[] = []
    app.task(async (signal) => {
      signal.addEventListener('abort', () => controller.abort())
      for await (const v of grouped) seen.push(v)
    })
    await app.start()
    await topic.send({ value: 'x' })
    await waitFor(() => seen.length === 1, 'regrouped value', 1000)
  },
)

test(
  'closing a stream with buffered events does not make stop() wait for them',
  async (t) => {
    const { app } = newApp(t, { ...manualCommit, shutdownTimeout: 0.5 })
    const topic = app.topic('closing', { partitions: 1 })
    app.agent(
      topic,
      async (stream) => {
        for await (const _ of stream);
      },
      { name: 'other-reader' },
    )
    const seen: unknown[] = []
    app.task(async (signal) => {
      const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
      for await (const v of app.stream(topic, { signal })) {
        seen.push(v)
        await stopped // busy with the first event until the app stops,
        break // then leave the loop: events 1 and 2 stay in the closed stream's buffer
      }
    })
    await app.start()
    for (let i = 0; i < 3; i++) await topic.send({ value: i })
    await waitFor(() => seen.length === 1 && app.consumer.stats.delivered === 3, 'first event in progress, two buffered')
    await idle()
    const started = Date.now()
    await app.stop()
    const took = Date.now() - started
    assert.ok(took < 300, `stop took ${took} ms`)
  },
)
