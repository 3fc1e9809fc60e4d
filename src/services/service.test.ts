import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FaustError, ServiceStateError } from '../errors.ts'
import type { LoggerT } from '../types/logging.ts'
import { settle, VirtualClock } from '../utils/time.ts'
import { isAbortError, isValidTransition, Service, type ServiceOptions, type ServiceState, ServiceStates } from './service.ts'

/** A logger that records every call, so tests can assert on warnings and errors. */
interface LogLine {
  level: string
  obj: unknown
  msg: string | undefined
}
function recordingLogger(): LoggerT & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const fn =
    (level: string) =>
    (obj: unknown, msg?: unknown): void => {
      lines.push(typeof obj === 'string' ? { level, obj: undefined, msg: obj } : { level, obj, msg: msg as string | undefined })
    }
  const logger = {
    lines,
    level: 'trace',
    trace: fn('trace'),
    debug: fn('debug'),
    info: fn('info'),
    warn: fn('warn'),
    error: fn('error'),
    fatal: fn('fatal'),
    child: () => logger,
  }
  return logger
}

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((r) => {
    open = r
  })
  return { promise, open }
}

/** A service that appends what happens to it to a shared journal. */
class Recorder extends Service {
  readonly journal: string[]
  deps: Service[] = []
  hooks: Partial<Record<'onFirstStart' | 'onStart' | 'onStarted' | 'onStop' | 'onShutdown', () => Promise<void>>> = {}
  crashedWith: Error[] = []

  constructor(name: string, journal: string[] = [], options: ServiceOptions = {}) {
    super({ name, ...options })
    this.journal = journal
  }

  protected override dependencies(): Iterable<Service> {
    return this.deps
  }

  async #hook(which: keyof Recorder['hooks']): Promise<void> {
    this.journal.push(`${this.name}.${which}`)
    await this.hooks[which]?.()
  }

  protected override onFirstStart(): Promise<void> {
    return this.#hook('onFirstStart')
  }
  protected override onStart(): Promise<void> {
    return this.#hook('onStart')
  }
  protected override onStarted(): Promise<void> {
    return this.#hook('onStarted')
  }
  protected override onStop(): Promise<void> {
    return this.#hook('onStop')
  }
  protected override onShutdown(): Promise<void> {
    return this.#hook('onShutdown')
  }
  protected override async onCrashed(err: Error): Promise<void> {
    this.crashedWith.push(err)
  }
}

const states = Object.values(ServiceStates)

describe('Service state machine', () => {
  test('isValidTransition allows exactly the documented edges', () => {
    const expected: Record<ServiceState, ServiceState[]> = {
      init: ['starting', 'stopped'],
      starting: ['running', 'stopping', 'crashed'],
      running: ['stopping', 'crashed'],
      stopping: ['stopped', 'crashed'],
      stopped: ['starting'],
      crashed: ['stopping', 'starting'],
    }
    assert.deepEqual([...states].sort(), ['crashed', 'init', 'running', 'starting', 'stopped', 'stopping'])
    let valid = 0
    for (const from of states) {
      for (const to of states) {
        const want = expected[from].includes(to)
        assert.equal(isValidTransition(from, to), want, `${from} -> ${to}`)
        if (want) valid += 1
      }
    }
    assert.equal(valid, 12)
    // No state may transition to itself.
    for (const s of states) assert.equal(isValidTransition(s, s), false, `${s} -> ${s}`)
  })

  test('init -> starting -> running, observed from inside the hooks', async () => {
    const s = new Recorder('s')
    const seen: ServiceState[] = []
    s.hooks.onStart = async () => {
      seen.push(s.state)
    }
    s.hooks.onStarted = async () => {
      seen.push(s.state)
    }
    assert.equal(s.state, 'init')
    assert.equal(s.isRunning, false)
    await s.start()
    assert.deepEqual(seen, ['starting', 'running'])
    assert.equal(s.state, 'running')
    assert.equal(s.isRunning, true)
    await s.stop()
  })

  test('init -> stopped: stop() before start() runs no hooks', async () => {
    const s = new Recorder('s')
    await s.stop()
    assert.equal(s.state, 'stopped')
    assert.deepEqual(s.journal, [])
    // stopped -> starting is allowed: it can still be started later.
    await s.start()
    assert.equal(s.state, 'running')
    await s.stop()
  })

  test('running -> stopping -> stopped', async () => {
    const s = new Recorder('s')
    const seen: ServiceState[] = []
    s.hooks.onStop = async () => {
      seen.push(s.state)
    }
    s.hooks.onShutdown = async () => {
      seen.push(s.state)
    }
    await s.start()
    await s.stop()
    assert.deepEqual(seen, ['stopping', 'stopping'])
    assert.equal(s.state, 'stopped')
    assert.equal(s.signal.aborted, true)
  })

  test('stopped -> starting: a restart runs onFirstStart only once and gets a fresh signal', async () => {
    const s = new Recorder('s')
    await s.start()
    const first = s.signal
    await s.stop()
    assert.equal(first.aborted, true)
    await s.start()
    assert.equal(s.state, 'running')
    assert.notEqual(s.signal, first)
    assert.equal(s.signal.aborted, false)
    assert.deepEqual(
      s.journal.filter((e) => e !== 's.onStarted' && e !== 's.onShutdown'),
      ['s.onFirstStart', 's.onStart', 's.onStop', 's.onStart'],
    )
    await s.restart()
    assert.equal(s.state, 'running')
    assert.equal(s.journal.filter((e) => e === 's.onStart').length, 3)
    assert.equal(s.journal.filter((e) => e === 's.onFirstStart').length, 1)
    await s.stop()
  })

  test('starting -> stopping: stop() during start stops cleanly without starting children or tasks', async () => {
    const child = new Recorder('child')
    const s = new Recorder('s')
    s.deps = [child]
    const inStart = gate()
    const release = gate()
    s.hooks.onStart = async () => {
      inStart.open()
      await release.promise
    }
    let taskRan = false
    s.addTask('task', async () => {
      taskRan = true
    })
    const starting = s.start()
    await inStart.promise
    assert.equal(s.state, 'starting')
    const stopping = s.stop()
    assert.equal(s.state, 'stopping')
    release.open()
    await Promise.all([starting, stopping])
    assert.equal(s.state, 'stopped')
    assert.equal(taskRan, false)
    assert.equal(child.journal.includes('child.onStart'), false)
    assert.equal(s.journal.includes('s.onStarted'), false)
  })

  test('starting -> crashed: a failing onStart rejects start(), cleans up and records the reason', async () => {
    const log = recordingLogger()
    const child = new Recorder('child')
    const s = new Recorder('s', [], { log })
    s.deps = [child]
    const boom = new Error('cannot connect')
    // The failure comes from a dependency, while the parent is still starting.
    child.hooks.onStart = async () => {
      throw boom
    }
    await assert.rejects(s.start(), (err) => err === boom)
    assert.equal(s.state, 'crashed')
    assert.equal(s.crashReason, boom)
    assert.equal(child.state, 'stopped', 'the failed child is stopped by the parent cleanup')
    assert.ok(s.journal.includes('s.onStop') && s.journal.includes('s.onShutdown'), 'cleanup hooks ran')
    assert.ok(log.lines.some((l) => l.level === 'error' && /failed to start/.test(l.msg ?? '')))
    // crashed -> starting: start() again works and clears the reason.
    child.hooks.onStart = undefined
    await s.start()
    assert.equal(s.state, 'running')
    assert.equal(s.crashReason, undefined)
    await s.stop()
  })

  test('starting -> crashed: onStart itself throwing rejects start() with that error', async () => {
    const s = new Recorder('s')
    s.hooks.onStart = async () => {
      throw new Error('bad config')
    }
    await assert.rejects(s.start(), /bad config/)
    assert.equal(s.state, 'crashed')
    assert.equal(s.crashReason?.message, 'bad config')
    assert.equal(s.journal.includes('s.onStarted'), false)
    await s.stop()
    assert.equal(s.state, 'stopped')
  })

  test('running -> crashed -> stopping -> stopped', async () => {
    const s = new Recorder('s')
    await s.start()
    const err = new Error('broken')
    s.crash(err)
    assert.equal(s.state, 'crashed')
    assert.equal(s.crashReason, err)
    assert.equal(s.signal.aborted, true)
    await settle()
    assert.deepEqual(s.crashedWith, [err])
    // A second crash is ignored.
    s.crash(new Error('again'))
    assert.equal(s.crashReason, err)
    await s.stop()
    assert.equal(s.state, 'stopped')
    assert.ok(s.journal.includes('s.onStop'))
  })

  test('crash() wraps non-Error values', async () => {
    const s = new Recorder('s')
    await s.start()
    s.crash('a string')
    assert.ok(s.crashReason instanceof Error)
    assert.equal(s.crashReason.message, 'a string')
    await s.stop()
  })

  test('crashed -> starting: start() after a crash runs again', async () => {
    const s = new Recorder('s')
    await s.start()
    s.crash(new Error('x'))
    await s.start()
    assert.equal(s.state, 'running')
    assert.equal(s.crashReason, undefined)
    await s.stop()
  })

  test('invalid: start() while stopping rejects with ServiceStateError', async () => {
    const s = new Recorder('s')
    const inStop = gate()
    const release = gate()
    s.hooks.onStop = async () => {
      inStop.open()
      await release.promise
    }
    await s.start()
    const stopping = s.stop()
    await inStop.promise
    await assert.rejects(s.start(), (err: unknown) => {
      assert.ok(err instanceof ServiceStateError)
      assert.ok(err instanceof FaustError)
      assert.equal(err.code, 'FAUST_ERR_SERVICE_STATE')
      assert.match(err.message, /stopping/)
      return true
    })
    release.open()
    await stopping
    assert.equal(s.state, 'stopped')
  })

  test('crash() is ignored in init and stopped, and only logged while stopping', async () => {
    const log = recordingLogger()
    const s = new Recorder('s', [], { log })
    s.crash(new Error('early'))
    assert.equal(s.state, 'init')
    assert.equal(s.crashReason, undefined)

    const inStop = gate()
    const release = gate()
    s.hooks.onStop = async () => {
      inStop.open()
      await release.promise
    }
    await s.start()
    const stopping = s.stop()
    await inStop.promise
    s.crash(new Error('while stopping'))
    assert.equal(s.state, 'stopping')
    assert.ok(log.lines.some((l) => l.level === 'error' && /failed while stopping/.test(l.msg ?? '')))
    release.open()
    await stopping
    assert.equal(s.state, 'stopped')
    s.crash(new Error('late'))
    assert.equal(s.state, 'stopped')
    assert.equal(s.crashReason, undefined)
  })
})

describe('Service start and stop order', () => {
  test('hooks, children and tasks run in the documented order; children stop in reverse', async () => {
    const journal: string[] = []
    const a = new Recorder('a', journal)
    const b = new Recorder('b', journal)
    const c = new Recorder('c', journal)
    const parent = new Recorder('p', journal)
    parent.deps = [a, b, c]
    parent.addTask('work', async (signal) => {
      journal.push('p.task started')
      await new Promise<void>((resolve) =>
        signal.addEventListener(
          'abort',
          () => {
            journal.push('p.signal aborted')
            resolve()
          },
          { once: true },
        ),
      )
      await settle(1) // finish well after the children stopped: stop() must still wait
      journal.push('p.task returned')
    })
    await parent.start()
    const started = journal.filter((e) => !e.endsWith('onFirstStart'))
    assert.deepEqual(started, [
      'p.onStart',
      'a.onStart',
      'a.onStarted',
      'b.onStart',
      'b.onStarted',
      'c.onStart',
      'c.onStarted',
      'p.task started',
      'p.onStarted',
    ])
    assert.deepEqual(journal.slice(0, 2), ['p.onFirstStart', 'p.onStart'])
    assert.deepEqual(parent.children, [a, b, c])
    for (const child of [a, b, c]) {
      assert.equal(child.parent, parent)
      assert.equal(child.state, 'running')
    }

    journal.length = 0
    await parent.stop()
    assert.deepEqual(
      journal.filter((e) => !e.endsWith('onShutdown') || e.startsWith('p.')),
      ['p.onStop', 'p.signal aborted', 'c.onStop', 'b.onStop', 'a.onStop', 'p.task returned', 'p.onShutdown'],
    )
    // Each child finishes (onShutdown) before the next one in reverse order begins.
    const order = journal.filter((e) => /^[abc]\./.test(e))
    assert.deepEqual(order, ['c.onStop', 'c.onShutdown', 'b.onStop', 'b.onShutdown', 'a.onStop', 'a.onShutdown'])
    for (const child of [a, b, c]) assert.equal(child.state, 'stopped')
  })

  test('children inherit the parent logger and clock unless they have their own', async () => {
    const log = recordingLogger()
    const clock = new VirtualClock()
    const ownClock = new VirtualClock()
    const plain = new Recorder('plain')
    const custom = new Recorder('custom', [], { clock: ownClock })
    const parent = new Recorder('p', [], { log, clock })
    parent.deps = [plain, custom]
    await parent.start()
    assert.equal(plain.log, log)
    assert.equal(plain.clock, clock)
    assert.equal(custom.clock, ownClock)
    await parent.stop()
  })

  test('addDependency on a running service starts the child at once; removeDependency forgets it', async () => {
    const parent = new Recorder('p')
    await parent.start()
    const late = new Recorder('late')
    await parent.addDependency(late)
    assert.equal(late.state, 'running')
    assert.deepEqual(parent.children, [late])
    await parent.addDependency(late)
    assert.equal(parent.children.length, 1, 'adding twice is a no-op')
    parent.removeDependency(late)
    assert.deepEqual(parent.children, [])
    await parent.stop()
    assert.equal(late.state, 'running', 'a removed child is no longer stopped with the parent')
    await late.stop()
  })

  test('addDependency before start adopts without starting', async () => {
    const parent = new Recorder('p')
    const child = new Recorder('child')
    await parent.addDependency(child)
    assert.equal(child.state, 'init')
    await parent.start()
    assert.equal(child.state, 'running')
    await parent.stop()
    assert.equal(child.state, 'stopped')
  })

  test('a failing onStop or onShutdown is logged and does not prevent the stop', async () => {
    const log = recordingLogger()
    const s = new Recorder('s', [], { log })
    s.hooks.onStop = async () => {
      throw new Error('onStop broke')
    }
    s.hooks.onShutdown = async () => {
      throw new Error('onShutdown broke')
    }
    await s.start()
    await s.stop()
    assert.equal(s.state, 'stopped')
    const errors = log.lines.filter((l) => l.level === 'error').map((l) => l.msg)
    assert.equal(errors.length, 2)
    assert.match(errors[0] ?? '', /onStop failed.*onStop broke/)
    assert.match(errors[1] ?? '', /onShutdown failed.*onShutdown broke/)
  })

  test('Symbol.asyncDispose stops the service', async () => {
    const s = new Recorder('s')
    await s.start()
    await s[Symbol.asyncDispose]()
    assert.equal(s.state, 'stopped')
  })
})

describe('Service background tasks', () => {
  test('a task gets the run signal, which aborts on stop; stop waits for the task', async () => {
    const s = new Recorder('s')
    const received: AbortSignal[] = []
    let finished = false
    s.addTask('loop', async (signal) => {
      received.push(signal)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
      await settle(1)
      finished = true
    })
    const launches = () => received.length
    assert.equal(launches(), 0, 'a task declared before start does not run yet')
    await s.start()
    assert.equal(launches(), 1)
    const signal = received[0]
    assert.ok(signal !== undefined)
    assert.equal(signal, s.signal)
    assert.equal(signal.aborted, false)
    await s.stop()
    assert.equal(signal.aborted, true)
    assert.equal(finished, true, 'stop() waited for the task to return')
    assert.deepEqual(s.hungTasks, [])
  })

  test('declared tasks relaunch on restart with a fresh signal; spawned ones run once (before start: at the first start)', async () => {
    const s = new Recorder('s')
    const declaredSignals: AbortSignal[] = []
    let spawnedRuns = 0
    s.addTask('declared', async (signal) => {
      declaredSignals.push(signal)
    })
    s.spawn('waits for the first start', async () => {
      spawnedRuns += 100
    })
    await s.start()
    s.spawn('once', async () => {
      spawnedRuns += 1
    })
    await s.restart()
    await settle()
    assert.equal(declaredSignals.length, 2)
    assert.notEqual(declaredSignals[0], declaredSignals[1])
    assert.equal(declaredSignals[0]?.aborted, true)
    assert.equal(declaredSignals[1]?.aborted, false)
    assert.equal(spawnedRuns, 101)
    await s.stop()
  })

  test('addTask on a running service launches at once', async () => {
    const s = new Recorder('s')
    await s.start()
    const ran = gate()
    s.addTask('late', async () => {
      ran.open()
    })
    await ran.promise
    await s.stop()
  })

  test('a task that throws crashes the service with its error', async () => {
    const s = new Recorder('s')
    const err = new Error('task failed')
    const go = gate()
    s.addTask('bad', async () => {
      await go.promise
      throw err
    })
    await s.start()
    go.open()
    await settle()
    assert.equal(s.state, 'crashed')
    assert.equal(s.crashReason, err)
    await s.stop()
  })

  test('errors thrown after the abort do not crash; only non-abort ones are logged', async () => {
    const log = recordingLogger()
    const s = new Recorder('s', [], { log })
    s.addTask('aborts', async (signal) => {
      await new Promise<void>((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true }),
      )
    })
    s.addTask('fails late', async (signal) => {
      await new Promise<void>((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(new Error('cleanup failed')), { once: true }),
      )
    })
    await s.start()
    await s.stop()
    assert.equal(s.state, 'stopped')
    assert.equal(s.crashReason, undefined)
    const warns = log.lines.filter((l) => l.level === 'warn')
    assert.equal(warns.length, 1)
    assert.match(warns[0]?.msg ?? '', /fails late failed while stopping/)
  })

  test('stop() gives up after stopTimeout on a task that ignores its signal and names it in hungTasks', async () => {
    const log = recordingLogger()
    const s = new Recorder('s', [], { log, stopTimeout: 0.05 })
    const never = gate()
    s.addTask('stubborn', () => never.promise)
    s.addTask('polite', async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    })
    await s.start()
    const t0 = performance.now()
    await s.stop()
    const elapsed = performance.now() - t0
    assert.equal(s.state, 'stopped')
    assert.ok(elapsed >= 40, `waited ${elapsed}ms, at least the timeout`)
    assert.ok(elapsed < 1000, `stop took ${elapsed}ms, far beyond stopTimeout`)
    assert.deepEqual(s.hungTasks, ['stubborn'])
    assert.ok(s.journal.includes('s.onShutdown'), 'onShutdown still runs')
    const warn = log.lines.find((l) => l.level === 'warn')
    assert.ok(warn)
    assert.match(warn.msg ?? '', /stubborn/)
    never.open()
    await settle()
    // A later clean stop resets hungTasks.
    s.addTask('x', async () => {})
    await s.start()
    await s.stop()
    assert.deepEqual(s.hungTasks, [])
  })

  test('a crash in a child reaches the parent when there is no supervisor', async () => {
    const child = new Recorder('child')
    const parent = new Recorder('p')
    parent.deps = [child]
    await parent.start()
    const err = new Error('child broke')
    child.crash(err)
    assert.equal(child.state, 'crashed')
    assert.equal(parent.state, 'crashed')
    assert.equal(parent.crashReason, err)
    await parent.stop()
    assert.equal(child.state, 'stopped')
  })

  test('a custom crashHandler receives the service and error instead of the parent', async () => {
    const child = new Recorder('child')
    const parent = new Recorder('p')
    parent.deps = [child]
    const got: Array<[Service, Error]> = []
    child.crashHandler = { onCrash: (svc, e) => got.push([svc, e]) }
    await parent.start()
    const err = new Error('boom')
    child.crash(err)
    assert.deepEqual(got, [[child, err]])
    assert.equal(parent.state, 'running')
    await parent.stop()
  })

  test('waitUntilStopped resolves once the service has crashed', async () => {
    const s = new Recorder('s')
    await s.start()
    const waiting = s.waitUntilStopped()
    setTimeout(() => s.crash(new Error('x')), 5)
    await waiting
    assert.equal(s.state, 'crashed')
    await s.stop()
  })

  test('isAbortError recognises AbortError names and ABORT_ERR codes only', () => {
    assert.equal(isAbortError(new DOMException('x', 'AbortError')), true)
    const coded = Object.assign(new Error('x'), { code: 'ABORT_ERR' })
    assert.equal(isAbortError(coded), true)
    assert.equal(isAbortError(new Error('x')), false)
    assert.equal(isAbortError('AbortError'), false)
  })
})

describe('Service timers', () => {
  test('addTimer is drift-corrected: a slow tick does not push later ticks back', async () => {
    const clock = new VirtualClock(0)
    const s = new Recorder('s', [], { clock })
    const ticks: number[] = []
    s.addTimer('tick', 1, async () => {
      ticks.push(clock.now())
      if (ticks.length === 1) await clock.sleep(300) // the first tick takes 300ms
    })
    await s.start()
    await clock.advance(3000)
    // Without drift correction the ticks would be 1000, 2300, 3300.
    assert.deepEqual(ticks, [1000, 2000, 3000])
    await s.stop()
  })

  test('addTimer catches up without a warning when less than one interval late', async () => {
    const clock = new VirtualClock(0)
    const log = recordingLogger()
    const s = new Recorder('s', [], { clock, log })
    const ticks: number[] = []
    s.addTimer('tick', 1, async () => {
      ticks.push(clock.now())
      if (ticks.length === 1) await clock.sleep(1500)
    })
    await s.start()
    await clock.advance(3000)
    assert.deepEqual(ticks, [1000, 2500, 3000])
    assert.equal(log.lines.filter((l) => l.level === 'warn').length, 0)
    await s.stop()
  })

  test('addTimer warns when woken more than an interval late and restarts the schedule from now', async () => {
    const clock = new VirtualClock(0)
    const log = recordingLogger()
    const s = new Recorder('s', [], { clock, log })
    const ticks: number[] = []
    s.addTimer('slow', 1, async () => {
      ticks.push(clock.now())
      if (ticks.length === 1) await clock.sleep(2500)
    })
    await s.start()
    await clock.advance(4500)
    assert.deepEqual(ticks, [1000, 3500, 4500])
    const warns = log.lines.filter((l) => l.level === 'warn')
    assert.equal(warns.length, 1)
    assert.deepEqual(warns[0]?.obj, { timer: 'slow', lateMs: 1500 })
    assert.match(warns[0]?.msg ?? '', /slow woke up too late/)
    await s.stop()
  })

  test('a timer stops ticking when the service stops and resumes on restart', async () => {
    const clock = new VirtualClock(0)
    const s = new Recorder('s', [], { clock })
    const ticks: number[] = []
    s.addTimer('tick', 0.5, () => {
      ticks.push(clock.now())
    })
    await s.start()
    await clock.advance(1000)
    assert.deepEqual(ticks, [500, 1000])
    await s.stop()
    assert.deepEqual(s.hungTasks, [], 'the timer returned promptly on abort')
    await clock.advance(5000)
    assert.deepEqual(ticks, [500, 1000])
    await s.start()
    await clock.advance(500)
    assert.deepEqual(ticks, [500, 1000, 6500])
    await s.stop()
  })

  test('a timer whose callback throws crashes the service', async () => {
    const clock = new VirtualClock(0)
    const s = new Recorder('s', [], { clock })
    const err = new Error('tick failed')
    s.addTimer('bad', 1, () => {
      throw err
    })
    await s.start()
    await clock.advance(1000)
    assert.equal(s.state, 'crashed')
    assert.equal(s.crashReason, err)
    await s.stop()
  })
})

describe('Service idempotence', () => {
  test('concurrent start() calls share one promise and start once', async () => {
    const s = new Recorder('s')
    const release = gate()
    s.hooks.onStart = () => release.promise
    const a = s.start()
    const b = s.start()
    assert.equal(a, b)
    release.open()
    await Promise.all([a, b])
    await s.start() // already running: resolves at once
    assert.equal(s.journal.filter((e) => e === 's.onStart').length, 1)
    await s.stop()
  })

  test('concurrent stop() calls share one promise and stop once', async () => {
    const s = new Recorder('s')
    const release = gate()
    s.hooks.onStop = () => release.promise
    await s.start()
    const a = s.stop()
    const b = s.stop()
    assert.equal(a, b)
    release.open()
    await Promise.all([a, b])
    await s.stop() // already stopped
    assert.equal(s.journal.filter((e) => e === 's.onStop').length, 1)
    assert.equal(s.journal.filter((e) => e === 's.onShutdown').length, 1)
  })

  test('a service shared by two parents is started and stopped once', async () => {
    const journal: string[] = []
    const shared = new Recorder('shared', journal)
    const p1 = new Recorder('p1')
    const p2 = new Recorder('p2')
    p1.deps = [shared]
    p2.deps = [shared]
    await Promise.all([p1.start(), p2.start()])
    assert.deepEqual(
      journal.filter((e) => e === 'shared.onStart'),
      ['shared.onStart'],
    )
    await Promise.all([p1.stop(), p2.stop()])
    assert.deepEqual(
      journal.filter((e) => e === 'shared.onStop'),
      ['shared.onStop'],
    )
  })
})
