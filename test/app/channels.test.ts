/**
 * Channels (in-memory, no broker) and topics (declared on the broker, keys placed by murmur2).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PartitionsMismatch } from '../../src/errors.ts'
import type { Event } from '../../src/streams/event.ts'
import { keyPartition } from '../../src/utils/murmur2.ts'
import { committable, deferred, Gates, idle, newApp, records, waitFor } from './helpers.ts'

test('a channel hands values to its agent as they are (no serialization, no broker)', async (t) => {
  const { app, broker } = newApp(t)
  const channel = app.channel({ name: 'jobs', keyType: String })
  const got: Event[] = []
  app.agent(
    channel,
    async (stream) => {
      for await (const e of stream.events()) got.push(e)
    },
    { name: 'jobs' },
  )
  await app.start()
  const job = { id: 1, when: new Date(0), run: () => 'ok' }
  assert.equal(await channel.send({ key: 'k', value: job, headers: { h: 'v' } }), undefined)
  await app.send(channel, { value: 'second' })
  await waitFor(() => got.length === 2, 'two events')
  assert.equal(got[0]!.value, job, 'the very same object')
  assert.equal(got[0]!.key, 'k')
  assert.equal(got[0]!.headers.h?.toString(), 'v')
  assert.equal(got[0]!.topic, 'jobs')
  assert.deepEqual(
    got.map((e) => e.offset),
    [0, 1],
  )
  assert.equal(got[1]!.value, 'second')
  assert.equal(broker.topics.has('jobs'), false, 'nothing on the broker')
  assert.equal(channel.readers, 1)
})

test('every reader of a channel gets every value', async (t) => {
  const { app } = newApp(t)
  const channel = app.channel()
  const a: unknown[] = []
  const b: unknown[] = []
  app.agent(
    channel,
    async (stream) => {
      for await (const v of stream) a.push(v)
    },
    { name: 'a' },
  )
  app.agent(
    channel,
    async (stream) => {
      for await (const v of stream) b.push(v)
    },
    { name: 'b' },
  )
  await app.start()
  assert.equal(channel.readers, 2)
  for (let i = 0; i < 3; i++) await channel.send({ value: i })
  await waitFor(() => a.length === 3 && b.length === 3, 'both got all')
  assert.deepEqual(a, [0, 1, 2])
  assert.deepEqual(b, [0, 1, 2])
})

test('a value sent to a channel nobody reads is dropped', async (t) => {
  const { app } = newApp(t)
  const channel = app.channel()
  await app.start()
  assert.equal(channel.readers, 0)
  await channel.send({ value: 'into the void' })
  const late: unknown[] = []
  const stream = channel.stream()
  const reading = (async () => {
    for await (const v of stream) {
      late.push(v)
      break
    }
  })()
  await channel.send({ value: 'seen' })
  await reading
  assert.deepEqual(late, ['seen'])
})

test('a full channel makes send() wait (backpressure)', async (t) => {
  const { app } = newApp(t)
  const channel = app.channel({ maxsize: 2 })
  const gates = new Gates<number>()
  const seen: number[] = []
  app.agent(
    channel,
    async (stream) => {
      for await (const v of stream) {
        seen.push(v as number)
        await gates.wait(v as number)
      }
    },
    { name: 'slow' },
  )
  try {
    await app.start()
    await channel.send({ value: 0 }) // taken by the waiting agent
    await waitFor(() => seen.length === 1, 'agent busy with 0')
    await channel.send({ value: 1 })
    await channel.send({ value: 2 }) // buffer now full (2)
    let sent3 = false
    const third = channel.send({ value: 3 }).then(() => {
      sent3 = true
    })
    await idle()
    assert.equal(sent3, false, 'send waits for room')
    gates.open(0)
    await third
    assert.equal(sent3, true)
    gates.openAll()
    await waitFor(() => seen.length === 4, 'all processed')
    assert.deepEqual(seen, [0, 1, 2, 3])
  } finally {
    gates.openAll()
  }
})

test('topics are declared at start with their partitions and config', async (t) => {
  const { app, broker } = newApp(t, { topicPartitions: 2 })
  app.topic('plain')
  app.topic('wide', { partitions: 5 })
  app.topic('compacted', { partitions: 3, compacting: true, retention: 3600 })
  app.topic('both', { compacting: true, deleting: true })
  await app.start()
  assert.equal(broker.topics.get('plain')?.partitions.length, 2, 'default: topicPartitions')
  assert.equal(broker.topics.get('wide')?.partitions.length, 5)
  assert.deepEqual(broker.topics.get('compacted')?.config, { 'cleanup.policy': 'compact', 'retention.ms': '3600000' })
  assert.deepEqual(broker.topics.get('both')?.config, { 'cleanup.policy': 'compact,delete' })
  assert.equal(await app.partitionsFor('wide'), 5)
})

test('a topic that exists with another partition count fails the start with PartitionsMismatch', async (t) => {
  const { app, broker } = newApp(t)
  broker.createTopic({ name: 'existing', partitions: 2, replicationFactor: 1, config: {} })
  app.topic('existing', { partitions: 3 })
  await assert.rejects(app.start(), (err: unknown) => err instanceof PartitionsMismatch && /existing has 2 partitions/.test(err.message))
  assert.equal(app.state, 'crashed')
})

test('keys are placed by murmur2; keyless sends go round-robin; explicit partitions win', async (t) => {
  const { app } = newApp(t)
  const topic = app.topic('placed', { keyType: String, partitions: 4 })
  await app.start()
  for (const key of ['alice', 'bob', 'carol', 'dave', 'erin']) {
    const md = await topic.send({ key, value: key })
    assert.equal(md.partition, keyPartition(Buffer.from(key), 4), `partition of ${key}`)
    const again = await topic.send({ key, value: key })
    assert.equal(again.partition, md.partition, 'same key, same partition')
    assert.equal(again.offset, md.offset + 1)
  }
  const keyless = await Promise.all([0, 1, 2, 3].map(async () => (await topic.send({ value: 'x' })).partition))
  assert.deepEqual(keyless.sort(), [0, 1, 2, 3])
  assert.equal((await topic.send({ key: 'alice', value: 'pinned', partition: 3 })).partition, 3)
})

test('one topic object over several names: the agent reads all, sends go to the first', async (t) => {
  const { app } = newApp(t, { brokerCommitEvery: 10_000, brokerCommitInterval: 1000 })
  const both = app.topic(['east', 'west'], { partitions: 1 })
  const west = app.topic('west', { partitions: 1 })
  const got: Array<[string, unknown]> = []
  app.agent(
    both,
    async (stream) => {
      for await (const e of stream.events()) got.push([e.topic, e.value])
    },
    { name: 'both' },
  )
  await app.start()
  await both.send({ value: 'e1' })
  await west.send({ value: 'w1' })
  await app.send('east', { value: 'e2' })
  await waitFor(() => got.length === 3, 'three')
  assert.deepEqual(got.filter(([t]) => t === 'east').map(([, v]) => v), ['e1', 'e2'])
  assert.deepEqual(got.filter(([t]) => t === 'west').map(([, v]) => v), ['w1'])
  await waitFor(() => committable(app, 'east') === 2 && committable(app, 'west') === 1, 'acked')
})

test('serializers: per-topic and per-send overrides', async (t) => {
  const { app } = newApp(t)
  const rawTopic = app.topic('raw-values', { valueType: String, valueSerializer: 'raw', partitions: 1 })
  const jsonTopic = app.topic('json-values', { partitions: 1 })
  await app.start()
  await rawTopic.send({ value: 'plain text' })
  await jsonTopic.send({ value: { a: 1 } })
  await jsonTopic.send({ value: 'as raw', valueSerializer: 'raw' })
  await jsonTopic.send({ value: { z: true }, valueSerializer: 'json|gzip' })
  assert.equal(records(app, 'raw-values')[0]?.value?.toString(), 'plain text')
  const values = records(app, 'json-values').map((r) => r.value!)
  assert.equal(values[0]?.toString(), '{"a":1}')
  assert.equal(values[1]?.toString(), 'as raw')
  assert.equal(values[2]?.[0], 0x1f, 'gzip magic')
  assert.deepEqual(JSON.parse(values[0]!.toString()), { a: 1 })
})

test('an undecodable message is logged with its position, skipped, and committed', async (t) => {
  const { app, logs } = newApp(t, { brokerCommitEvery: 10_000, brokerCommitInterval: 1000 })
  const topic = app.topic('mixed', { partitions: 1 })
  const got: unknown[] = []
  const done = deferred()
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        got.push(v)
        if (got.length === 2) done.resolve()
      }
    },
    { name: 'mixed' },
  )
  await app.start()
  await topic.send({ value: 1 })
  await topic.sendRaw({ key: null, value: Buffer.from('{not json') })
  await topic.send({ value: 3 })
  await done.promise
  assert.deepEqual(got, [1, 3])
  assert.equal(app.decodeErrors, 1)
  assert.ok(logs.some((r) => r.level === 'error' && /mixed\[0\]@1/.test(r.msg) && /skipped/.test(r.msg)))
  await waitFor(() => committable(app, 'mixed') === 3, 'all acked')
  await app.stop()
  assert.equal(app.consumer.stats.commits >= 1, true)
})
