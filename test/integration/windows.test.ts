/**
 * Windowed tables on the real broker: windows survive a worker restart and still close on time;
 * Python Faust and faust-ts read each other's windowed changelogs, byte for byte the same keys.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { App, type WindowRange } from '../../src/index.ts'
import { bootstrap, brokerUrl, eventually, kafka, testAdmin, unique } from './_kafka.ts'
import { pythonPath } from './_python.ts'

async function produce(topic: string, messages: Array<{ key: string; timestamp?: number }>) {
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({
    topic,
    messages: messages.map((m) => ({ key: m.key, value: m.key, timestamp: m.timestamp === undefined ? undefined : String(m.timestamp) })),
  })
  await producer.disconnect()
}

/** Every record of a topic (all partitions, from the start), read with a plain kafkajs consumer. */
async function readAll(topic: string, admin: { fetchTopicOffsets(t: string): Promise<Array<{ partition: number; high: string }>> }) {
  const ends = await admin.fetchTopicOffsets(topic)
  const total = ends.reduce((n, p) => n + Number(p.high), 0)
  const out: Array<{ key: string; value: string | null; partition: number; offset: number; timestamp: number; headers: string[] }> = []
  if (total === 0) return out
  const consumer = kafka.consumer({ groupId: unique('windows-reader') })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      out.push({
        key: message.key?.toString() ?? '',
        value: message.value === null ? null : message.value.toString(),
        partition,
        offset: Number(message.offset),
        timestamp: Number(message.timestamp),
        headers: Object.keys(message.headers ?? {}),
      })
    },
  })
  await eventually(() => out.length >= total, `${total} records of ${topic}`, 30_000)
  await consumer.disconnect()
  return out
}

test('windows survive a worker restart and close when they would have without one', async (t) => {
  const k = await testAdmin(t)
  const id = unique('windows-restart')
  const pages = await k.topic(unique('wr-pages'), 4)
  k.cleanupTopic(`${id}-views-changelog`)
  k.cleanupTopic(`${id}-__assignor-__leader`)
  k.cleanupGroup(id)
  const SIZE = 10
  const GRACE = 2
  const build = (closed: Array<{ key: string; value: number; window: WindowRange; at: number }>) => {
    const app = new App(id, { broker: brokerUrl, topicPartitions: 4, brokerCommitInterval: 0.2, tableCleanupInterval: 0.2 })
    const views = app.table<string, number>('views', { default: () => 0, partitions: 4 }).tumbling(SIZE, {
      grace: GRACE,
      onWindowClose: (key, value, window) => {
        closed.push({ key, value, window, at: Date.now() })
      },
    })
    let seen = 0
    app.agent(app.topic(pages, { keyType: String, valueType: String, valueSerializer: 'raw' }), async (stream) => {
      for await (const page of stream) {
        views.update(page, (n) => n + 1)
        seen += 1
      }
    }, { name: 'count' })
    return { app, views, seen: () => seen }
  }

  // Start just after a window begins, so the restart happens well inside it.
  const first = build([])
  k.stopLater(first.app)
  await first.app.start()
  const sizeMs = SIZE * 1000
  const wait = (sizeMs - (Date.now() % sizeMs) + 200) % sizeMs
  if (Date.now() % sizeMs > 2000) await new Promise((r) => setTimeout(r, wait))
  const windowStart = Math.floor(Date.now() / sizeMs) * sizeMs
  await produce(pages, [{ key: 'home' }, { key: 'home' }, { key: 'about' }])
  await eventually(() => first.seen() === 3, 'the first worker counted')
  assert.equal(first.views.valueAt('home', windowStart / 1000 + 1), 2)
  await first.app.stop()

  const closed: Array<{ key: string; value: number; window: WindowRange; at: number }> = []
  const second = build(closed)
  k.stopLater(second.app)
  await second.app.start()
  await eventually(() => second.app.tables.ready && second.views.windows().length === 1, 'the second worker restored the window')
  const restoredAt = Date.now()
  const due = windowStart + (SIZE + GRACE) * 1000
  assert.ok(restoredAt < due - 500, `restored before the window was due (${due - restoredAt} ms left)`)
  assert.equal(closed.length, 0)
  await eventually(() => closed.length === 2, 'the restored window closed', 30_000)
  const firedAt = Math.max(...closed.map((c) => c.at))
  console.log(`windows restart: restored ${due - restoredAt} ms before the window was due; fired ${firedAt - due} ms after it was due`)
  assert.ok(Math.min(...closed.map((c) => c.at)) >= due - 300, 'not early')
  assert.ok(firedAt <= due + 1500, `on time: ${firedAt - due} ms late`)
  assert.deepEqual(closed.map((c) => `${c.key}=${c.value}`).sort(), ['about=1', 'home=2'])
  assert.deepEqual(closed[0]!.window, [windowStart / 1000, windowStart / 1000 + SIZE - 0.1])
  await eventually(() => second.views.windows().length === 0, 'removed from the store')
  await second.app.stop()

  const changelog = await readAll(`${id}-views-changelog`, k.admin)
  const last = new Map<string, string | null>()
  for (const r of changelog.sort((a, b) => a.offset - b.offset)) last.set(r.key, r.value)
  assert.deepEqual([...last.values()], [null, null], 'both windows tombstoned in the changelog')
  assert.ok(changelog.every((r) => r.headers.includes('faust-ts-written-at')))
})

test('windowed changelogs are shared: Python Faust recovers faust-ts windows, faust-ts recovers Python windows, same key bytes', async (t) => {
  pythonPath()
  const k = await testAdmin(t)
  const id = unique('windows-interop')
  const pages = await k.topic(unique('wi-pages'), 4)
  k.cleanupTopic(`${id}-views-changelog`)
  k.cleanupTopic(`${id}-__assignor-__leader`)
  k.cleanupGroup(id)
  // Ten minutes ago (Faust expires windows by the wall clock: keep them inside its hour).
  const T0 = Math.floor(Date.now() / 10_000) * 10 - 600
  const at = (s: number) => (T0 + s) * 1000

  // 1. faust-ts counts.
  const first = new App(id, { broker: brokerUrl, topicPartitions: 4, brokerCommitInterval: 0.2 })
  const views = first.table<string, number>('views', { default: () => 0, partitions: 4 }).tumbling(10, { expires: 3600 })
  let seen = 0
  first.agent(first.topic(pages, { keyType: String, valueType: String, valueSerializer: 'raw' }), async (stream) => {
    for await (const page of stream) {
      views.update(page, (n) => n + 1)
      seen += 1
    }
  }, { name: 'count' })
  k.stopLater(first)
  await first.start()
  await produce(pages, [
    { key: 'home', timestamp: at(1) },
    { key: 'home', timestamp: at(2) },
    { key: 'about', timestamp: at(5) },
    { key: 'home', timestamp: at(12) },
  ])
  await eventually(() => seen === 4, 'faust-ts counted')
  await first.stop()
  const ours = await readAll(`${id}-views-changelog`, k.admin)
  const w0 = `[${T0}.0,${T0 + 9.9}]`
  const w1 = `[${T0 + 10}.0,${T0 + 19.9}]`
  assert.deepEqual(ours.map((r) => `${r.key}=${r.value}`).sort(), [`["about",${w0}]=1`, `["home",${w0}]=2`, `["home",${w1}]=1`])

  // 2. Python Faust recovers them, and counts more.
  const dir = mkdtempSync(join(tmpdir(), 'faust-windows-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'windows.jsonl')
  const latest = (): Array<[string, number, number, number]> | undefined => {
    try {
      const lines = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean)
      return (JSON.parse(lines[lines.length - 1]!) as { windows: Array<[string, number, number, number]> }).windows
    } catch {
      return undefined
    }
  }
  const rows = () => (latest() ?? []).map(([key, start, end, n]) => `${key} ${start - T0}..${(end - T0).toFixed(1)}=${n}`).sort()
  const python = spawn(pythonPath(), ['-m', 'faust', '-A', 'faust_windows', 'worker', '-l', 'warn'], {
    cwd: 'test/interop/python',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', KAFKA_BOOTSTRAP_SERVERS: bootstrap, FAUST_APP_ID: id, FAUST_IN_TOPIC: pages, FAUST_OUT_FILE: out, FAUST_PARTITIONS: '4' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  python.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => python.on('exit', resolve))
  k.stopLater({ stop: async () => void (python.kill('SIGTERM'), await exited) })
  await eventually(() => rows().length === 3, `Python Faust to recover the faust-ts windows\n${stderr.slice(-1500)}`, 90_000)
  assert.deepEqual(rows(), ['about 0..9.9=1', 'home 0..9.9=2', 'home 10..19.9=1'])
  await produce(pages, [
    { key: 'home', timestamp: at(3) },
    { key: 'contact', timestamp: at(15) },
  ])
  await eventually(() => rows().includes('home 0..9.9=3') && rows().includes('contact 10..19.9=1'), 'Python counted on')
  python.kill('SIGTERM')
  assert.equal(await exited, 0)

  const all = await readAll(`${id}-views-changelog`, k.admin)
  const theirs = all.filter((r) => !r.headers.includes('faust-ts-written-at'))
  assert.deepEqual(theirs.map((r) => `${r.key}=${r.value}`).sort(), [`["contact",${w1}]=1`, `["home",${w0}]=3`], 'Python wrote these')
  assert.equal(new Set(all.map((r) => r.key)).size, 4, "Python's key for home's first window is byte for byte ours (else there would be 5 keys)")

  // 3. faust-ts recovers what Python wrote.
  const second = new App(id, { broker: brokerUrl, topicPartitions: 4 })
  const restored = second.table<string, number>('views', { default: () => 0, partitions: 4 }).tumbling(10, { expires: 3600 })
  second.agent(second.topic(pages, { keyType: String, valueType: String, valueSerializer: 'raw' }), async (stream) => {
    for await (const _ of stream);
  }, { name: 'count' })
  k.stopLater(second)
  await second.start()
  await eventually(() => second.tables.ready && restored.windows().reduce((n, w) => n + w.keys, 0) === 4, 'faust-ts recovered')
  assert.deepEqual(
    restored.windows().map((w) => [w.start - T0, w.keys]),
    [[0, 2], [10, 2]],
  )
  assert.equal(restored.valueAt('home', T0 + 1), 3)
  assert.equal(restored.valueAt('about', T0 + 1), 1)
  assert.equal(restored.valueAt('home', T0 + 11), 1)
  assert.equal(restored.valueAt('contact', T0 + 11), 1)
})
