/**
 * A wake-up signal: `wait()` resolves at the next `notify()` (or when the signal aborts).
 * @module
 */

export class Pulse {
  #waiters: Array<() => void> = []

  notify(): void {
    const waiters = this.#waiters
    if (waiters.length === 0) return
    this.#waiters = []
    for (const w of waiters) w()
  }

  /** Resolves true on the next notify(), false if the signal aborts first. */
  wait(signal?: AbortSignal, timeoutMs?: number): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false)
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (v: boolean) => {
        if (timer !== undefined) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(v)
      }
      const wake = () => done(true)
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== wake)
        done(false)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== wake)
          done(true)
        }, timeoutMs)
      }
      this.#waiters.push(wake)
    })
  }
}
