import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { App, keyPartition, PartitionsMismatch, ProducerSendError } from '../../src/index.ts'
import { brokerUrl, eventually, startProcess, testAdmin, unique } from './_kafka.ts'

function newApp(id: string, settings: ConstructorParameters<typeof App>[1] = {}) {
  return new App(id, { broker: brokerUrl, brokerCommitInterval: 0.5, brokerSessionTimeout: 10, brokerHeartbeatInterval: 1, ...settings })
}

test('round trip: key, value, headers and timestamp arrive; keys land on their murmur2 partition', async (t) => {
  const k = await testAdmin(t)
  const id = unique('rt')
  const topicName = await k.topic(unique('rt-topic'), 4)
  k.cleanupGroup(id)
  const app = newApp(id)
  const topic = app.topic(topicName, { keyType: String })
  const seen: Array<{ key: string; value: unknown; partition: number; headers: Record<string, string>; timestamp: number }> = []
  app.agent(topic, async (stream) => {
    for await (const e of stream.events()) {
      seen.push({
        key: e.key,
        value: e.value,
        partition: e.partition,
        headers: Object.fromEntries(Object.entries(e.headers).map(([h, v]) => [h, v.toString()])),
        timestamp: e.timestamp,
      })
    }
  }, { name: 'rt' })
  k.stopLater(app)
  await app.start()
  await app.consumer.waitAssigned()
  const sent = []
  for (let i = 0; i < 50; i++) {
    sent.push(await topic.send({ key: `key-${i}`, value: { i, text: 'héllo' }, headers: { trace: `t${i}`, bin: Buffer.from([1, 2]) }, timestamp: 1_700_000_000_000 + i }))
  }
  for (const [i, md] of sent.entries()) assert.equal(md.partition, keyPartition(Buffer.from(`key-${i}`), 4))
  await eventually(() => seen.length === 50, '50 events')
  seen.sort((a, b) => (a.value as { i: number }).i - (b.value as { i: number }).i)
  for (const [i, e] of seen.entries()) {
    assert.equal(e.key, `key-${i}`)
    assert.deepEqual(e.value, { i, text: 'héllo' })
    assert.equal(e.partition, keyPartition(Buffer.from(`key-${i}`), 4))
    assert.equal(e.headers.trace, `t${i}`)
    assert.equal(e.headers.bin, '\u0001\u0002')
    assert.equal(e.timestamp, 1_700_000_000_000 + i)
  }
})

test('commits: the committed offset is the next unprocessed one, and the final commit happens at stop', async (t) => {
  const k = await testAdmin(t)
  const id = unique('commit')
  const topicName = await k.topic(unique('commit-topic'), 2)
  k.cleanupGroup(id)
  const app = newApp(id, { brokerCommitInterval: 3600, brokerCommitEvery: 1_000_000 })
  const topic = app.topic(topicName)
  let processed = 0
  app.agent(topic, async (stream) => {
    for await (const _ of stream) processed += 1
  }, { name: 'committer' })
  await app.start()
  await app.consumer.waitAssigned()
  for (let i = 0; i < 30; i++) await topic.send({ value: i, partition: i % 2 })
  await eventually(() => processed === 30, '30 processed')
  // No commit yet: neither the interval nor the count was reached.
  assert.deepEqual([...(await k.committed(id, topicName)).values()], [-1, -1])
  await app.stop()
  assert.deepEqual(Object.fromEntries(await k.committed(id, topicName)), { 0: 15, 1: 15 })
})

test('an existing topic with another partition count than declared is a clear error at start-up', async (t) => {
  const k = await testAdmin(t)
  const id = unique('mismatch')
  const topicName = await k.topic(unique('mismatch-topic'), 3)
  const app = newApp(id)
  const topic = app.topic(topicName, { partitions: 4 })
  app.agent(topic, async (stream) => {
    for await (const _ of stream);
  }, { name: 'm' })
  await assert.rejects(app.start(), (err: unknown) => {
    assert.ok(err instanceof PartitionsMismatch)
    assert.equal(err.topic, topicName)
    assert.match(err.message, /has 3 partitions but the app needs 4/)
    return true
  })
  await app.stop()
})

test('internal topics are created with the app settings: partitions, replication and configs', async (t) => {
  const k = await testAdmin(t)
  const id = unique('internal')
  const app = newApp(id, { topicPartitions: 5 })
  const agent = app.agent(undefined, async (stream) => {
    for await (const _ of stream);
  }, { name: 'own', compacting: true, retention: 3600 })
  k.cleanupTopic(agent.channel.label)
  k.cleanupGroup(id)
  k.stopLater(app)
  await app.start()
  const { topics } = await k.admin.fetchTopicMetadata({ topics: [`${id}-own`] })
  assert.equal(topics[0]?.partitions.length, 5)
  const configs = await k.admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: `${id}-own`, configNames: ['cleanup.policy', 'retention.ms'] }] })
  const entries = Object.fromEntries(configs.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]))
  assert.deepEqual(entries, { 'cleanup.policy': 'compact', 'retention.ms': '3600000' })
})

test('send errors reach the caller and the producer counts them; gzip round-trips', async (t) => {
  const k = await testAdmin(t)
  const id = unique('senderr')
  const small = await k.topic(unique('small'), 1, { 'max.message.bytes': '2000' })
  const app = newApp(id, { producerCompressionType: 'gzip' })
  const topic = app.topic(small, { valueSerializer: 'raw' })
  k.stopLater(app)
  await app.start()
  const random = Buffer.from(Array.from({ length: 10_000 }, () => Math.floor(Math.random() * 256)))
  await assert.rejects(topic.send({ value: random }), (err: unknown) => {
    assert.ok(err instanceof ProducerSendError)
    assert.equal(err.topic, small)
    assert.match(err.message, /larger than the max message size/i)
    return true
  })
  assert.equal(app.producer.stats.errors, 1)
  // Compressible data under gzip fits and comes back intact.
  const md = await topic.send({ value: Buffer.alloc(10_000, 'a') })
  const consumer = (await import('./_kafka.ts')).kafka.consumer({ groupId: unique('reader') })
  await consumer.connect()
  await consumer.subscribe({ topic: small, fromBeginning: true })
  const values: Buffer[] = []
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!) })
  await eventually(() => values.length === 1, 'the gzip message')
  await consumer.disconnect()
  assert.equal(md.offset, 0)
  assert.ok(values[0]!.equals(Buffer.alloc(10_000, 'a')))
})

test('backpressure: a stalled agent pauses its partitions instead of buffering the topic', async (t) => {
  const k = await testAdmin(t)
  const id = unique('bp')
  const topicName = await k.topic(unique('bp-topic'), 2)
  k.cleanupGroup(id)
  const producer = (await import('./_kafka.ts')).kafka.producer()
  await producer.connect()
  const payload = Buffer.alloc(100, 'x')
  for (let batch = 0; batch < 20; batch++) {
    await producer.send({ topic: topicName, messages: Array.from({ length: 5000 }, (_, i) => ({ value: payload, partition: i % 2 })) })
  }
  await producer.disconnect()
  const app = newApp(id, { streamBufferMaxsize: 1000, consumerMaxFetchSize: 64 * 1024 })
  const topic = app.topic(topicName, { valueSerializer: 'raw' })
  let release!: () => void
  const stalled = new Promise<void>((r) => (release = r))
  let processed = 0
  app.agent(topic, async (stream) => {
    for await (const _ of stream) {
      if (processed === 0) await stalled
      processed += 1
    }
  }, { name: 'stalled' })
  k.stopLater({
    async stop() {
      release()
      await app.stop()
    },
  })
  await app.start()
  await eventually(() => app.consumer.pausedPartitions().length === 2, 'both partitions paused')
  await new Promise((r) => setTimeout(r, 1000))
  const delivered = app.consumer.stats.delivered
  await new Promise((r) => setTimeout(r, 1500))
  // The buffer plus the fetches kafkajs had in flight when the partitions paused; then nothing more.
  assert.ok(delivered < 10_000, `delivered ${delivered} of 100000 while stalled`)
  assert.equal(app.consumer.stats.delivered, delivered, 'nothing more delivered while paused')
  release()
  await eventually(() => processed === 100_000, 'all 100000 processed after release', 120_000)
})

test('kill -9 a worker mid-stream and restart it: every message processed at least once', async (t) => {
  const k = await testAdmin(t)
  const id = unique('kill')
  const topicName = await k.topic(unique('kill-topic'), 4)
  k.cleanupGroup(id)
  const dir = mkdtempSync(join(tmpdir(), 'faust-kill-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'processed.txt')
  const total = 3000
  const producer = (await import('./_kafka.ts')).kafka.producer()
  await producer.connect()
  await producer.send({ topic: topicName, messages: Array.from({ length: total }, (_, i) => ({ key: `m${i}`, value: '{}' })) })
  await producer.disconnect()
  const env = { APP_ID: id, BROKER_URL: brokerUrl, INPUT_TOPIC: topicName, OUT_FILE: out, DELAY_MS: '1', COMMIT_INTERVAL: '0.3' }

  const first = startProcess('test/fixtures/kafka-worker.ts', env)
  k.stopLater({ stop: async () => void (first.kill(), await first.exited) })
  await eventually(() => lines(out).length >= 800, 'first worker progress', 60_000)
  first.kill('SIGKILL')
  await first.exited
  const beforeKill = lines(out).length

  const second = startProcess('test/fixtures/kafka-worker.ts', env)
  k.stopLater({ stop: async () => void (second.kill(), await second.exited) })
  await eventually(() => new Set(lines(out).map((l) => l.split(' ')[0])).size === total, 'every id processed', 120_000)
  second.kill('SIGTERM')
  await second.exited
  const all = lines(out).map((l) => l.split(' ')[0]!)
  const ids = new Set(all)
  assert.equal(ids.size, total, 'no message lost')
  for (let i = 0; i < total; i++) assert.ok(ids.has(`m${i}`))
  const duplicates = all.length - ids.size
  console.log(`kill -9: ${beforeKill} processed before the kill, ${all.length} in all, ${duplicates} processed twice`)
  // Only what was processed since the last commit (0.3 s, a few hundred at most) is processed again.
  assert.ok(duplicates < 1000, `${duplicates} duplicates`)
})

test('two workers split the partitions; when one stops the other takes them over; nothing lost', async (t) => {
  const k = await testAdmin(t)
  const id = unique('split')
  const topicName = await k.topic(unique('split-topic'), 6)
  k.cleanupGroup(id)
  const dir = mkdtempSync(join(tmpdir(), 'faust-split-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const env = { APP_ID: id, BROKER_URL: brokerUrl, INPUT_TOPIC: topicName, DELAY_MS: '0', COMMIT_INTERVAL: '0.3' }
  const a = startProcess('test/fixtures/kafka-worker.ts', { ...env, OUT_FILE: join(dir, 'a.txt') })
  k.stopLater({ stop: async () => void (a.kill(), await a.exited) })
  await a.waitFor(/ASSIGNED \[0,1,2,3,4,5\]/)
  const b = startProcess('test/fixtures/kafka-worker.ts', { ...env, OUT_FILE: join(dir, 'b.txt') })
  k.stopLater({ stop: async () => void (b.kill(), await b.exited) })
  await b.waitFor(/ASSIGNED \[\d(,\d)*\]/)
  await a.waitFor(/ASSIGNED \[\d,\d,\d\]\n(?![\s\S]*ASSIGNED)/)
  const assignedA = lastAssignment(a.stderr())
  const assignedB = lastAssignment(b.stderr())
  assert.equal(assignedA.length + assignedB.length, 6)
  assert.deepEqual([...assignedA, ...assignedB].sort(), [0, 1, 2, 3, 4, 5])
  assert.equal(assignedA.length, 3)

  const producer = (await import('./_kafka.ts')).kafka.producer()
  await producer.connect()
  t.after(() => producer.disconnect())
  const send = async (from: number, to: number) => {
    await producer.send({ topic: topicName, messages: Array.from({ length: to - from }, (_, i) => ({ key: `m${from + i}`, value: '{}' })) })
  }
  await send(0, 600)
  await eventually(() => lines(join(dir, 'a.txt')).length + lines(join(dir, 'b.txt')).length >= 600, 'first 600')
  const partitionsOf = (file: string) => new Set(lines(file).map((l) => Number(l.split(' ')[1])))
  assert.deepEqual([...partitionsOf(join(dir, 'a.txt'))].sort(), [...assignedA].sort())
  assert.deepEqual([...partitionsOf(join(dir, 'b.txt'))].sort(), [...assignedB].sort())

  b.kill('SIGTERM')
  const [code] = await b.exited
  assert.equal(code, 0)
  await a.waitFor(/ASSIGNED \[0,1,2,3,4,5\]\n(?![\s\S]*ASSIGNED)/)
  await send(600, 1200)
  const ids = () => new Set([...lines(join(dir, 'a.txt')), ...lines(join(dir, 'b.txt'))].map((l) => l.split(' ')[0]))
  await eventually(() => ids().size === 1200, 'all 1200 ids')
  a.kill('SIGTERM')
  await a.exited
})

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')
  } catch {
    return []
  }
}

function lastAssignment(stderr: string): number[] {
  const all = [...stderr.matchAll(/ASSIGNED (\[[\d,]*\])/g)]
  return JSON.parse(all[all.length - 1]![1]!) as number[]
}
