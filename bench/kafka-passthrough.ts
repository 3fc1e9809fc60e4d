/**
 * kafka-passthrough: on one topic in one run (1,000,000 messages of 100 bytes, 8 partitions), the
 * raw kafkajs consumer's rate (eachBatch, committing as it goes, kafkajs' default fetch sizes) against
 * a faust-ts worker with a passthrough agent (committing every brokerCommitInterval / brokerCommitEvery,
 * faust-ts defaults). Both wait at most 200 ms per fetch. Both rates are timed from the first message
 * received to the last, so start-up and the group join are left out of both. `BENCH_SETTINGS='{"...": ...}'` overrides
 * app settings. Needs a broker: KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092; `npm run kafka -- start`).
 */
import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { App } from '../src/index.ts'
import { arg, progress, round, waitUntil } from './_util.ts'

const PARTITIONS = 8
const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092'
const kafka = new Kafka({ clientId: 'bench', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING })

export async function fill(topic: string, messages: number, partitions = PARTITIONS): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  const value = Buffer.alloc(100, 'v')
  const batch = 10_000
  for (let sent = 0; sent < messages; sent += batch) {
    const n = Math.min(batch, messages - sent)
    await producer.sendBatch({
      acks: 1,
      topicMessages: [{ topic, messages: Array.from({ length: n }, (_, i) => ({ value, partition: (sent + i) % partitions })) }],
    })
    if ((sent / batch) % 20 === 0) progress(`filling ${topic}: ${sent + n}/${messages}`)
  }
  await producer.disconnect()
}

export async function dropTopic(topic: string, groups: string[]): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.deleteGroups(groups).catch(() => {})
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.disconnect()
}

async function raw(topic: string, messages: number): Promise<number> {
  const groupId = `bench-raw-${randomUUID().slice(0, 8)}`
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let count = 0
  let first = 0
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (count === 0) first = performance.now()
      count += batch.messages.length
    },
  })
  await waitUntil(() => count >= messages, () => `raw kafkajs consumer: ${count}/${messages}`)
  const seconds = (performance.now() - first) / 1000
  await consumer.disconnect()
  await dropTopic('', [groupId])
  return messages / seconds
}

async function faust(topic: string, messages: number): Promise<number> {
  const id = `bench-faust-${randomUUID().slice(0, 8)}`
  const app = new App(id, { broker: `kafka://${bootstrap}`, topicPartitions: PARTITIONS, ...JSON.parse(process.env.BENCH_SETTINGS ?? '{}') })
  const source = app.topic(topic, { valueSerializer: 'raw' })
  let count = 0
  let first = 0
  app.agent(
    source,
    async (stream) => {
      for await (const _ of stream) {
        if (count === 0) first = performance.now()
        count += 1
      }
    },
    { name: 'passthrough' },
  )
  await app.start()
  await waitUntil(() => count >= messages, () => `faust-ts passthrough agent: ${count}/${messages}`)
  const seconds = (performance.now() - first) / 1000
  await app.stop()
  progress(`faust-ts committed ${app.consumer.stats.commits} times`)
  await dropTopic('', [id])
  return messages / seconds
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const messages = arg(args, 'messages', 1_000_000)
  const topic = `bench-passthrough-${randomUUID().slice(0, 8)}`
  progress(`${messages} messages of 100 bytes, ${PARTITIONS} partitions, broker ${bootstrap}`)
  await fill(topic, messages)
  try {
    const reference = await raw(topic, messages)
    progress(`raw kafkajs consumer: ${round(reference)} msg/s`)
    const rate = await faust(topic, messages)
    progress(`faust-ts passthrough agent: ${round(rate)} msg/s`)
    return { messages, partitions: PARTITIONS, rate: round(rate), reference: round(reference), ratio: round(rate / reference, 3) }
  } finally {
    await dropTopic(topic, [])
  }
}
