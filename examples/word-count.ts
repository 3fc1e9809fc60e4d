/**
 * Word count: Faust's word_count example re-created.
 *
 * `posts` carries sentences. `split` sends each word to the `words` topic keyed by the word, so
 * every occurrence of a word lands on the same partition; `count` keeps the counts in a table,
 * backed by the changelog topic `word-count-counts-changelog` (the table partition of a word is
 * the partition of its events).
 *
 *   npm run demo                                       # the app on the embedded broker, with a feeder;
 *                                                      # dashboard at http://localhost:6066/ (FAUST_WEB_PORT)
 *   npm run faust-ts -- worker examples/word-count.ts  # just the worker
 */
import { App, Worker } from '../src/index.ts'

export const app = new App('word-count')

export const posts = app.topic('posts', { valueType: String, valueSerializer: 'raw' })
export const words = app.topic('word-count-words', { keyType: String, valueType: String, valueSerializer: 'raw', partitions: 8 })

/** Counts per word: a table, restored from its changelog when a worker (re)starts. */
export const counts = app.table<string, number>('counts', { default: () => 0, partitions: 8, help: 'Occurrences per word' })

export const split = app.agent(
  posts,
  async (sentences) => {
    for await (const sentence of sentences) {
      for (const word of sentence.toLowerCase().split(/[^a-z']+/)) {
        if (word !== '') await words.send({ key: word, value: word })
      }
    }
  },
  { name: 'split', help: 'Split posts into words, keyed by word' },
)

export const count = app.agent(
  words,
  async (stream) => {
    for await (const word of stream) counts.set(word, counts.get(word) + 1)
  },
  { name: 'count', help: 'Count each word' },
)

const TEXT = [
  'the quick brown fox jumps over the lazy dog',
  'a stream processor for typescript with agents and tables',
  'every word is counted on the partition of its key',
  'kafka is the engine and faust is the library',
  'the lazy dog sleeps while the quick fox runs',
]

/** `--demo`: run a worker, feed it sentences and print the top words every second. */
async function demo(): Promise<void> {
  let sent = 0
  app.timer(0.1, async () => {
    for (let i = 0; i < 5; i++) await posts.send({ value: TEXT[sent++ % TEXT.length]! })
  })
  app.timer(1, () => {
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6)
    let total = 0
    for (const n of counts.values()) total += n
    console.log(`[word-count] ${sent} posts, ${total} words counted; top: ${top.map(([w, n]) => `${w}=${n}`).join(' ')}`)
  })
  app.task(() => {
    if (app.serveWeb) console.log(`[word-count] dashboard at http://localhost:${app.web.port}/ (also /stats, /metrics, /table/counts/the)`)
  })
  const seconds = Number(process.env.DEMO_SECONDS ?? 0)
  if (seconds > 0) setTimeout(() => process.kill(process.pid, 'SIGTERM'), seconds * 1000)
  const worker = new Worker(app, { loglevel: 'warn' })
  process.exitCode = await worker.run()
}

if (process.argv.includes('--demo')) await demo()
