/**
 * app.timer, app.task, app.crontab and app.service: they run while the app runs and stop with it.
 * Most use a VirtualClock (the `clock` setting) so time is exact.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ImproperlyConfigured } from '../../src/errors.ts'
import { Service } from '../../src/services/service.ts'
import { VirtualClock } from '../../src/utils/time.ts'
import { idle, newApp, waitFor } from './helpers.ts'

const JAN_1 = Date.UTC(2024, 0, 1, 0, 0, 0)
/** No commit-timer wake-ups to speak of while the virtual clock jumps. */
const quiet = { brokerCommitInterval: 100_000 }

test('app.timer runs every N seconds while the app runs, and not after stop', async (t) => {
  const clock = new VirtualClock(JAN_1)
  const { app } = newApp(t, { ...quiet, clock })
  const ticks: number[] = []
  app.timer(10, (signal) => {
    assert.equal(signal.aborted, false)
    ticks.push(clock.now() - JAN_1)
  })
  await clock.advance(30_000)
  assert.deepEqual(ticks, [], 'not started yet')

  await app.start()
  const started = clock.now() - JAN_1
  await clock.advance(9_999)
  assert.deepEqual(ticks, [])
  await clock.advance(1)
  assert.deepEqual(ticks, [started + 10_000])
  await clock.advance(25_000)
  assert.deepEqual(ticks, [10_000, 20_000, 30_000].map((d) => started + d))

  await app.stop()
  await clock.advance(100_000)
  assert.equal(ticks.length, 3, 'no ticks after stop')
  assert.deepEqual(app.tasks.entries, [{ kind: 'timer', name: 'timer-1', spec: 'every 10s' }])
})

test('app.timer on the real clock', async (t) => {
  const { app } = newApp(t)
  let ticks = 0
  app.timer(0.03, () => {
    ticks += 1
  }, { name: 'fast' })
  await app.start()
  await waitFor(() => ticks >= 3, 'three ticks')
  await app.stop()
  const atStop = ticks
  await idle(100)
  assert.equal(ticks, atStop, 'no ticks after stop')
  assert.equal(app.tasks.entries[0]?.name, 'fast')
})

test('a slow timer body does not overlap the next tick', async (t) => {
  const clock = new VirtualClock(JAN_1)
  const { app } = newApp(t, { ...quiet, clock })
  let running = 0
  let overlapped = false
  let ticks = 0
  app.timer(1, async (signal) => {
    running += 1
    if (running > 1) overlapped = true
    ticks += 1
    await clock.sleep(2_500, signal) // longer than the interval
    running -= 1
  })
  await app.start()
  for (let i = 0; i < 10; i++) await clock.advance(1_000)
  assert.equal(overlapped, false)
  assert.ok(ticks >= 2 && ticks <= 4, `ticks: ${ticks}`)
})

test('app.task runs once, after the app is ready, and its signal aborts on stop', async (t) => {
  const { app } = newApp(t)
  const topic = app.topic('ready', { partitions: 1 })
  app.agent(
    topic,
    async (stream) => {
      for await (const _ of stream);
    },
    { name: 'reader' },
  )
  let runs = 0
  let assignedAtStart = -1
  let finished = false
  app.task(async function ticker(signal) {
    runs += 1
    assignedAtStart = app.assignment().length
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    finished = true
  })
  assert.equal(runs, 0)
  await app.start()
  await waitFor(() => runs === 1, 'task ran')
  assert.equal(assignedAtStart, 1, 'partitions were assigned before the task ran')
  await idle()
  assert.equal(runs, 1, 'once')
  assert.equal(finished, false)
  await app.stop()
  assert.equal(finished, true, 'the task saw its signal abort and returned before stop resolved')
  assert.deepEqual(app.tasks.hungTasks, [])
  assert.deepEqual(app.tasks.entries, [{ kind: 'task', name: 'ticker', spec: 'once at start' }])
})

test('app.crontab with a 6-field expression (seconds first) fires on schedule', async (t) => {
  const clock = new VirtualClock(JAN_1)
  const { app } = newApp(t, { ...quiet, clock })
  const fired: number[] = []
  app.crontab('*/10 * * * * *', () => {
    fired.push(clock.now() - JAN_1)
  })
  await app.start()
  await clock.advance(9_999)
  assert.deepEqual(fired, [])
  await clock.advance(1)
  assert.deepEqual(fired, [10_000])
  await clock.advance(30_000)
  assert.deepEqual(fired, [10_000, 20_000, 30_000, 40_000])
  await app.stop()
  await clock.advance(60_000)
  assert.equal(fired.length, 4, 'not after stop')
})

test('app.crontab with 5 fields, in a timezone', async (t) => {
  const clock = new VirtualClock(JAN_1)
  const { app } = newApp(t, { ...quiet, clock })
  const fired: string[] = []
  // 09:00 in New York is 14:00 UTC in January.
  app.crontab('0 9 * * *', () => {
    fired.push(new Date(clock.now()).toISOString())
  }, { name: 'morning', timezone: 'America/New_York' })
  await app.start()
  await clock.advance(14 * 3_600_000 - 1)
  assert.deepEqual(fired, [])
  await clock.advance(1)
  assert.deepEqual(fired, ['2024-01-01T14:00:00.000Z'])
  await clock.advance(24 * 3_600_000)
  assert.deepEqual(fired, ['2024-01-01T14:00:00.000Z', '2024-01-02T14:00:00.000Z'])
  assert.deepEqual(app.tasks.entries, [{ kind: 'crontab', name: 'morning', spec: '0 9 * * * (America/New_York)' }])
})

test('bad timer and crontab definitions fail at definition', (t) => {
  const { app } = newApp(t)
  assert.throws(() => app.timer(0, () => {}), ImproperlyConfigured)
  assert.throws(() => app.timer(-1, () => {}), ImproperlyConfigured)
  assert.throws(() => app.crontab('not a cron', () => {}), ImproperlyConfigured)
  assert.throws(() => app.crontab('* * * * * * * *', () => {}), ImproperlyConfigured)
})

test('app.service() starts a user service with the app and stops it with the app', async (t) => {
  const clock = new VirtualClock(JAN_1)
  const { app } = newApp(t, { ...quiet, clock })
  const events: string[] = []
  class Heartbeat extends Service {
    beats = 0
    constructor() {
      super({ name: 'Heartbeat' })
      this.addTimer('beat', 5, () => {
        this.beats += 1
      })
    }
    protected override async onStart(): Promise<void> {
      events.push('start')
    }
    protected override async onStop(): Promise<void> {
      events.push('stop')
    }
  }
  const hb = app.service(new Heartbeat())
  assert.equal(hb.state, 'init')
  await app.start()
  assert.equal(hb.state, 'running')
  await clock.advance(15_000)
  assert.equal(hb.beats, 3, 'the service runs on the app clock')
  await app.stop()
  assert.equal(hb.state, 'stopped')
  assert.deepEqual(events, ['start', 'stop'])
})
