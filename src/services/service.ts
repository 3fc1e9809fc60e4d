/**
 * Service: everything that starts and stops (mode's Service, re-created).
 *
 * ```
 *            start()               started            stop()              done
 *   init ──────────────▶ starting ───────▶ running ──────────▶ stopping ───────▶ stopped
 *     │                     │                 │                   ▲                │
 *     │ stop()              │ crash(err)      │ crash(err)        │ stop()         │ start() (restart)
 *     ▼                     ▼                 ▼                   │                ▼
 *   stopped              crashed ◀────────────┘ ──────────────────┘             starting
 * ```
 *
 * Start order: onFirstStart (once) → onStart → dependencies in order → background tasks and
 * timers → onStarted. Stop order: onStop → abort the run's signal → dependencies in reverse →
 * wait for tasks (at most `stopTimeout`, naming any that hang) → onShutdown.
 * @module
 */
import { describeError, ServiceStateError, toError } from '../errors.ts'
import type { ClockT } from '../types/clock.ts'
import { type LoggerT, silentLogger } from '../types/logging.ts'
import { sleep, systemClock } from '../utils/time.ts'

export const ServiceStates = {
  INIT: 'init',
  STARTING: 'starting',
  RUNNING: 'running',
  STOPPING: 'stopping',
  STOPPED: 'stopped',
  CRASHED: 'crashed',
} as const
export type ServiceState = (typeof ServiceStates)[keyof typeof ServiceStates]

const allowed: Record<ServiceState, readonly ServiceState[]> = {
  init: ['starting', 'stopped'],
  starting: ['running', 'stopping', 'crashed'],
  running: ['stopping', 'crashed'],
  stopping: ['stopped', 'crashed'],
  stopped: ['starting'],
  crashed: ['stopping', 'starting'],
}

/** Whether the state machine allows `from → to`. */
export function isValidTransition(from: ServiceState, to: ServiceState): boolean {
  return allowed[from].includes(to)
}

/** Who hears about a crash: a supervisor, or the parent service. */
export interface CrashHandler {
  onCrash(service: Service, err: Error): void
}

export interface ServiceOptions {
  name?: string
  log?: LoggerT
  clock?: ClockT
  /** Seconds stop() waits for background tasks before giving up on them. */
  stopTimeout?: number
}

interface RunningTask {
  name: string
  done: Promise<void>
}

export abstract class Service {
  readonly name: string
  log: LoggerT
  clock: ClockT
  stopTimeout: number
  /** Set when the service crashed: the reason. */
  crashReason: Error | undefined
  /** Set when the last stop() gave up waiting: the names of the tasks that hung. */
  hungTasks: string[] = []
  /** Where crashes go; a supervisor sets itself here. Without one, a crash goes to the parent. */
  crashHandler: CrashHandler | undefined

  #state: ServiceState = 'init'
  #started = false
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #abort = new AbortController()
  #tasks = new Set<RunningTask>()
  #declared: Array<{ name: string; fn: (signal: AbortSignal) => Promise<void> }> = []
  #children: Service[] = []
  /** One-off work spawned before the first start, launched by it. */
  #early: Array<{ name: string; fn: (signal: AbortSignal) => Promise<void> }> = []
  #parent: Service | undefined

  constructor(options: ServiceOptions = {}) {
    this.name = options.name ?? this.constructor.name
    this.log = options.log ?? silentLogger
    this.clock = options.clock ?? systemClock
    this.stopTimeout = options.stopTimeout ?? 10
  }

  get state(): ServiceState {
    return this.#state
  }

  get isRunning(): boolean {
    return this.#state === 'running'
  }

  /** Aborted when the service stops or crashes; every background task watches it. */
  get signal(): AbortSignal {
    return this.#abort.signal
  }

  get parent(): Service | undefined {
    return this.#parent
  }

  /** Services started after this one starts, in order, and stopped in reverse. */
  protected dependencies(): Iterable<Service> {
    return []
  }

  /** Add a child at any time; if this service is running the child starts now. */
  async addDependency(child: Service): Promise<void> {
    this.#adopt(child)
    if (this.#state === 'running' || this.#state === 'starting') await child.start()
  }

  /** Forget a child (after stopping it). */
  removeDependency(child: Service): void {
    this.#children = this.#children.filter((c) => c !== child)
  }

  get children(): readonly Service[] {
    return this.#children
  }

  protected async onFirstStart(): Promise<void> {}
  protected async onStart(): Promise<void> {}
  protected async onStarted(): Promise<void> {}
  protected async onStop(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
  protected async onCrashed(_err: Error): Promise<void> {}

  /**
   * Declare background work. Declared before start, it launches when the service starts (and
   * again on every restart); declared while running, it launches at once. The function must
   * return when the signal aborts. If it throws, the service crashes.
   */
  addTask(name: string, fn: (signal: AbortSignal) => Promise<void>): void {
    this.#declared.push({ name, fn })
    if (this.#state === 'running') this.#launch(name, fn)
  }

  /**
   * Run one-off background work in the current run only (not relaunched on restart). Aborted and
   * awaited on stop like declared tasks. Spawned before the first start, it waits for that start;
   * spawned while stopping or stopped, it is ignored.
   */
  spawn(name: string, fn: (signal: AbortSignal) => Promise<void>): void {
    if (this.#state === 'running' || this.#state === 'starting') this.#launch(name, fn)
    else if (this.#state === 'init') this.#early.push({ name, fn })
  }

  /**
   * Run `fn` every `seconds`, drift-corrected: ticks are scheduled from the first tick's time, so
   * a slow tick does not push every later tick back. A tick that wakes more than one interval
   * late is logged and the schedule restarts from now.
   */
  addTimer(name: string, seconds: number, fn: (signal: AbortSignal) => Promise<void> | void): void {
    const interval = seconds * 1000
    this.addTask(name, async (signal) => {
      let next = this.clock.now() + interval
      while (!signal.aborted) {
        if (!(await this.clock.sleep(next - this.clock.now(), signal))) return
        const late = this.clock.now() - next
        if (late > interval) {
          this.log.warn({ timer: name, lateMs: Math.round(late) }, `Timer ${name} woke up too late`)
          next = this.clock.now()
        }
        await fn(signal)
        next += interval
      }
    })
  }

  /** Start this service and its dependencies. Idempotent: a second call returns the same promise. */
  start(): Promise<void> {
    if (this.#state === 'running') return Promise.resolve()
    if (this.#starting !== undefined) return this.#starting
    if (this.#stopping !== undefined) {
      return Promise.reject(new ServiceStateError(`${this.name} is stopping; wait for it before starting again`))
    }
    this.#starting = this.#doStart().finally(() => {
      this.#starting = undefined
    })
    return this.#starting
  }

  async #doStart(): Promise<void> {
    this.#transition('starting')
    this.#abort = new AbortController()
    this.crashReason = undefined
    try {
      for (const child of this.dependencies()) this.#adopt(child)
      if (!this.#started) {
        this.#started = true
        await this.onFirstStart()
      }
      await this.onStart()
      for (const child of this.#children) {
        if (this.#state !== 'starting') return
        await child.start()
      }
      if (this.#state !== 'starting') return
      for (const { name, fn } of this.#declared) this.#launch(name, fn)
      for (const { name, fn } of this.#early.splice(0)) this.#launch(name, fn)
      this.#transition('running')
      await this.onStarted()
    } catch (err) {
      const error = toError(err)
      if (this.#state === 'starting' || this.#state === 'running') {
        this.log.error({ err: error, service: this.name }, `${this.name} failed to start: ${describeError(error)}`)
        await this.#stopInternals()
        this.#state = 'crashed'
        this.crashReason = error
      }
      throw error
    }
  }

  /** Stop this service: abort tasks, stop dependencies in reverse, wait (bounded) for tasks. Idempotent. */
  stop(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve()
    if (this.#state === 'init') {
      this.#transition('stopped')
      return Promise.resolve()
    }
    if (this.#stopping !== undefined) return this.#stopping
    this.#stopping = this.#doStop().finally(() => {
      this.#stopping = undefined
    })
    return this.#stopping
  }

  async #doStop(): Promise<void> {
    // A stop during start lets start see the state change and return early.
    this.#transition('stopping')
    await this.#stopInternals()
    this.#state = 'stopped'
  }

  async #stopInternals(): Promise<void> {
    try {
      await this.onStop()
    } catch (err) {
      this.log.error({ err, service: this.name }, `${this.name}.onStop failed: ${describeError(err)}`)
    }
    this.#abort.abort()
    for (const child of [...this.#children].reverse()) {
      try {
        await child.stop()
      } catch (err) {
        this.log.error({ err, service: child.name }, `stopping ${child.name} failed: ${describeError(err)}`)
      }
    }
    await this.#waitTasks()
    try {
      await this.onShutdown()
    } catch (err) {
      this.log.error({ err, service: this.name }, `${this.name}.onShutdown failed: ${describeError(err)}`)
    }
  }

  async #waitTasks(): Promise<void> {
    this.hungTasks = []
    if (this.#tasks.size === 0) return
    const timeout = new AbortController()
    const all = Promise.all([...this.#tasks].map((t) => t.done))
    const finished = await Promise.race([
      all.then(() => true),
      sleep(this.stopTimeout * 1000, timeout.signal).then(() => false),
    ])
    timeout.abort()
    if (!finished) {
      this.hungTasks = [...this.#tasks].map((t) => t.name)
      this.log.warn(
        { service: this.name, tasks: this.hungTasks },
        `${this.name} stopped without waiting for hung task(s): ${this.hungTasks.join(', ')} (still running after ${this.stopTimeout}s)`,
      )
      this.#tasks.clear()
    }
  }

  /** Stop, then start again (from running, stopped or crashed). */
  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  /**
   * Mark this service crashed and tell whoever supervises it. Background work is aborted at once;
   * the crash handler (or the parent) decides whether to restart or stop.
   */
  crash(err: unknown): void {
    const error = toError(err)
    if (this.#state === 'crashed' || this.#state === 'stopped' || this.#state === 'init') return
    if (this.#state === 'stopping') {
      this.log.error({ err: error, service: this.name }, `${this.name} failed while stopping: ${describeError(error)}`)
      return
    }
    this.log.error({ err: error, service: this.name }, `${this.name} crashed: ${describeError(error)}`)
    this.#state = 'crashed'
    this.crashReason = error
    this.#abort.abort()
    this.onCrashed(error).catch((e: unknown) => {
      this.log.error({ err: e }, `${this.name}.onCrashed failed: ${describeError(e)}`)
    })
    if (this.crashHandler !== undefined) this.crashHandler.onCrash(this, error)
    else this.#parent?.crash(error)
  }

  /** Wait until the service leaves the running/starting states (stopped or crashed). */
  async waitUntilStopped(signal?: AbortSignal): Promise<void> {
    while (this.#state === 'running' || this.#state === 'starting') {
      if (!(await sleep(20, signal))) return
    }
  }

  #launch(name: string, fn: (signal: AbortSignal) => Promise<void>): void {
    const signal = this.#abort.signal
    const task: RunningTask = { name, done: Promise.resolve() }
    task.done = (async () => {
      try {
        await fn(signal)
      } catch (err) {
        if (!signal.aborted) this.crash(err)
        else if (!isAbortError(err)) {
          this.log.warn({ err, task: name }, `task ${name} failed while stopping: ${describeError(err)}`)
        }
      } finally {
        this.#tasks.delete(task)
      }
    })()
    this.#tasks.add(task)
  }

  #adopt(child: Service): void {
    if (this.#children.includes(child)) return
    this.#children.push(child)
    child.#parent = this
    if (child.log === silentLogger) child.log = this.log
    if (child.clock === systemClock) child.clock = this.clock
  }

  #transition(to: ServiceState): void {
    if (!isValidTransition(this.#state, to)) {
      throw new ServiceStateError(`${this.name}: cannot go from ${this.#state} to ${to}`, { service: this.name })
    }
    this.#state = to
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR')
}
