import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { RecordMetadata } from '../types/tuples.ts'
import { App } from '../app/app.ts'
import { Producer } from './producer.ts'

/** A driver whose sends wait until released (a broker slower than the agents). */
function slowDriver() {
  const waiting: Array<() => void> = []
  return {
    waiting,
    driver: {
      start: async () => {},
      send: () => new Promise<RecordMetadata>((resolve) => waiting.push(() => resolve({ topic: 't', partition: 0, offset: 0, timestamp: 0 }))),
      flush: async () => {},
      close: async () => {},
    },
  }
}

test('the producer is congested at 100,000 outstanding sends and drained at 50,000', async () => {
  const { driver, waiting } = slowDriver()
  const producer = new Producer(() => driver)
  const sends: Promise<unknown>[] = []
  for (let i = 0; i < 99_999; i++) sends.push(producer.send({ topic: 't', key: null, value: null }))
  assert.equal(producer.congested, false)
  sends.push(producer.send({ topic: 't', key: null, value: null }))
  assert.equal(producer.congested, true)
  let drained = false
  const wait = producer.drained().then(() => (drained = true))
  for (const release of waiting.splice(0, 49_999)) release()
  await new Promise((r) => setImmediate(r))
  assert.equal(drained, false, 'still 50,001 outstanding')
  waiting.shift()!()
  await wait
  assert.equal(producer.outstanding, 50_000)
  for (const release of waiting.splice(0)) release()
  await Promise.all(sends)
  assert.equal(producer.outstanding, 0)
})

test('a stream takes no event while the producer is congested', async () => {
  const app = new App('congested-stream', { webEnabled: false })
  const topic = app.topic('in', { valueType: Number, partitions: 1 })
  const seen: number[] = []
  let congested = false
  let release: () => void = () => {}
  Object.defineProperty(app.producer, 'congested', { get: () => congested })
  app.producer.drained = () => new Promise<void>((r) => (release = r))
  app.agent(topic, async (stream) => {
    for await (const n of stream) {
      seen.push(n)
      congested = n === 1 // as if handling the event sent more than the broker takes
    }
  }, { name: 'sink' })
  await app.start()
  try {
    await topic.send({ value: 1 })
    await waitFor(() => seen.length === 1)
    await topic.send({ value: 2 })
    await new Promise((r) => setTimeout(r, 200))
    assert.deepEqual(seen, [1], 'the second event waits for the producer')
    congested = false
    release()
    await waitFor(() => seen.length === 2)
    assert.deepEqual(seen, [1, 2])
  } finally {
    await app.stop()
  }
})

async function waitFor(done: () => boolean): Promise<void> {
  const until = Date.now() + 5000
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

test('a stream waiting for a congested producer stops with the app', async () => {
  const app = new App('congested-stop', { webEnabled: false, shutdownTimeout: 5 })
  const topic = app.topic('in', { valueType: Number, partitions: 1 })
  Object.defineProperty(app.producer, 'congested', { get: () => true })
  app.producer.drained = () => new Promise<void>(() => {}) // never drains
  const seen: number[] = []
  app.agent(topic, async (stream) => {
    for await (const n of stream) seen.push(n)
  }, { name: 'sink' })
  await app.start()
  await topic.send({ value: 1 })
  await new Promise((r) => setTimeout(r, 100))
  assert.deepEqual(seen, [], 'nothing taken while congested')
  const started = Date.now()
  await app.stop()
  assert.ok(Date.now() - started < 3000, `stopped in ${Date.now() - started} ms`)
  assert.equal(app.hungTasks.length, 0, `no task given up on: ${app.hungTasks.join(', ')}`)
})
