/**
 * table-wordcount: word-count updates per second (get + set + changelog send per event) with the
 * memory, lmdb and rocksdb stores, against the passthrough agent on the same topic in the same run
 * (the reference). 500,000 words by default (`--messages N`), 8 partitions, 10,000 distinct words,
 * keyed by word. Needs a broker (KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:9092).
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { App } from '../src/index.ts'
import { dropTopic } from './kafka-passthrough.ts'
import { arg, progress, round, waitUntil } from './_util.ts'

const PARTITIONS = 8
const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092'
const kafka = new Kafka({ clientId: 'bench', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING })

/** Words keyed by themselves; `timestampOf(i)` gives message i's timestamp (ms), else the broker's time. */
export async function fillWords(topic: string, messages: number, timestampOf?: (i: number) => number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  for (let sent = 0; sent < messages; sent += 10_000) {
    const n = Math.min(10_000, messages - sent)
    await producer.sendBatch({
      acks: 1,
      topicMessages: [{ topic, messages: Array.from({ length: n }, (_, i) => {
        const w = `word-${((sent + i) * 7919) % 10_000}`
        return { key: w, value: w, ...(timestampOf === undefined ? {} : { timestamp: String(timestampOf(sent + i)) }) }
      }) }],
    })
    if ((sent / 10_000) % 10 === 0) progress(`filling ${topic}: ${sent + n}/${messages}`)
  }
  await producer.disconnect()
}

async function runApp(topic: string, messages: number, store: string | undefined): Promise<number> {
  const id = `bench-wc-${randomUUID().slice(0, 8)}`
  const datadir = mkdtempSync(join(tmpdir(), 'bench-wc-'))
  const app = new App(id, { broker: `kafka://${bootstrap}`, topicPartitions: PARTITIONS, datadir, tableStandbyReplicas: 0, ...(store === undefined ? {} : { store }) })
  const words = app.topic(topic, { keyType: String, valueType: String, valueSerializer: 'raw' })
  const counts = store === undefined ? undefined : app.table<string, number>('counts', { default: () => 0, partitions: PARTITIONS })
  let count = 0
  let first = 0
  app.agent(
    words,
    async (stream) => {
      for await (const word of stream) {
        if (count === 0) first = performance.now()
        if (counts !== undefined) counts.set(word, counts.get(word) + 1)
        count += 1
      }
    },
    { name: 'count' },
  )
  await app.start()
  const label = store ?? 'passthrough'
  await waitUntil(() => count >= messages, () => `${label}: ${count}/${messages}`)
  const seconds = (performance.now() - first) / 1000
  await app.stop()
  await dropTopic(`${id}-counts-changelog`, [id])
  rmSync(datadir, { recursive: true, force: true })
  return messages / seconds
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const messages = arg(args, 'messages', 500_000)
  const stores = (process.env.BENCH_STORES ?? 'memory://,lmdb://,rocksdb://').split(',')
  const topic = `bench-words-${randomUUID().slice(0, 8)}`
  progress(`${messages} words (10,000 distinct), ${PARTITIONS} partitions, broker ${bootstrap}`)
  await fillWords(topic, messages)
  try {
    const reference = await runApp(topic, messages, undefined)
    progress(`passthrough agent: ${round(reference)} events/s`)
    const rates: Record<string, number> = {}
    for (const store of stores) {
      rates[store.replace('://', '')] = round(await runApp(topic, messages, store))
      progress(`word count on ${store}: ${rates[store.replace('://', '')]} updates/s`)
    }
    const ratios = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, round(v / reference, 3)]))
    return { messages, partitions: PARTITIONS, rates, rate: rates.memory, reference: round(reference), ratio: ratios.memory, ratios }
  } finally {
    await dropTopic(topic, [])
  }
}
