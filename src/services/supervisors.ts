/**
 * Supervisors decide what a crash means (mode's supervisors, re-created):
 *
 * - `one_for_one`: restart only the service that crashed.
 * - `one_for_all`: restart every service the supervisor watches.
 * - `crashing`: do not restart; the crash goes up to the supervisor's own parent (the app, whose
 *   crash stops the worker).
 *
 * A supervisor that has restarted more than `maxRestarts` times within `overSeconds` gives up and
 * escalates a SupervisorGaveUp crash to its parent.
 * @module
 */
import { describeError, SupervisorGaveUp } from '../errors.ts'
import { type CrashHandler, Service, type ServiceOptions } from './service.ts'

export const SupervisorStrategies = {
  ONE_FOR_ONE: 'one_for_one',
  ONE_FOR_ALL: 'one_for_all',
  CRASHING: 'crashing',
} as const
export type SupervisorStrategy = (typeof SupervisorStrategies)[keyof typeof SupervisorStrategies]

export interface SupervisorOptions extends ServiceOptions {
  strategy?: SupervisorStrategy
  /** Restarts allowed within `overSeconds` before giving up. */
  maxRestarts?: number
  overSeconds?: number
  /** First delay before a restart, doubled for each restart in the window (seconds). */
  backoff?: number
  maxBackoff?: number
}

export class Supervisor extends Service implements CrashHandler {
  readonly strategy: SupervisorStrategy
  readonly maxRestarts: number
  readonly overSeconds: number
  readonly backoff: number
  readonly maxBackoff: number
  /** Total restarts done, for sensors and tests. */
  restarts = 0
  #watched: Service[] = []
  #recent: number[] = []
  #busy = false
  #pending: Service[] = []
  #escalate: ((err: Error) => void) | undefined

  constructor(options: SupervisorOptions & { escalate?: (err: Error) => void } = {}) {
    super({ name: 'Supervisor', ...options })
    this.strategy = options.strategy ?? 'one_for_one'
    this.maxRestarts = options.maxRestarts ?? 10
    this.overSeconds = options.overSeconds ?? 60
    this.backoff = options.backoff ?? 0.1
    this.maxBackoff = options.maxBackoff ?? 5
    this.#escalate = options.escalate
  }

  /** Watch a service: its crashes come here instead of to its parent. */
  watch(service: Service): void {
    if (!this.#watched.includes(service)) this.#watched.push(service)
    service.crashHandler = this
  }

  unwatch(service: Service): void {
    this.#watched = this.#watched.filter((s) => s !== service)
    if (service.crashHandler === this) service.crashHandler = undefined
  }

  get watched(): readonly Service[] {
    return this.#watched
  }

  onCrash(service: Service, err: Error): void {
    if (this.strategy === 'crashing') {
      this.#giveUp(err)
      return
    }
    // A child can crash while the supervisor is still starting its other children.
    if (this.state !== 'running' && this.state !== 'starting') return
    const now = this.clock.now()
    this.#recent = this.#recent.filter((t) => now - t < this.overSeconds * 1000)
    this.#recent.push(now)
    if (this.#recent.length > this.maxRestarts) {
      this.#giveUp(
        new SupervisorGaveUp(
          `${service.name} crashed ${this.#recent.length} times within ${this.overSeconds}s; giving up (last error: ${describeError(err)})`,
          { service: service.name, cause: err },
        ),
      )
      return
    }
    const targets = this.strategy === 'one_for_all' ? [...this.#watched] : [service]
    for (const t of targets) if (!this.#pending.includes(t)) this.#pending.push(t)
    this.#drain()
  }

  /** Start the restart loop unless it runs already. */
  #drain(): void {
    if (this.#busy || this.#pending.length === 0) return
    this.#busy = true
    this.spawn('restart', async (signal) => {
      try {
        await this.#restartPending(signal)
      } finally {
        this.#busy = false
        // A crash that landed between the loop's last check and here is still queued.
        if (!signal.aborted) this.#drain()
      }
    })
  }

  /**
   * Restart everything queued, one at a time, each after a backoff that doubles with the crashes
   * in the window. Services that crash meanwhile (or fail to start again) join the queue.
   */
  async #restartPending(signal: AbortSignal): Promise<void> {
    for (let target = this.#pending.shift(); target !== undefined; target = this.#pending.shift()) {
      const delay = Math.min(this.maxBackoff, this.backoff * 2 ** Math.max(0, this.#recent.length - 1))
      if (!(await this.clock.sleep(delay * 1000, signal))) return
      this.restarts += 1
      this.log.warn({ service: target.name, restarts: this.restarts }, `restarting ${target.name}`)
      try {
        await target.restart()
      } catch (err) {
        // A failed start leaves the target crashed without going through crash(): count it here.
        this.onCrash(target, err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  #giveUp(err: Error): void {
    if (this.#escalate !== undefined) this.#escalate(err)
    else this.crash(err)
  }
}
