import { resolveSettings } from '../../src/app/settings.ts'
import { KafkaTransport } from '../../src/transport/drivers/kafka.ts'
import { KafkaReader } from '../../src/transport/drivers/kafka-reader.ts'
import { silentLogger } from '../../src/types/logging.ts'
import { tp } from '../../src/utils/tp.ts'
import { brokerUrl, kafka, unique } from './_kafka.ts'
const transport = new KafkaTransport(brokerUrl, resolveSettings('x', { broker: brokerUrl }, {}), {})
const admin = kafka.admin(); await admin.connect()
const topic = unique('bench'); const partitions = Number(process.argv[2] ?? 4); const total = 1_000_000
await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] })
const p = kafka.producer(); await p.connect()
const value = Buffer.from('0123456789abcdef')
for (let s = 0; s < total; s += 10000) await p.send({ topic, messages: Array.from({ length: 10000 }, (_, i) => ({ partition: (s + i) % partitions, key: `k${(s+i)%1000}`, value })) })
async function reader() {
  let read = 0; let done!: () => void; const fin = new Promise<void>((r) => (done = r))
  const r = new KafkaReader(transport, { clientId: 'b', maxPartitionFetchBytes: 1 << 20, isolationLevel: 'read_uncommitted', log: silentLogger, onRecords: (_t, recs) => { read += recs.length; if (read >= total) done() } })
  const ac = new AbortController(); const t0 = performance.now()
  r.assign(new Map(Array.from({ length: partitions }, (_, i) => [tp(topic, i), 0])))
  const run = r.run(ac.signal); await fin; const ms = performance.now() - t0
  ac.abort(); await run; await r.close(); console.log('reader', Math.round(total / ms * 1000), 'rec/s', ms.toFixed(0))
}
async function group() {
  const c = kafka.consumer({ groupId: unique('g'), maxWaitTimeInMs: 200, maxBytesPerPartition: 1 << 20 })
  await c.connect(); await c.subscribe({ topic, fromBeginning: true })
  let n = 0; let done!: () => void; const fin = new Promise<void>((r) => (done = r)); let t0 = 0
  c.on(c.events.GROUP_JOIN, () => (t0 ||= performance.now()))
  const s = performance.now()
  await c.run({ eachBatch: async ({ batch }) => { n += batch.messages.length; if (n >= total) done() } })
  await fin; const e = performance.now(); await c.disconnect()
  console.log('group', Math.round(total / (e - s) * 1000), 'rec/s', (e - s).toFixed(0), 'join', (t0 - s).toFixed(0))
}
for (let i = 0; i < 3; i++) { await reader(); await group() }
await admin.deleteTopics({ topics: [topic] }); await p.disconnect(); await admin.disconnect()
