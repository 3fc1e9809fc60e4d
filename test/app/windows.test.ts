/**
 * Windowed tables on the memory:// broker with a virtual clock: which windows an event lands in,
 * Faust's changelog keys, closing order, grace, late events, wall-clock closing of an idle
 * partition, restored windows closing, emit-final. (On Kafka: test/integration/windows.test.ts.)
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ImproperlyConfigured } from '../../src/errors.ts'
import { type App, type ClosedWindow, VirtualClock, type WindowOptions, type WindowRange } from '../../src/index.ts'
import { jsonValues, newApp, records, waitFor } from './helpers.ts'

const T0 = 1_700_000_000 // seconds; a round multiple of 10 and 60

interface Closed {
  key: string
  value: number
  window: WindowRange
}

function countApp(
  app: App,
  shape: 'tumbling' | 'hopping' | 'sliding',
  options: WindowOptions<string, number> = {},
  partitions = 1,
) {
  const closed: Closed[] = []
  const views = app.topic('views', { keyType: String, valueType: String, valueSerializer: 'raw', partitions })
  const table = app.table<string, number>('counts', { default: () => 0, partitions })
  const windowOptions: WindowOptions<string, number> = {
    onWindowClose: (key, value, window) => {
      closed.push({ key, value, window })
    },
    ...options,
  }
  const counts =
    shape === 'tumbling' ? table.tumbling(10, windowOptions) : shape === 'hopping' ? table.hopping(60, 10, windowOptions) : table.sliding(5, 2, windowOptions)
  let seen = 0
  app.agent(views, async (stream) => {
    for await (const page of stream) {
      counts.update(page, (n) => n + 1)
      seen += 1
    }
  }, { name: 'count' })
  const send = async (key: string, seconds: number, partition?: number) => {
    await views.send({ key, value: key, timestamp: Math.round(seconds * 1000), partition })
  }
  return { counts, table, closed, views, send, seen: () => seen }
}

function changelog(app: App): string[] {
  return records(app, `${app.id}-counts-changelog`).map((r) => `${r.key?.toString()}=${r.value === null ? 'null' : r.value.toString()}`)
}

test('tumbling(10): events land in their window; the window closes when stream time passes its end, once, with the final value', async (t) => {
  const clock = new VirtualClock(1_000_000)
  const { app } = newApp(t, { clock })
  const w = countApp(app, 'tumbling')
  await app.start()
  await w.send('a', T0 + 1)
  await w.send('a', T0 + 2)
  await w.send('b', T0 + 9.99)
  await waitFor(() => w.seen() === 3, 'three counted')
  assert.deepEqual(w.counts.windows(), [{ start: T0, end: T0 + 9.9, keys: 2, closed: false }])
  assert.equal(w.counts.valueAt('a', T0 + 5), 2)
  assert.equal(w.counts.valueAt('b', T0 + 5), 1)
  assert.deepEqual(w.closed, [], 'nothing closes while stream time is inside the window')
  await app.consumer.commit()
  assert.deepEqual(changelog(app), [`["a",[${T0}.0,${T0 + 9.9}]]=2`, `["b",[${T0}.0,${T0 + 9.9}]]=1`], "Faust's key bytes: [key,[start,end]]")
  assert.deepEqual(records(app, `${app.id}-counts-changelog`).map((r) => r.timestamp), [(T0 + 2) * 1000, (T0 + 9.99) * 1000], 'changelog records carry the time of the event that wrote them')

  await w.send('a', T0 + 10) // the first event of the next window closes the previous one
  await waitFor(() => w.seen() === 4, 'fourth counted')
  assert.deepEqual(w.closed, [
    { key: 'a', value: 2, window: [T0, T0 + 9.9] },
    { key: 'b', value: 1, window: [T0, T0 + 9.9] },
  ])
  assert.deepEqual(w.counts.windows(), [{ start: T0 + 10, end: T0 + 19.9, keys: 1, closed: false }], 'the closed window left the store')
  assert.equal(w.table.stores().get(0)!.size(), 1)
  await app.consumer.commit()
  assert.deepEqual(changelog(app).slice(2).sort(), [`["a",[${T0 + 10}.0,${T0 + 19.9}]]=1`, `["a",[${T0}.0,${T0 + 9.9}]]=null`, `["b",[${T0}.0,${T0 + 9.9}]]=null`].sort(), 'closed windows are tombstoned')
  assert.equal(w.counts.stats.closed, 2)
  assert.equal(w.counts.stats.expired, 2)

  const config = app.topics.get(`${app.id}-counts-changelog`)?.config ?? {}
  assert.equal(config['cleanup.policy'], 'compact,delete')
  assert.equal(config['retention.ms'], String(10_000 + 86_400_000), 'span + grace + a day without expires')
})

test('hopping(60, 10): an event updates its 6 windows; value/now/delta and items read the right one', async (t) => {
  const clock = new VirtualClock(T0 * 1000)
  const { app } = newApp(t, { clock })
  const w = countApp(app, 'hopping', { expires: 3600 })
  await app.start()
  await w.send('home', T0 + 5)
  await w.send('home', T0 + 15)
  await w.send('about', T0 + 15)
  await waitFor(() => w.seen() === 3, 'counted')
  assert.deepEqual(
    w.counts.windows().map((x) => [x.start - T0, x.keys]),
    [[-50, 1], [-40, 2], [-30, 2], [-20, 2], [-10, 2], [0, 2], [10, 2]],
    'home@5 is in the windows starting -50..0; home@15 and about@15 in those starting -40..10',
  )
  assert.equal(w.counts.valueAt('home', T0 + 15), 1, 'the window of 15 is the latest one containing it: [10, 70)')
  assert.equal(w.counts.valueAt('home', T0 + 9), 2, 'the window of 9 is [0, 60): both home events')
  assert.equal(w.counts.valueAt('home', T0 - 45), 1, 'the window of -45 is [-50, 10): home@5 only')
  assert.equal(w.counts.get('home').now(), 1, "now() reads the earliest window containing the clock's T0 (as Faust): [-50, 10)")
  assert.equal(w.counts.get('nobody').now(), 0, 'a key without a value reads the default')
  assert.deepEqual([...w.counts.itemsNow()].sort(), [['home', 1]])
  assert.deepEqual([...w.counts.items()].sort(), [['about', 1], ['home', 2]], 'items(): the latest window containing the view time (the clock outside agents): [0, 60)')
  assert.deepEqual([...w.counts.itemsDelta(10)].sort(), [['about', 1], ['home', 2]], 'outside agents the view time is the clock: the window of T0 - 10 is [-10, 50)')
  assert.deepEqual([...w.counts.itemsDelta(50)].sort(), [['home', 1]], '[-50, 10) holds only home@5')
  assert.deepEqual(w.closed, [], 'grace defaults to expires (3600 s): nothing closes yet')
  await app.consumer.commit()
  const keys = records(app, `${app.id}-counts-changelog`).map((r) => r.key!.toString())
  assert.equal(keys.length, 13, '7 windows of home + 6 of about')
  assert.ok(keys.includes(`["home",[${T0 - 50}.0,${T0 + 9.9}]]`))
  const config = app.topics.get(`${app.id}-counts-changelog`)?.config ?? {}
  assert.equal(config['retention.ms'], String((3600 + 60) * 1000), 'retention covers a window from its first write until it expires')
})

test('reads inside an agent use the event: value() its time, delta(d) d seconds before', async (t) => {
  const { app } = newApp(t, { clock: new VirtualClock(0) })
  const views = app.topic('views', { keyType: String, valueType: String, valueSerializer: 'raw' })
  const counts = app.table<string, number>('counts', { default: () => 0 }).tumbling(10, { expires: 60 })
  const seen: Array<[number, number, number]> = []
  app.agent(views, async (stream) => {
    for await (const page of stream) {
      counts.update(page, (n) => n + 1)
      const set = counts.get(page)
      seen.push([set.value(), set.current(), set.delta(10)])
    }
  }, { name: 'count' })
  await app.start()
  for (const s of [1, 2, 3, 11, 12]) await views.send({ key: 'p', value: 'p', timestamp: (T0 + s) * 1000 })
  await waitFor(() => seen.length === 5, 'all read')
  assert.deepEqual(seen, [[1, 1, 0], [2, 2, 0], [3, 3, 0], [1, 1, 3], [2, 2, 3]])
})

test('grace: a late event within grace still counts; past grace it is dropped, counted and (lateEvents: dlq) dead-lettered', async (t) => {
  const { app, logs } = newApp(t, { clock: new VirtualClock(0) })
  const w = countApp(app, 'tumbling', { grace: 5, lateEvents: 'dlq', lateTopic: 'late-views' })
  await app.start()
  await w.send('a', T0 + 1)
  await w.send('a', T0 + 12) // [0, 10) closes at 10 + grace 5 = 15
  await w.send('a', T0 + 3) // out of order but within grace: counts
  await waitFor(() => w.seen() === 3, 'counted')
  assert.deepEqual(w.closed, [])
  assert.equal(w.counts.valueAt('a', T0 + 1), 2)
  await w.send('a', T0 + 15) // stream time 15: [0, 10) closes
  await waitFor(() => w.closed.length === 1, 'closed')
  assert.deepEqual(w.closed, [{ key: 'a', value: 2, window: [T0, T0 + 9.9] }])
  await w.send('a', T0 + 4) // past grace
  await waitFor(() => w.seen() === 5, 'processed')
  assert.equal(w.counts.stats.late, 1)
  assert.equal(w.closed.length, 1, 'a late event never reopens or re-fires a closed window')
  assert.deepEqual(w.counts.windows().map((x) => x.start - T0), [10], 'no window was recreated for it')
  assert.equal(w.counts.valueAt('a', T0 + 15), 2)
  await waitFor(() => records(app, 'late-views').length === 1, 'dead-lettered')
  const [dlq] = records(app, 'late-views')
  assert.equal(dlq?.value?.toString(), 'a')
  const headers = Object.fromEntries(dlq!.headers.map(([k, v]) => [k, v.toString()]))
  assert.equal(headers['__streams.errors.exception'], 'LateEvent')
  assert.equal(headers['__streams.errors.offset'], '4')
  assert.ok(logs.some((l) => l.level === 'warn' && /past its windows' grace/.test(l.msg)), 'the first late event is logged')
})

test("an idle partition's windows close on the wall clock", async (t) => {
  const clock = new VirtualClock(5_000_000)
  const { app } = newApp(t, { clock, tableCleanupInterval: 1 })
  const w = countApp(app, 'tumbling', { grace: 2 }, 2)
  await app.start()
  await w.send('a', T0 + 1, 0)
  await w.send('b', T0 + 4, 1)
  await w.send('b', T0 + 15, 1) // partition 1 reaches 15: its [0, 10) closed at 12
  await waitFor(() => w.seen() === 3, 'counted')
  assert.deepEqual(w.closed.map((c) => `${c.key}@${c.window[0] - T0}`), ['b@0'], 'partition 0 is idle at time 1: its window stays open')
  await clock.advance(10_000) // partition 0 at 1 + 10 = 11 < 12; partition 1 at 15 + 10 = 25 >= 22
  assert.deepEqual(w.closed.map((c) => `${c.key}@${c.window[0] - T0}`), ['b@0', 'b@10'])
  await clock.advance(1_000) // partition 0 at 12: closes
  assert.deepEqual(w.closed.map((c) => `${c.key}@${c.window[0] - T0}`), ['b@0', 'b@10', 'a@0'])
  assert.deepEqual(w.closed.find((c) => c.key === 'a')?.value, 1)
  assert.deepEqual(w.counts.windows(), [])
})

test('closeOnWallClock: false closes on event time only (Kafka Streams semantics)', async (t) => {
  const clock = new VirtualClock(0)
  const { app } = newApp(t, { clock, tableCleanupInterval: 1 })
  const w = countApp(app, 'tumbling', { closeOnWallClock: false })
  await app.start()
  await w.send('a', T0 + 1)
  await waitFor(() => w.seen() === 1, 'counted')
  await clock.advance(120_000)
  assert.deepEqual(w.closed, [])
  await w.send('a', T0 + 10)
  await waitFor(() => w.closed.length === 1, 'closed by the next event')
})

test('windows restored from the changelog close too (Faust #385), from a full replay and from a persistent store', async (t) => {
  for (const store of ['memory://', 'lmdb://']) {
    const datadir = mkdtempSync(join(tmpdir(), 'faust-ts-windows-'))
    t.after(() => rmSync(datadir, { recursive: true, force: true }))
    const id = `restored-${store.slice(0, 4)}`
    const first = newApp(t, { store, datadir, clock: new VirtualClock(0) }, { id })
    const a = countApp(first.app, 'tumbling')
    await first.app.start()
    await a.send('a', T0 + 1)
    await a.send('b', T0 + 2)
    await a.send('a', T0 + 3)
    await waitFor(() => a.seen() === 3, 'counted')
    await first.app.stop()
    assert.deepEqual(a.closed, [])

    const clock = new VirtualClock(4_000) // the restart took 4 s
    const second = newApp(t, { store, datadir, clock, tableCleanupInterval: 1 }, { id, url: first.url })
    const b = countApp(second.app, 'tumbling')
    await second.app.start()
    await waitFor(() => second.app.tables.ready && b.counts.windows().length === 1, `${store}: restored`)
    assert.equal(b.counts.valueAt('a', T0 + 1), 2)
    // No event here yet. Replayed changelog records carry their event's time (the last: T0 + 3)
    // and when they were written (clock 0): 4 s later the old worker would be at T0 + 7, so
    // [T0, T0 + 10) closes 3 s after the restart, as it would have without one. The lmdb store
    // had everything (nothing replayed): only its windows say where time was (at least T0, the
    // latest window's start), so it closes 10 s after the restart. Not at once, and not never.
    const due = store === 'memory://' ? 3_000 : 10_000
    await clock.advance(due - 1_000)
    assert.equal(b.closed.length, 0, `${store}: not before its end`)
    await clock.advance(1_000)
    assert.deepEqual(
      b.closed.map((c) => `${c.key}=${c.value}`).sort(),
      ['a=2', 'b=1'],
      `${store}: the restored window closed with its restored values`,
    )
    await second.app.consumer.commit()
    const tail = changelog(second.app).slice(-2).sort()
    assert.deepEqual(tail, [`["a",[${T0}.0,${T0 + 9.9}]]=null`, `["b",[${T0}.0,${T0 + 9.9}]]=null`], `${store}: tombstoned`)
    await second.app.stop()
  }
})

test('sliding(5, 2): one window per event, closing at its end', async (t) => {
  const { app } = newApp(t, { clock: new VirtualClock(0) })
  const w = countApp(app, 'sliding')
  await app.start()
  await w.send('a', T0 + 100)
  await w.send('a', T0 + 101)
  await waitFor(() => w.seen() === 2, 'counted')
  assert.deepEqual(w.counts.windows().map((x) => [x.start - T0, x.end - T0]), [[95, 102], [96, 103]])
  assert.equal(w.counts.valueAt('a', T0 + 100), 1)
  await w.send('a', T0 + 103)
  await waitFor(() => w.closed.length === 2, 'both closed at 103')
  assert.deepEqual(w.closed.map((c) => c.window.map((x) => x - T0)), [[95, 102], [96, 103]])
  await app.consumer.commit()
  assert.ok(changelog(app).includes(`["a",[${T0 + 95.5 - 0.5}.0,${T0 + 102}.0]]=null`))
})

test('session(30): events closer than the gap share a session; sessions an event bridges merge', async (t) => {
  const { app } = newApp(t, { clock: new VirtualClock(0) })
  const views = app.topic('views', { keyType: String, valueType: String, valueSerializer: 'raw' })
  const closed: Closed[] = []
  const sessions = app.table<string, number>('sessions', { default: () => 0 }).session(30, {
    grace: 20,
    merge: (x, y) => x + y,
    onWindowClose: (key, value, window) => {
      closed.push({ key, value, window })
    },
  })
  let seen = 0
  app.agent(views, async (stream) => {
    for await (const user of stream) {
      sessions.update(user, (n) => n + 1)
      seen += 1
    }
  }, { name: 'sessions' })
  await app.start()
  const send = async (key: string, s: number, expect: number) => {
    await views.send({ key, value: key, timestamp: (T0 + s) * 1000 })
    await waitFor(() => seen === expect, `event ${expect}`)
  }
  const shape = () => sessions.windows().map((x) => `${x.start - T0}..${x.end - T0}`)
  await send('a', 0, 1)
  await send('a', 20, 2)
  assert.deepEqual(shape(), ['0..20'])
  assert.equal(sessions.valueAt('a', T0 + 10), 2)
  await send('a', 100, 3) // [0, 20] ended at 20 + gap 30 and closed at + grace 20 = 70
  assert.deepEqual(closed, [{ key: 'a', value: 2, window: [T0, T0 + 20] }])
  await send('a', 40, 4) // a lone session [40, 40] would have closed at 90 < 100: late
  assert.equal(sessions.stats.late, 1)
  await send('a', 140, 5) // 140 - 100 >= gap: a new session ([100, 100] is over but in grace until 150)
  assert.deepEqual(shape(), ['100..100', '140..140'])
  await send('a', 120, 6) // late within grace, and within the gap of both: they merge
  assert.deepEqual(shape(), ['100..140'])
  assert.equal(sessions.valueAt('a', T0 + 120), 3)
  await app.consumer.commit()
  const log = records(app, `${app.id}-sessions-changelog`).map((r) => `${r.key}=${r.value === null ? 'null' : r.value.toString()}`)
  assert.ok(log.includes(`["a",[${T0 + 100}.0,${T0 + 140}.0]]=3`))
  assert.ok(log.includes(`["a",[${T0 + 140}.0,${T0 + 140}.0]]=null`), 'merged-away sessions are tombstoned')
  assert.equal(closed.length, 1)
})

test('emit-final: closed windows reach an agent through closed() and a topic through emitTo', async (t) => {
  const { app } = newApp(t, { clock: new VirtualClock(0) })
  const results = app.topic('window-results', { keyType: String, keySerializer: 'raw', valueSerializer: 'json' })
  const w = countApp(app, 'tumbling', { emitTo: results as never })
  const finals: Array<ClosedWindow<string, number>> = []
  app.agent(w.counts.closed(), async (stream) => {
    for await (const result of stream) finals.push(result)
  }, { name: 'finals' })
  await app.start()
  await w.send('a', T0 + 1)
  await w.send('a', T0 + 2)
  await w.send('b', T0 + 12)
  await waitFor(() => finals.length === 1 && records(app, 'window-results').length === 1, 'emitted')
  assert.deepEqual(finals, [{ key: 'a', start: T0, end: T0 + 9.9, value: 2 }])
  const [r] = records(app, 'window-results')
  assert.equal(r?.key?.toString(), 'a')
  assert.equal(r?.timestamp, (T0 + 10) * 1000, 'stamped with the window end')
  assert.deepEqual(jsonValues(app, 'window-results'), [{ key: 'a', start: T0, end: T0 + 9.9, value: 2 }])
})

test('relativeToField and relativeToNow pick the time from the value or the clock', async (t) => {
  const clock = new VirtualClock((T0 + 500) * 1000)
  const { app } = newApp(t, { clock })
  const clicks = app.topic('clicks', { keyType: String, valueSerializer: 'json' })
  const table = app.table<string, number>('clicks', { default: () => 0 })
  const byField = table.tumbling(10, { expires: 3600 }).relativeToField('at')
  const byClock = app.table<string, number>('clicks-now', { default: () => 0 }).tumbling(10, { expires: 3600 }).relativeToNow()
  let seen = 0
  const agent = app.agent(clicks, async (stream) => {
    for await (const _ of stream) {
      byField.update('k', (n) => n + 1)
      byClock.update('k', (n) => n + 1)
      seen += 1
    }
  }, { name: 'clicks', errorPolicy: 'skip' })
  await app.start()
  await clicks.send({ key: 'k', value: { at: T0 + 5 }, timestamp: 0 })
  await clicks.send({ key: 'k', value: { at: new Date((T0 + 25) * 1000).toISOString() }, timestamp: 0 })
  await clicks.send({ key: 'k', value: { at: 'not a time' }, timestamp: 0 })
  await waitFor(() => seen === 2 && agent.errors.skip === 1, 'processed; the event without a time skipped')
  assert.deepEqual(byField.windows().map((x) => x.start - T0), [0, 20], 'seconds and ISO strings from the value')
  assert.deepEqual(byClock.windows().map((x) => x.start - T0), [500], 'the clock, whatever the event says')
})

test('windowed tables refuse what would break them', (t) => {
  const { app } = newApp(t)
  const table = app.table<string, number>('t')
  const windowed = table.tumbling(10)
  assert.throws(() => table.hopping(10, 5), ImproperlyConfigured, 'windowed twice')
  assert.throws(() => table.set('k', 1), ImproperlyConfigured, 'raw writes would bypass the window index')
  assert.throws(() => app.table<string, number>('s').session(10, {} as never), ImproperlyConfigured, 'sessions need merge')
  assert.throws(() => app.table<Buffer, number>('b', { keyType: Buffer }).tumbling(10), ImproperlyConfigured, 'keys must be JSON')
  assert.throws(() => app.table<string, number>('g').tumbling(10, { grace: -1 }), ImproperlyConfigured)
  assert.equal(table.describe().window, 'tumbling 10s, grace 0s')
  void windowed
})
