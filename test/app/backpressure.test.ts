import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { App, MemoryBroker, tp } from '../../src/index.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)

test('one million messages into a stalled agent: buffers and resident memory stay bounded', async (t) => {
  const url = `memory://backpressure-${Date.now()}`
  t.after(() => MemoryBroker.delete(url))
  const partitions = 4
  const maxsize = 4096
  const total = 1_000_000
  const app = new App('backpressure', { broker: url, streamBufferMaxsize: maxsize, brokerMaxPollRecords: 500 })
  const topic = app.topic('flood', { partitions, valueSerializer: 'raw' })
  let release!: () => void
  const stalled = new Promise<void>((r) => (release = r))
  let processed = 0
  app.agent(
    topic,
    async (stream) => {
      for await (const _ of stream) {
        if (processed === 0) await stalled
        processed += 1
      }
    },
    { name: 'stalled' },
  )

  // The log lives in this process (it is the memory broker), so fill it before measuring.
  const payload = Buffer.alloc(100, 'x')
  const broker = MemoryBroker.get(url)
  for (let i = 0; i < total; i++) broker.append({ topic: 'flood', partition: i % partitions, key: null, value: payload })
  gc()
  const before = process.memoryUsage().rss

  await app.start()
  t.after(() => app.stop())
  const samples: number[] = []
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 100))
    gc()
    samples.push(process.memoryUsage().rss)
  }
  const delivered = app.consumer.stats.delivered
  const buffered = app.conductor.buffered()
  const paused = app.consumer.pausedPartitions().length
  const growth = Math.max(...samples) - before
  console.log(
    `backpressure: ${total} messages waiting; delivered to faust-ts ${delivered}, buffered ${buffered}, ` +
      `paused partitions ${paused}/${partitions}; RSS before start ${mb(before)} MB, ` +
      `while stalled ${samples.map(mb).join('/')} MB (growth ${mb(growth)} MB)`,
  )
  // At most one full buffer plus the last fetch of each partition is ever taken from the broker.
  assert.ok(delivered <= maxsize + partitions * 500, `delivered ${delivered}`)
  assert.ok(buffered <= maxsize + partitions * 500, `buffered ${buffered}`)
  assert.equal(paused, partitions)
  // A million buffered events would cost hundreds of MB; the bounded buffer costs a few.
  assert.ok(growth < 64 * 1024 * 1024, `RSS grew ${mb(growth)} MB while stalled`)
  const last = samples[samples.length - 1]!
  assert.ok(last - samples[2]! < 16 * 1024 * 1024, `RSS kept growing: ${samples.map(mb).join('/')}`)

  release()
  const drainStarted = Date.now()
  const deadline = Date.now() + 120_000
  while (processed < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  assert.equal(processed, total)
  console.log(`backpressure: released; ${total} processed in ${Date.now() - drainStarted} ms`)
  await app.consumer.commit()
  const committed = MemoryBroker.get(url).group(app.id).committed
  let sum = 0
  for (let p = 0; p < partitions; p++) sum += committed.get(tp('flood', p)) ?? 0
  assert.equal(sum, total)
})
