/**
 * Clocks and sleeping.
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { ClockT } from '../types/clock.ts'

/** Sleep `ms`; resolves false (never rejects) when the signal aborts first. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false
  try {
    await delay(Math.max(0, ms), undefined, signal === undefined ? undefined : { signal })
    return true
  } catch (err) {
    if (signal?.aborted) return false
    throw err
  }
}

export const systemClock: ClockT = {
  now: () => Date.now(),
  sleep,
}

/**
 * A clock that only moves when told to. `advance(ms)` wakes every sleeper whose time has come,
 * in time order, letting each run before the next wakes.
 */
export class VirtualClock implements ClockT {
  #now: number
  #sleepers: Array<{ at: number; wake: (v: boolean) => void }> = []

  constructor(start = 0) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false)
    return new Promise((resolve) => {
      const entry = {
        at: this.#now + Math.max(0, ms),
        wake: (v: boolean) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(v)
        },
      }
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== entry)
        entry.wake(false)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#sleepers.push(entry)
    })
  }

  /** Move time forward, waking sleepers in order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms
    for (;;) {
      this.#sleepers.sort((a, b) => a.at - b.at)
      const next = this.#sleepers[0]
      if (next === undefined || next.at > target) break
      this.#sleepers.shift()
      this.#now = Math.max(this.#now, next.at)
      next.wake(true)
      await settle()
    }
    this.#now = target
    await settle()
  }

  /** Jump to an absolute time (never backwards). */
  async set(ms: number): Promise<void> {
    await this.advance(Math.max(0, ms - this.#now))
  }
}

/** Let pending promise continuations and I/O callbacks run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r))
}
