import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import { App } from '../../src/index.ts'
import { brokerUrl, eventually, kafka, testAdmin, unique } from './_kafka.ts'

const Order = z.object({ id: z.number().int(), amount: z.number() })
const kinds = ['not JSON', 'wrong schema', 'empty', 'truncated', '5 MB'] as const

function badValue(kind: (typeof kinds)[number], i: number): Buffer {
  switch (kind) {
    case 'not JSON':
      return Buffer.from(`garbage ${i}`)
    case 'wrong schema':
      return Buffer.from(JSON.stringify({ id: `x${i}`, amount: 'lots' }))
    case 'empty':
      return Buffer.alloc(0)
    case 'truncated':
      return Buffer.from(JSON.stringify({ id: i, amount: 1 }).slice(0, 9))
    case '5 MB':
      return Buffer.alloc(5 * 1024 * 1024, 'x')
  }
}

test('1000 messages, every 10th bad: 900 processed, 100 dead-lettered with their headers, offsets committed past them, a restart reprocesses nothing', async (t) => {
  const k = await testAdmin(t)
  const id = unique('bad')
  const topicName = await k.topic(unique('bad-input'), 4, { 'max.message.bytes': String(8 * 1024 * 1024) })
  k.cleanupTopic(`${topicName}-dlq`)
  k.cleanupGroup(id)

  const producer = kafka.producer()
  await producer.connect()
  t.after(() => producer.disconnect())
  const bad = new Map<string, (typeof kinds)[number]>()
  const messages = Array.from({ length: 1000 }, (_, i) => {
    const key = `m${i}`
    if (i % 10 === 9) {
      const kind = kinds[Math.floor(i / 10) % kinds.length]!
      bad.set(key, kind)
      return { key, value: badValue(kind, i), headers: { origin: 'test' } }
    }
    return { key, value: JSON.stringify({ id: i, amount: i / 2 }), headers: { origin: 'test' } }
  })
  // Batches of 10 hold at most one bad message, so a 5 MB one never shares a batch with another.
  for (let i = 0; i < messages.length; i += 10) await producer.send({ topic: topicName, messages: messages.slice(i, i + 10) })
  assert.equal(bad.size, 100)

  const processed: number[] = []
  const start = () => {
    const app = new App(id, { broker: brokerUrl, errorPolicy: 'dlq', brokerCommitInterval: 0.5, brokerSessionTimeout: 10, brokerHeartbeatInterval: 1 })
    app.agent(app.topic(topicName, { keyType: String, valueType: Order }), async (stream) => {
      for await (const order of stream) processed.push(order.id)
    }, { name: 'orders' })
    return app
  }
  const started = performance.now()
  const first = start()
  k.stopLater(first)
  await first.start()
  await eventually(() => processed.length === 900 && first.errorStats.dlq === 100, '900 processed and 100 dead-lettered', 120_000)
  const seconds = (performance.now() - started) / 1000
  assert.equal(first.state, 'running', `the worker kept running (${String(first.crashReason)})`)
  await first.stop()
  assert.deepEqual([...new Set(processed)].length, 900)
  assert.ok(processed.every((i) => i % 10 !== 9))

  const committed = await k.committed(id, topicName)
  const { topics } = await k.admin.fetchTopicMetadata({ topics: [topicName] })
  const ends = new Map((await k.admin.fetchTopicOffsets(topicName)).map((p) => [p.partition, Number(p.high)]))
  for (const p of topics[0]!.partitions) assert.equal(committed.get(p.partitionId), ends.get(p.partitionId), `partition ${p.partitionId} committed to its end`)

  // The dead-letter topic: every bad message once, original bytes and headers, error headers.
  const readerGroup = unique('dlq-reader')
  const reader = kafka.consumer({ groupId: readerGroup, maxBytesPerPartition: 8 * 1024 * 1024 })
  k.cleanupGroup(readerGroup)
  await reader.connect()
  t.after(() => reader.disconnect())
  await reader.subscribe({ topic: `${topicName}-dlq`, fromBeginning: true })
  const dead = new Map<string, { value: Buffer; headers: Record<string, string> }>()
  await reader.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([h, v]) => [h, String(v)]))
      dead.set(message.key!.toString(), { value: message.value ?? Buffer.alloc(0), headers })
    },
  })
  await eventually(() => dead.size === 100, '100 dead letters', 60_000)
  await reader.disconnect()
  const byKind = new Map<string, number>()
  for (const [key, kind] of bad) {
    const d = dead.get(key)
    assert.ok(d, `${key} (${kind}) dead-lettered`)
    const i = Number(key.slice(1))
    assert.ok(d.value.equals(badValue(kind, i)), `${key}: original bytes`)
    assert.equal(d.headers.origin, 'test')
    assert.equal(d.headers['__streams.errors.exception'], 'ValueDecodeError')
    assert.equal(d.headers['__streams.errors.topic'], topicName)
    assert.match(d.headers['__streams.errors.message'] ?? '', new RegExp(`${topicName}\\[${d.headers['__streams.errors.partition']}\\]@${d.headers['__streams.errors.offset']}`))
    assert.ok((d.headers['__streams.errors.stacktrace'] ?? '').includes('ValueDecodeError'))
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1)
  }
  console.log(`bad input: 1000 messages (${[...byKind].map(([kind, n]) => `${n} ${kind}`).join(', ')}) in ${seconds.toFixed(1)} s; 900 processed, 100 dead-lettered`)

  // A restart finds nothing to do.
  const before = processed.length
  const second = start()
  k.stopLater(second)
  await second.start()
  await second.consumer.waitAssigned()
  await new Promise((r) => setTimeout(r, 2000))
  assert.equal(processed.length, before, 'nothing reprocessed')
  assert.equal(second.errorStats.dlq, 0, 'nothing dead-lettered twice')
})
