/**
 * kafka-produce: 1,000,000 messages of 100 bytes to an 8-partition topic, acks=all: the raw
 * kafkajs producer (sendBatch of 10,000 messages at a time) against faust-ts `topic.send()` called
 * once per message (the driver batches what is sent in the same tick). Needs a broker.
 *
 * The faust-ts driver is imported first: it replaces kafkajs' quadratic per-partition grouping with
 * a linear one when it loads kafkajs, so the raw reference below runs on the same (faster) kafkajs.
 */
import '../src/transport/drivers/kafka.ts'
import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { App } from '../src/index.ts'
import { dropTopic } from './kafka-passthrough.ts'
import { arg, progress, round } from './_util.ts'

const PARTITIONS = 8
const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092'
const kafka = new Kafka({ clientId: 'bench', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING })

async function createTopic(topic: string): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] })
  await admin.disconnect()
}

async function raw(topic: string, messages: number): Promise<number> {
  const producer = kafka.producer()
  await producer.connect()
  const value = Buffer.alloc(100, 'v')
  const batch = 10_000
  const started = performance.now()
  for (let sent = 0; sent < messages; sent += batch) {
    const n = Math.min(batch, messages - sent)
    await producer.sendBatch({
      acks: -1,
      topicMessages: [{ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${sent + i}`, value })) }],
    })
  }
  const seconds = (performance.now() - started) / 1000
  await producer.disconnect()
  return messages / seconds
}

async function faust(topic: string, messages: number): Promise<number> {
  const app = new App(`bench-produce-${randomUUID().slice(0, 8)}`, { broker: `kafka://${bootstrap}` })
  const target = app.topic(topic, { keyType: String, valueSerializer: 'raw' })
  await app.start()
  const value = Buffer.alloc(100, 'v')
  const window = 20_000
  const started = performance.now()
  let pending: Array<Promise<unknown>> = []
  for (let i = 0; i < messages; i++) {
    pending.push(target.send({ key: `k${i}`, value }))
    if (pending.length >= window) {
      await Promise.all(pending)
      pending = []
      if (i % 200_000 < window) progress(`faust-ts topic.send: ${i + 1}/${messages}`)
    }
  }
  await Promise.all(pending)
  const seconds = (performance.now() - started) / 1000
  await app.stop()
  return messages / seconds
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const messages = arg(args, 'messages', 1_000_000)
  const rawTopic = `bench-produce-raw-${randomUUID().slice(0, 8)}`
  const faustTopic = `bench-produce-faust-${randomUUID().slice(0, 8)}`
  progress(`${messages} keyed messages of 100 bytes, ${PARTITIONS} partitions, acks=all, broker ${bootstrap}`)
  await createTopic(rawTopic)
  await createTopic(faustTopic)
  try {
    const reference = await raw(rawTopic, messages)
    progress(`raw kafkajs producer (sendBatch 10000): ${round(reference)} msg/s`)
    const rate = await faust(faustTopic, messages)
    progress(`faust-ts topic.send: ${round(rate)} msg/s`)
    return { messages, partitions: PARTITIONS, rate: round(rate), reference: round(reference), ratio: round(rate / reference, 3) }
  } finally {
    await dropTopic(rawTopic, [])
    await dropTopic(faustTopic, [])
  }
}
