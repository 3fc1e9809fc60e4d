/**
 * The dashboard in a real browser, on the real broker: one word-count worker, 2,000 words over
 * 50 distinct keys on a 4-partition topic; once the worker has counted and committed them all
 * (and its monitor has read fresh end offsets), headless Chromium opens `GET /` and the numbers
 * it shows (events, messages, the agent's events, the table's keys, every partition's committed
 * offset and lag) must be those of `/stats`; the worker shows as ready, the throughput chart has
 * drawn the burst, the router shows the 4 table partitions active here. A full-page screenshot
 * goes to test-artifacts/dashboard.png.
 *
 * Needs Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`; `.ci/run` installs it),
 * or CHROMIUM_PATH; fails without it rather than pass untested.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { chromium, type Page } from 'playwright-core'
import { keyPartition } from '../../src/utils/murmur2.ts'
import { brokerUrl, eventually, kafka, startProcess, testAdmin, unique } from './_kafka.ts'

const PARTITIONS = 4
const WORDS = 2000
const DISTINCT = 50
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts')

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies read field by field
type Json = Record<string, any>

async function stats(url: string): Promise<Json> {
  const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) })
  assert.equal(res.status, 200)
  return (await res.json()) as Json
}

/** Every `data-testid` element's text, and the render count, read in one go (one render). */
async function readPage(page: Page): Promise<Record<string, string>> {
  return page.evaluate<Record<string, string>>(`(() => {
    const out = { updated: document.body.dataset.updated ?? '' }
    for (const el of document.querySelectorAll('[data-testid]')) out[el.dataset.testid] = (el.textContent ?? '').trim()
    return out
  })()`)
}

/** What the page must show for a `/stats` snapshot. */
function expected(s: Json): Record<string, string> {
  const out: Record<string, string> = {
    'events-total': String(s.events.total),
    'messages-received': String(s.messages.received),
    'messages-sent': String(s.messages.sent),
    'lag-total': String((s.partitions as Json[]).reduce((n, p) => n + (p.lag as number), 0)),
    'agent-count-events': String(s.events.byStream.count.total),
    'table-counts-keys': String((s.tables as Json[]).find((t) => t.name === 'counts')!.keys),
    'worker-state': s.worker.ready === true ? 'ready' : 'recovering',
  }
  for (const p of s.partitions as Json[]) {
    out[`partition-${p.topic}-${p.partition}-committed`] = String(p.committed)
    out[`partition-${p.topic}-${p.partition}-lag`] = String(p.lag)
  }
  return out
}

function pick(from: Record<string, string>, keys: string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((k) => [k, from[k]]))
}

test('dashboard: headless Chromium shows the numbers of /stats for a word-count worker', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`)
  const k = await testAdmin(t)
  const id = unique('dash')
  const words = await k.topic(unique('dash-words'), PARTITIONS)
  k.cleanupTopic(`${id}-counts-changelog`)
  k.cleanupGroup(id)
  const worker = startProcess('test/fixtures/table-worker.ts', { APP_ID: id, BROKER_URL: brokerUrl, WORDS_TOPIC: words, PARTITIONS: String(PARTITIONS), QUIET: '1' })
  // Stopped before the topics are deleted: SIGTERM, then SIGKILL if it has not exited in 15 s.
  k.stopLater({
    stop: async () => {
      worker.kill('SIGTERM')
      const timer = setTimeout(() => worker.kill('SIGKILL'), 15_000)
      await worker.exited
      clearTimeout(timer)
    },
  })
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.after(() => browser.close())

  await worker.waitFor(/WEB \S+/)
  await worker.waitFor(/READY/)
  const url = /WEB (\S+)/.exec(worker.stderr())![1]!

  // 2,000 words, 40 of each of 50, keyed by the word.
  const perPartition = new Map<number, number>()
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (let i = 0; i < WORDS; i += 500) {
      const messages = Array.from({ length: 500 }, (_, j) => `word${(i + j) % DISTINCT}`).map((w) => ({ key: w, value: w }))
      for (const m of messages) {
        const p = keyPartition(Buffer.from(m.key), PARTITIONS)
        perPartition.set(p, (perPartition.get(p) ?? 0) + 1)
      }
      await producer.send({ topic: words, messages })
    }
  } finally {
    await producer.disconnect()
  }

  await eventually(async () => (await stats(url)).events.total === WORDS, `/stats events.total = ${WORDS}`, 30_000)
  // Everything committed and fresh end offsets read (they refresh every 5 s): lag 0 everywhere.
  await eventually(async () => {
    const s = await stats(url)
    const parts = s.partitions as Json[]
    return parts.length === PARTITIONS && parts.every((p) => p.lag === 0 && p.committed === p.end) && parts.reduce((n, p) => n + (p.end as number), 0) === WORDS
  }, 'every partition committed to its end offset, lag 0', 30_000)

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(String(err)))
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text())
  })
  const res = await page.goto(url, { waitUntil: 'load' })
  assert.equal(res?.status(), 200)
  assert.match(res.headers()['content-type'] ?? '', /text\/html/)
  await page.waitForFunction('Number(document.body.dataset.updated) >= 2', undefined, { timeout: 15_000 })

  // Poll until a render and the /stats fetched right after it agree (or time out), then assert.
  let shown: Record<string, string> = {}
  let want: Record<string, string> = {}
  const deadline = Date.now() + 15_000
  while (true) {
    shown = await readPage(page)
    want = expected(await stats(url))
    if (Object.keys(want).every((key) => shown[key] === want[key]) || Date.now() > deadline) break
    await new Promise((r) => setTimeout(r, 250))
  }
  const keys = Object.keys(want)
  assert.deepEqual(pick(shown, keys), want, 'the page shows what /stats says')
  for (const key of keys.filter((k) => k !== 'worker-state')) assert.ok(Number.isInteger(Number(shown[key])), `${key} is a raw integer: ${shown[key]}`)

  // And what /stats says is what was sent.
  assert.equal(want['events-total'], String(WORDS))
  assert.equal(want['messages-received'], String(WORDS))
  assert.equal(want['agent-count-events'], String(WORDS))
  assert.equal(want['table-counts-keys'], String(DISTINCT))
  assert.equal(want['lag-total'], '0')
  for (let p = 0; p < PARTITIONS; p++) {
    assert.equal(shown[`partition-${words}-${p}-committed`], String(perPartition.get(p) ?? 0), `partition ${p} committed`)
    assert.equal(shown[`partition-${words}-${p}-lag`], '0', `partition ${p} lag`)
  }

  // Ready, and connected.
  assert.equal(shown['worker-state'], 'ready')
  assert.equal(await page.getAttribute('[data-testid="worker-state"]', 'data-state'), 'ready')
  assert.equal(await page.getAttribute('[data-testid="connection"]', 'data-connected'), 'true')
  assert.equal(shown['recovery-ready'], 'ready')
  assert.equal(shown['worker-url'], url)

  // The chart drew the burst: an events line with points, not all at the same height.
  const d = (await page.getAttribute('[data-testid="chart"] path.series[data-series="events"]', 'd')) ?? ''
  assert.match(d, /^M[\d.]+ [\d.]+L/, 'the events line has at least two points')
  const ys = [...d.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]))
  assert.ok(new Set(ys).size > 1, `the events line rises somewhere (the ${WORDS}-word burst): ${d.slice(0, 200)}`)

  // The router (polled every 5 s, and once at load): the 4 table partitions active on this worker.
  await page.waitForSelector(`[data-testid="router-counts-${PARTITIONS - 1}-active"]`, { timeout: 10_000 })
  for (let p = 0; p < PARTITIONS; p++) assert.equal(await page.locator(`[data-testid="router-counts-${p}-active"]`).count(), 1, `router: counts partition ${p} active here`)

  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
  assert.deepEqual(pageErrors, [], 'no errors in the page')
})
