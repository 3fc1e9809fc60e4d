/**
 * windowed: windowed-table updates per second with hopping windows (size 60 s, step 10 s: each
 * event updates 6 windows), against the plain table count on the same topic in the same run (the
 * reference). 500,000 words by default (`--messages N`), 10,000 distinct, 8 partitions, memory
 * store. The events' timestamps span `--minutes` of event time (2 by default: every key is in every window, as with hot keys; `--minutes 10` makes nearly every window update a new key), so windows also
 * close and expire (grace 10 s, expires 60 s) while the benchmark runs: the figure includes the
 * index, the closing heap and the tombstones. Needs a broker (KAFKA_BOOTSTRAP_SERVERS).
 */
import { randomUUID } from 'node:crypto'
// First: the driver replaces kafkajs's quadratic per-partition grouping, which only works before
// anything else loads kafkajs (the helpers below do), as in a worker.
import '../src/transport/drivers/kafka.ts'
import { App } from '../src/index.ts'
import { dropTopic } from './kafka-passthrough.ts'
import { fillWords } from './table-wordcount.ts'
import { arg, progress, round, waitUntil } from './_util.ts'

const PARTITIONS = 8
const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092'

async function runApp(topic: string, messages: number, windowed: boolean): Promise<{ rate: number; closed: number; expired: number }> {
  const id = `bench-win-${randomUUID().slice(0, 8)}`
  const app = new App(id, { broker: `kafka://${bootstrap}`, topicPartitions: PARTITIONS, tableStandbyReplicas: 0, webEnabled: false })
  const words = app.topic(topic, { keyType: String, valueType: String, valueSerializer: 'raw' })
  const table = app.table<string, number>('counts', { default: () => 0, partitions: PARTITIONS })
  const view = windowed ? table.hopping(60, 10, { grace: 10, expires: 60 }) : undefined
  let count = 0
  let first = 0
  app.agent(
    words,
    async (stream) => {
      for await (const word of stream) {
        if (count === 0) first = performance.now()
        if (view !== undefined) view.update(word, (n) => n + 1)
        else table.set(word, table.get(word) + 1)
        count += 1
      }
    },
    { name: 'count' },
  )
  await app.start()
  const label = windowed ? 'hopping 60s/10s' : 'plain table'
  await waitUntil(() => count >= messages, () => `${label}: ${count}/${messages}`)
  const seconds = (performance.now() - first) / 1000
  const stats = view?.stats
  await app.stop()
  await dropTopic(`${id}-counts-changelog`, [id])
  return { rate: messages / seconds, closed: stats?.closed ?? 0, expired: stats?.expired ?? 0 }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const messages = arg(args, 'messages', 500_000)
  const minutes = arg(args, 'minutes', 2)
  const topic = `bench-win-words-${randomUUID().slice(0, 8)}`
  const base = Date.now() - minutes * 60_000
  progress(`${messages} words (10,000 distinct) over ${minutes} min of event time, ${PARTITIONS} partitions, broker ${bootstrap}`)
  await fillWords(topic, messages, (i) => base + Math.floor((i * minutes * 60_000) / messages))
  try {
    const plain = await runApp(topic, messages, false)
    progress(`plain table count: ${round(plain.rate)} updates/s`)
    const win = await runApp(topic, messages, true)
    progress(`hopping 60s/10s: ${round(win.rate)} events/s (${round(win.rate * 6)} window updates/s), ${win.closed} window values closed, ${win.expired} expired`)
    return {
      messages,
      partitions: PARTITIONS,
      rate: round(win.rate),
      windowUpdates: round(win.rate * 6),
      closed: win.closed,
      expired: win.expired,
      reference: round(plain.rate),
      ratio: round(win.rate / plain.rate, 3),
    }
  } finally {
    await dropTopic(topic, [])
  }
}
