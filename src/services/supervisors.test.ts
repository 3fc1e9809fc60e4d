import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { SupervisorGaveUp } from '../errors.ts'
import { settle, VirtualClock } from '../utils/time.ts'
import { Service, type ServiceOptions } from './service.ts'
import { Supervisor, type SupervisorOptions, SupervisorStrategies } from './supervisors.ts'

/** A service that counts its starts and can be told to fail or block its next start. */
class Worker extends Service {
  starts = 0
  failStart: Error | undefined
  blockStart: Promise<void> | undefined

  constructor(name: string, options: ServiceOptions = {}) {
    super({ name, ...options })
  }

  protected override async onStart(): Promise<void> {
    this.starts += 1
    if (this.blockStart !== undefined) await this.blockStart
    if (this.failStart !== undefined) throw this.failStart
  }
}

/** Everything a test started, stopped afterwards. */
const started: Service[] = []
afterEach(async () => {
  for (const s of started.splice(0).reverse()) await s.stop().catch(() => {})
})

async function startAll(...services: Service[]): Promise<void> {
  for (const s of services) {
    started.push(s)
    await s.start()
  }
}

/**
 * Route a watched service's crashes to `supervisor.onCrash`, as the CrashHandler contract says.
 * Service.crash() currently calls `supervisor.crash()` instead (see the todo test below), which
 * would crash the supervisor itself; the strategy tests use this route so they test the
 * strategies and not that bug.
 */
function route(supervisor: Supervisor, service: Service): void {
  supervisor.watch(service)
  service.crashHandler = { onCrash: (svc, err) => supervisor.onCrash(svc, err) }
}

/** Poll until `cond` holds (real time), failing after `ms`. */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 2))
  }
}

function supervisor(options: SupervisorOptions & { escalate?: (err: Error) => void } = {}): Supervisor {
  return new Supervisor({ backoff: 0, ...options })
}

describe('Supervisor', () => {
  test('defaults: one_for_one, 10 restarts in 60s, 0.1s backoff up to 5s', () => {
    const s = new Supervisor()
    assert.equal(s.strategy, SupervisorStrategies.ONE_FOR_ONE)
    assert.equal(s.maxRestarts, 10)
    assert.equal(s.overSeconds, 60)
    assert.equal(s.backoff, 0.1)
    assert.equal(s.maxBackoff, 5)
    assert.equal(s.name, 'Supervisor')
  })

  test('watch() makes the supervisor the crash handler; unwatch() undoes it', () => {
    const sup = supervisor()
    const a = new Worker('a')
    sup.watch(a)
    sup.watch(a)
    assert.deepEqual(sup.watched, [a])
    assert.equal(a.crashHandler, sup)
    sup.unwatch(a)
    assert.deepEqual(sup.watched, [])
    assert.equal(a.crashHandler, undefined)
  })

  test(
    'a crash of a watched service reaches Supervisor.onCrash (and the supervisor keeps running)',

    async () => {
      const sup = supervisor()
      const a = new Worker('a')
      sup.watch(a)
      const seen: Array<[Service, Error]> = []
      const original = sup.onCrash.bind(sup)
      sup.onCrash = (svc, err) => {
        seen.push([svc, err])
        original(svc, err)
      }
      await startAll(sup, a)
      const err = new Error('boom')
      a.crash(err)
      assert.equal(sup.state, 'running', `the supervisor itself crashed: ${String(sup.crashReason)}`)
      assert.equal(seen.length, 1)
      assert.equal(seen[0]?.[0], a)
      assert.equal(seen[0]?.[1], err)
      await until(() => a.state === 'running')
      assert.equal(a.starts, 2)
    },
  )

  test('one_for_one restarts only the service that crashed', async () => {
    const sup = supervisor({ strategy: 'one_for_one' })
    const [a, b, c] = [new Worker('a'), new Worker('b'), new Worker('c')]
    for (const s of [a, b, c]) route(sup, s)
    await startAll(sup, a, b, c)
    const err = new Error('b failed')
    b.crash(err)
    assert.equal(b.state, 'crashed')
    await until(() => b.state === 'running')
    await settle()
    assert.deepEqual([a.starts, b.starts, c.starts], [1, 2, 1])
    assert.equal(sup.restarts, 1)
    assert.equal(b.crashReason, undefined)
    assert.equal(sup.state, 'running')
  })

  test('one_for_all restarts every watched service', async () => {
    const sup = supervisor({ strategy: 'one_for_all' })
    const [a, b, c] = [new Worker('a'), new Worker('b'), new Worker('c')]
    for (const s of [a, b, c]) route(sup, s)
    await startAll(sup, a, b, c)
    b.crash(new Error('b failed'))
    await until(() => sup.restarts === 3 && [a, b, c].every((s) => s.state === 'running'))
    assert.deepEqual([a.starts, b.starts, c.starts], [2, 2, 2])
  })

  test('crashing escalates the original error to the escalate callback and restarts nothing', async () => {
    const escalated: Error[] = []
    const sup = supervisor({ strategy: 'crashing', escalate: (e) => escalated.push(e) })
    const [a, b] = [new Worker('a'), new Worker('b')]
    route(sup, a)
    route(sup, b)
    await startAll(sup, a, b)
    const err = new Error('fatal')
    a.crash(err)
    await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(escalated, [err])
    assert.equal(a.state, 'crashed')
    assert.equal(a.starts, 1)
    assert.equal(b.starts, 1)
    assert.equal(sup.restarts, 0)
  })

  test('crashing without an escalate callback crashes the supervisor, which tells its parent', async () => {
    const parent = new Worker('parent')
    const sup = supervisor({ strategy: 'crashing' })
    await parent.addDependency(sup)
    const a = new Worker('a')
    route(sup, a)
    await startAll(parent, a)
    const err = new Error('fatal')
    a.crash(err)
    assert.equal(sup.state, 'crashed')
    assert.equal(sup.crashReason, err)
    assert.equal(parent.state, 'crashed')
    assert.equal(parent.crashReason, err)
  })

  test('more than maxRestarts crashes within overSeconds escalates SupervisorGaveUp', async () => {
    const escalated: Error[] = []
    const sup = supervisor({ maxRestarts: 2, overSeconds: 60, escalate: (e) => escalated.push(e) })
    const a = new Worker('a')
    route(sup, a)
    await startAll(sup, a)
    for (let i = 1; i <= 2; i++) {
      a.crash(new Error(`crash ${i}`))
      await until(() => a.state === 'running' && sup.restarts === i)
    }
    assert.equal(escalated.length, 0)
    const last = new Error('crash 3')
    a.crash(last)
    await new Promise((r) => setTimeout(r, 20))
    assert.equal(escalated.length, 1)
    const gaveUp = escalated[0]
    assert.ok(gaveUp instanceof SupervisorGaveUp)
    assert.equal(gaveUp.code, 'FAUST_ERR_SUPERVISOR_GAVE_UP')
    assert.equal(gaveUp.service, 'a')
    assert.equal(gaveUp.cause, last)
    assert.match(gaveUp.message, /a crashed 3 times within 60s/)
    assert.equal(sup.restarts, 2, 'the third crash is not restarted')
    assert.equal(a.state, 'crashed')
  })

  test('giving up without an escalate callback crashes the supervisor with SupervisorGaveUp', async () => {
    const sup = supervisor({ maxRestarts: 0 })
    const a = new Worker('a')
    route(sup, a)
    await startAll(sup, a)
    a.crash(new Error('once is too many'))
    assert.equal(sup.state, 'crashed')
    assert.ok(sup.crashReason instanceof SupervisorGaveUp)
    assert.equal(sup.restarts, 0)
  })

  test('crashes older than overSeconds do not count towards maxRestarts', async () => {
    const clock = new VirtualClock(0)
    const escalated: Error[] = []
    const sup = supervisor({ clock, maxRestarts: 1, overSeconds: 10, escalate: (e) => escalated.push(e) })
    const a = new Worker('a', { clock })
    route(sup, a)
    await startAll(sup, a)
    a.crash(new Error('first'))
    await clock.advance(0)
    await until(() => a.state === 'running')
    await clock.advance(10_000) // the first crash leaves the window
    a.crash(new Error('second'))
    await clock.advance(0)
    await until(() => a.state === 'running' && sup.restarts === 2)
    assert.equal(escalated.length, 0)
    a.crash(new Error('third, within 10s of the second'))
    await clock.advance(0)
    assert.equal(escalated.length, 1)
    assert.ok(escalated[0] instanceof SupervisorGaveUp)
  })

  test('the restart delay doubles for each restart in the window, capped at maxBackoff', async () => {
    const clock = new VirtualClock(0)
    const sup = new Supervisor({ clock, backoff: 1, maxBackoff: 3, maxRestarts: 10 })
    const a = new Worker('a', { clock })
    route(sup, a)
    await startAll(sup, a)
    for (const [i, delay] of [1000, 2000, 3000, 3000].entries()) {
      a.crash(new Error(`crash ${i}`))
      await clock.advance(delay - 1)
      await settle()
      assert.equal(a.state, 'crashed', `restart ${i + 1} must wait ${delay}ms`)
      await clock.advance(1)
      await until(() => a.state === 'running')
      assert.equal(sup.restarts, i + 1)
    }
  })

  test('a restart whose start fails counts as another crash until the supervisor gives up', async () => {
    const escalated: Error[] = []
    const sup = supervisor({ maxRestarts: 2, escalate: (e) => escalated.push(e) })
    const a = new Worker('a')
    route(sup, a)
    await startAll(sup, a)
    a.failStart = new Error('still broken')
    a.crash(new Error('first'))
    await until(() => escalated.length === 1)
    assert.ok(escalated[0] instanceof SupervisorGaveUp)
    assert.equal((escalated[0] as SupervisorGaveUp).cause, a.failStart)
    assert.equal(sup.restarts, 2)
    assert.equal(a.starts, 3)
    assert.equal(a.state, 'crashed')
  })

  test('a supervisor that is not running ignores crashes; stopping cancels a pending restart', async () => {
    const clock = new VirtualClock(0)
    const sup = new Supervisor({ clock, backoff: 5 })
    const a = new Worker('a', { clock })
    route(sup, a)
    await startAll(a)
    a.crash(new Error('before the supervisor started'))
    await clock.advance(10_000)
    assert.equal(a.state, 'crashed')
    assert.equal(sup.restarts, 0)

    await a.start()
    await startAll(sup)
    a.crash(new Error('restart pending'))
    await clock.advance(1000)
    await sup.stop()
    assert.deepEqual(sup.hungTasks, [])
    await clock.advance(10_000)
    await settle()
    assert.equal(a.state, 'crashed', 'the pending restart was cancelled by stop()')
    assert.equal(sup.restarts, 0)
  })

  test(
    'one_for_one: a crash that arrives while another restart is in progress is still restarted',

    async () => {
      const sup = supervisor({ strategy: 'one_for_one' })
      const [a, b] = [new Worker('a'), new Worker('b')]
      route(sup, a)
      route(sup, b)
      await startAll(sup, a, b)
      let release!: () => void
      a.blockStart = new Promise<void>((r) => {
        release = r
      })
      a.crash(new Error('a failed'))
      await until(() => a.starts === 2) // a's restart is in progress, blocked in onStart
      b.crash(new Error('b failed'))
      await new Promise((r) => setTimeout(r, 20))
      a.blockStart = undefined
      release()
      await until(() => a.state === 'running')
      await until(() => b.state === 'running', 500)
      assert.equal(b.starts, 2)
    },
  )
})
