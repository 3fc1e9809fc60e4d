/** The web server, Monitor, sensors and Prometheus metrics, in-process on the memory:// broker. */
import assert from 'node:assert/strict'
import { test } from 'node:test'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies read field by field
type Json = Record<string, any>
import { response } from '../../src/web/web.ts'
import type { SensorT } from '../../src/types/sensors.ts'
import { newApp, waitFor } from './helpers.ts'

function wordCount(t: Parameters<typeof newApp>[0], settings = {}) {
  const { app } = newApp(t, { webPort: 0, webHost: '127.0.0.1', webBind: '127.0.0.1', topicPartitions: 4, ...settings })
  app.serveWeb = true
  const words = app.topic('words', { keyType: String, valueType: String, partitions: 4 })
  const counts = app.table<string, number>('counts', { default: () => 0, partitions: 4 })
  app.agent(words, async (stream) => {
    for await (const w of stream) counts.set(w, counts.get(w) + 1)
  }, { name: 'count' })
  return { app, words, counts }
}

async function get(app: { canonicalUrl: string }, path: string) {
  const res = await fetch(app.canonicalUrl + path)
  const text = await res.text()
  const type = res.headers.get('content-type') ?? ''
  return { status: res.status, headers: res.headers, text, json: type.includes('json') ? (JSON.parse(text) as Json) : undefined }
}

test('/stats counts exactly the events sent; tables, agents, partitions and offsets are there', async (t) => {
  const { app, words } = wordCount(t)
  await app.start()
  const sent = ['a', 'b', 'a', 'c', 'a', 'b', 'd', 'e', 'a', 'f']
  for (const w of sent) await words.send({ key: w, value: w })
  await waitFor(() => app.monitor.eventsTotal === sent.length, 'events counted')
  await app.consumer.commit()
  await app.monitor.refreshEndOffsets()
  const { status, json } = await get(app, '/stats')
  assert.equal(status, 200)
  const s = json!
  assert.equal(s.messages.received, 10)
  assert.equal(s.messages.byTopic.words.received, 10)
  assert.equal(s.events.total, 10)
  assert.equal(s.events.active, 0)
  assert.equal(s.events.byStream.count.total, 10)
  assert.equal(s.messages.active, 0)
  assert.deepEqual(s.agents.map((a: { name: string }) => a.name), ['count'])
  const table = s.tables.find((x: { name: string }) => x.name === 'counts')
  assert.equal(table.keys, 6, 'six distinct words')
  assert.equal(table.reads, 10)
  assert.equal(table.writes, 10)
  const words4 = s.partitions.filter((p: { topic: string }) => p.topic === 'words')
  assert.equal(words4.length, 4)
  assert.equal(words4.reduce((n: number, p: { end: number }) => n + p.end, 0), 10, 'end offsets add up to the messages sent')
  assert.equal(words4.reduce((n: number, p: { committed: number }) => n + p.committed, 0), 10, 'everything committed')
  assert.ok(words4.every((p: { lag: number }) => p.lag === 0))
  assert.equal(s.worker.ready, true)
  assert.ok(s.commits.total >= 1)
  assert.ok(s.history.length >= 1)
})

test('/metrics is Prometheus text with the documented names and the real numbers', async (t) => {
  const { app, words } = wordCount(t)
  await app.start()
  for (const w of ['x', 'y', 'x']) await words.send({ key: w, value: w })
  await waitFor(() => app.monitor.eventsTotal === 3, 'events counted')
  const { status, headers, text } = await get(app, '/metrics')
  assert.equal(status, 200)
  assert.match(headers.get('content-type') ?? '', /text\/plain/)
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line)
    assert.ok(m, `a valid sample line: ${line}`)
    samples.set(m[1]! + (m[2] ?? ''), Number(m[3]))
  }
  const appLabel = `app="${app.id}"`
  assert.equal(samples.get(`faust_events_total{${appLabel}}`), 3)
  assert.equal(samples.get(`faust_messages_received_by_topic_total{topic="words",${appLabel}}`), 3)
  assert.equal(samples.get(`faust_table_keys_updated_total{table="counts",${appLabel}}`), 3)
  assert.equal(samples.get(`faust_table_keys{table="counts",${appLabel}}`), 2)
  assert.equal(samples.get(`faust_ready{${appLabel}}`), 1)
  assert.ok([...samples.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total')), 'Node process metrics')
})

test('/health is ready after start; /table, /table/<key>, /router answer from this worker', async (t) => {
  const { app, words } = wordCount(t)
  await app.start()
  for (const w of ['k1', 'k2', 'k1']) await words.send({ key: w, value: w })
  await waitFor(() => app.monitor.eventsTotal === 3, 'events counted')
  const health = await get(app, '/health')
  assert.equal(health.status, 200)
  assert.deepEqual(health.json, { live: true, ready: true, status: 'ready' })
  const one = await get(app, '/table/counts/k1')
  assert.equal(one.status, 200)
  assert.equal(one.json!.value, 2)
  assert.equal(one.json!.role, 'active')
  assert.equal(one.headers.get('x-faust-ts-worker'), app.canonicalUrl)
  const missing = await get(app, '/table/counts/nope')
  assert.equal(missing.status, 404)
  assert.equal(missing.json!.error.code, 'FAUST_ERR_NOT_FOUND')
  const noTable = await get(app, '/table/nope/k1')
  assert.equal(noTable.status, 404)
  assert.equal(noTable.json!.error.code, 'FAUST_ERR_NOT_FOUND')
  const all = await get(app, '/table/counts')
  assert.equal(all.json!.keys, 2)
  assert.deepEqual(Object.fromEntries(all.json!.items), { k1: 2, k2: 1 })
  const router = await get(app, '/router')
  assert.equal(router.json!.self, app.canonicalUrl)
  for (let p = 0; p < 4; p++) assert.equal(router.json!.tables.counts[p].active, app.canonicalUrl)
  const noRoute = await get(app, '/nope')
  assert.equal(noRoute.status, 404)
  assert.equal(noRoute.json!.error.code, 'FAUST_ERR_NOT_FOUND')
})

test('app.page and app.tableRoute serve user views; a throwing view answers JSON 500', async (t) => {
  const { app, words, counts } = wordCount(t)
  app.page('/hello/:name', (req) => ({ hello: req.params.name, q: req.query.get('q') }))
  app.page('/teapot', () => response({ tea: true }, { status: 418, headers: { 'x-brew': 'yes' } }))
  app.page('/boom', () => {
    throw new Error('kaput')
  })
  app.tableRoute(counts, '/count/:word', (req) => ({ word: req.params.word, count: counts.get(req.params.word!) }), { key: 'word' })
  await app.start()
  await words.send({ key: 'w', value: 'w' })
  await waitFor(() => app.monitor.eventsTotal === 1, 'event counted')
  assert.deepEqual((await get(app, '/hello/ann?q=1')).json, { hello: 'ann', q: '1' })
  const tea = await get(app, '/teapot')
  assert.equal(tea.status, 418)
  assert.equal(tea.headers.get('x-brew'), 'yes')
  const boom = await get(app, '/boom')
  assert.equal(boom.status, 500)
  assert.equal(boom.json!.error.code, 'FAUST_ERR_VIEW_FAILED')
  assert.match(boom.json!.error.message, /kaput/)
  const routed = await get(app, '/count/w')
  assert.deepEqual(routed.json, { word: 'w', count: 1 })
  assert.equal(routed.headers.get('x-faust-ts-role'), 'active')
  const s = app.monitor.snapshot()
  assert.equal(s.http.byStatus['500'], 1)
  assert.equal(s.http.byStatus['418'], 1)
})

test('sensors hear every hook in order; a throwing sensor is removed, the worker goes on', async (t) => {
  const { app, words } = wordCount(t, { webPort: 0 })
  app.serveWeb = false
  const calls: string[] = []
  const sensor: SensorT = {
    onMessageIn: (tp, offset) => void calls.push(`in ${tp.topic}@${offset}`),
    onStreamEventIn: (_tp, offset, stream) => {
      calls.push(`event-in ${stream}@${offset}`)
      return offset
    },
    onStreamEventOut: (_tp, offset, stream, _e, state) => void calls.push(`event-out ${stream}@${offset} state=${String(state)}`),
    onMessageOut: (tp, offset) => void calls.push(`out ${tp.topic}@${offset}`),
    onTableGet: (table) => void calls.push(`get ${table.name}`),
    onTableSet: (table) => void calls.push(`set ${table.name}`),
    onSendInitiated: (r) => {
      calls.push(`send ${r.topic}`)
      return 'S'
    },
    onSendCompleted: (r, _m, state) => void calls.push(`sent ${r.topic} state=${String(state)}`),
    onCommitInitiated: () => 'C',
    onCommitCompleted: (state, offsets) => void calls.push(`committed ${offsets.size} state=${String(state)}`),
    onRebalanceStart: () => void calls.push('rebalance-start'),
    onRebalanceReturn: () => void calls.push('rebalance-return'),
    onRebalanceEnd: () => void calls.push('rebalance-end'),
  }
  const broken: SensorT = {
    onMessageIn: () => {
      throw new Error('broken sensor')
    },
  }
  app.sensors.add(sensor)
  app.sensors.add(broken)
  await app.start()
  await waitFor(() => calls.includes('rebalance-end'), 'rebalance end')
  await words.send({ key: 'a', value: 'a' })
  await waitFor(() => calls.some((c) => c.startsWith('out words')), 'message out')
  await app.consumer.commit()
  assert.deepEqual(calls.filter((c) => c.startsWith('rebalance')), ['rebalance-start', 'rebalance-return', 'rebalance-end'])
  const flow = calls.filter((c) => !c.startsWith('rebalance') && !c.startsWith('send') && !c.startsWith('sent') && !c.startsWith('committed'))
  assert.deepEqual(flow, ['in words@0', 'event-in count@0', 'get counts', 'set counts', 'event-out count@0 state=0', 'out words@0'])
  assert.ok(calls.includes('send words') && calls.includes('sent words state=S'))
  assert.ok(calls.some((c) => /^committed \d+ state=C$/.test(c)))
  assert.equal(app.sensors.size, 2, 'the Monitor and the working sensor remain')
  assert.equal(app.monitor.eventsTotal, 1, 'the Monitor still counts')
})

test('the Monitor counts events taken in batches, and none stays active', async (t) => {
  const { app } = newApp(t, { topicPartitions: 1 })
  const topic = app.topic('batched', { valueType: Number })
  let batches = 0
  app.agent(topic, async (stream) => {
    for await (const batch of stream.take(5, 0.05)) batches += batch.length > 0 ? 1 : 0
  }, { name: 'batcher' })
  await app.start()
  for (let i = 0; i < 12; i++) await topic.send({ value: i })
  await waitFor(() => app.monitor.eventsTotal === 12 && app.monitor.eventsActive === 0, 'twelve events in and out')
  assert.ok(batches >= 3)
  assert.equal(app.monitor.snapshot().events.byStream.batcher?.total, 12)
})

test('/health answers 503 and not ready while table recovery is pending', async (t) => {
  const { app } = wordCount(t)
  await app.start()
  let recovering = true
  Object.defineProperty(app.tables, 'ready', { get: () => !recovering, configurable: true })
  const during = await get(app, '/health')
  assert.equal(during.status, 503)
  assert.deepEqual(during.json, { live: true, ready: false, status: 'recovering' })
  assert.equal((await get(app, '/health/live')).status, 200)
  assert.equal((await get(app, '/health/ready')).status, 503)
  recovering = false
  assert.equal((await get(app, '/health/ready')).status, 200)
})

test("a key's partition is hashed as its source topic encodes it: declared sources, else the topics that wrote the table", async (t) => {
  const { partitionOfKey } = await import('../../src/web/views.ts')
  const { keyPartition } = await import('../../src/utils/murmur2.ts')
  const { app } = newApp(t, { topicPartitions: 8 })
  const words = app.topic('raw-words', { keyType: String, valueType: String, partitions: 8 })
  const learned = app.table<string, number>('learned', { default: () => 0, partitions: 8 })
  const declared = app.table<string, number>('declared', { default: () => 0, partitions: 8, sources: [words] })
  app.agent(words, async (stream) => {
    for await (const w of stream) learned.set(w, learned.get(w) + 1)
  }, { name: 'count' })
  const host = { topic: (name: string) => app.topics.get(name) } as unknown as Parameters<typeof partitionOfKey>[0]
  // Keys whose raw and JSON encodings hash to different partitions.
  const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].filter((k) => keyPartition(Buffer.from(k), 8) !== keyPartition(Buffer.from(JSON.stringify(k)), 8))
  assert.ok(keys.length >= 2)
  for (const k of keys) {
    assert.equal(partitionOfKey(host, declared as never, k), keyPartition(Buffer.from(k), 8), 'declared source: raw key bytes')
    assert.equal(partitionOfKey(host, learned as never, k), keyPartition(Buffer.from(JSON.stringify(k)), 8), 'nothing known yet: the table encoding')
  }
  await app.start()
  await words.send({ key: keys[0]!, value: keys[0]! })
  await waitFor(() => app.monitor.eventsTotal === 1, 'one event')
  for (const k of keys) assert.equal(partitionOfKey(host, learned as never, k), keyPartition(Buffer.from(k), 8), 'learned source: raw key bytes')
})
