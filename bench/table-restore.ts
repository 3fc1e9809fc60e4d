/**
 * table-restore: how fast a worker restores a table from its changelog. A changelog of 1,000,000
 * distinct keys (`--keys N`) over 8 partitions, written as Faust writes it (JSON key and value);
 * then a worker with the table starts and the time until recovery finishes is measured (records/s
 * and MB/s). Reference: a raw kafkajs consumer reading the same changelog in the same run.
 * Stores: memory and lmdb (BENCH_STORES). Needs a broker.
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

async function fillChangelog(topic: string, keys: number): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  let bytes = 0
  for (let sent = 0; sent < keys; sent += 10_000) {
    const n = Math.min(10_000, keys - sent)
    const messages = Array.from({ length: n }, (_, i) => {
      const key = JSON.stringify(`key-${sent + i}`)
      const value = JSON.stringify({ count: sent + i, name: `value ${sent + i}`, pad: 'x'.repeat(40) })
      bytes += key.length + value.length
      return { key, value, partition: (sent + i) % PARTITIONS }
    })
    await producer.sendBatch({ acks: 1, topicMessages: [{ topic, messages }] })
    if ((sent / 10_000) % 20 === 0) progress(`filling ${topic}: ${sent + n}/${keys}`)
  }
  await producer.disconnect()
  return bytes
}

async function raw(topic: string, keys: number): Promise<number> {
  const groupId = `bench-restore-raw-${randomUUID().slice(0, 8)}`
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
  await waitUntil(() => count >= keys, () => `raw kafkajs consumer: ${count}/${keys}`)
  const seconds = (performance.now() - first) / 1000
  await consumer.disconnect()
  await dropTopic('', [groupId])
  return keys / seconds
}

async function restore(id: string, keys: number, store: string): Promise<number> {
  const datadir = mkdtempSync(join(tmpdir(), 'bench-restore-'))
  const app = new App(id, { broker: `kafka://${bootstrap}`, topicPartitions: PARTITIONS, store, datadir, tableStandbyReplicas: 0 })
  const table = app.table('state', { partitions: PARTITIONS })
  // One agent on a topic with the table's partition count, so the worker is assigned all 8 partitions.
  app.agent(undefined, async (stream) => {
    for await (const _ of stream);
  }, { name: 'idle' })
  const started = performance.now()
  await app.start()
  await waitUntil(
    () => app.tables.stats.finished > 0 && app.tables.ready && table.size >= keys,
    () => `restoring on ${store}: ${app.tables.stats.remaining} records left (${app.tables.stats.ratePerSecond}/s)`,
  )
  const seconds = (performance.now() - started) / 1000
  await app.stop()
  rmSync(datadir, { recursive: true, force: true })
  return keys / seconds
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const keys = arg(args, 'keys', 1_000_000)
  const stores = (process.env.BENCH_STORES ?? 'memory://,lmdb://').split(',')
  const id = `bench-restore-${randomUUID().slice(0, 8)}`
  const changelog = `${id}-state-changelog`
  progress(`a changelog of ${keys} keys over ${PARTITIONS} partitions, broker ${bootstrap}`)
  const bytes = await fillChangelog(changelog, keys)
  const mb = bytes / 1024 / 1024
  try {
    const reference = await raw(changelog, keys)
    progress(`raw kafkajs consumer over the changelog: ${round(reference)} records/s`)
    const rates: Record<string, number> = {}
    for (const store of stores) {
      const rate = await restore(id, keys, store)
      rates[store.replace('://', '')] = round(rate)
      progress(`restore into ${store}: ${round(rate)} records/s, ${round((rate / keys) * mb, 1)} MB/s`)
    }
    const memory = rates.memory ?? Object.values(rates)[0]!
    return {
      keys,
      megabytes: round(mb, 1),
      rates,
      megabytesPerSecond: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, round((v / keys) * mb, 1)])),
      rate: memory,
      reference: round(reference),
      ratio: round(memory / reference, 3),
    }
  } finally {
    await dropTopic(changelog, [id])
    await dropTopic(`${id}-idle`, [])
  }
}
