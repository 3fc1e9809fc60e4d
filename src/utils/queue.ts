/**
 * The bounded buffer between the consumer and a stream.
 *
 * The conductor puts without waiting (`putNowait`): it must never block the fetch loop for one
 * slow stream. Instead the queue reports when it is full and the consumer pauses the partition
 * that filled it; when the queue drains below half, `onDrain` fires and those partitions resume.
 * In-memory channels put with `put()`, which waits for room.
 * @module
 */

export const TIMEOUT: unique symbol = Symbol('faust.queue.timeout')

export interface QueueHooks {
  /** The queue reached maxsize. */
  onFull?: (() => void) | undefined
  /** The queue drained back under half of maxsize after being full. */
  onDrain?: (() => void) | undefined
}

export class BoundedQueue<T> {
  readonly maxsize: number
  #items: Array<T | undefined> = []
  #head = 0
  #getters: Array<(v: T | undefined | typeof TIMEOUT) => void> = []
  #spaceWaiters: Array<() => void> = []
  /** readable() callers: woken after an item is stored (they do not take it). */
  #readers: Array<() => void> = []
  #closed = false
  #full = false
  /** Set by the conductor to resume partitions when the queue drains. */
  hooks: QueueHooks

  constructor(maxsize: number, hooks: QueueHooks = {}) {
    this.maxsize = maxsize
    this.hooks = hooks
  }

  get size(): number {
    return this.#items.length - this.#head
  }

  get closed(): boolean {
    return this.#closed
  }

  get isFull(): boolean {
    return this.size >= this.maxsize
  }

  /** Put without waiting. Returns false when the queue is now full (the caller should pause). */
  putNowait(item: T): boolean {
    if (this.#closed) return true
    const getter = this.#getters.shift()
    if (getter !== undefined) {
      getter(item)
      return true
    }
    this.#items.push(item)
    if (this.#readers.length > 0) {
      const readers = this.#readers
      this.#readers = []
      for (const r of readers) r()
    }
    if (this.size >= this.maxsize) {
      if (!this.#full) {
        this.#full = true
        this.hooks.onFull?.()
      }
      return false
    }
    return true
  }

  /** Put, waiting for room first. Resolves false if the queue was closed. */
  async put(item: T, signal?: AbortSignal): Promise<boolean> {
    while (this.size >= this.maxsize && !this.#closed) {
      if (signal?.aborted) return false
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake)
          resolve()
        }
        signal?.addEventListener('abort', wake, { once: true })
        this.#spaceWaiters.push(wake)
      })
    }
    if (this.#closed) return false
    this.putNowait(item)
    return true
  }

  /** The next item without waiting, or undefined. */
  tryGet(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head] = undefined
    this.#head += 1
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    this.#afterTake()
    return item
  }

  /**
   * The next item, waiting for one. Resolves undefined when the queue closes or the signal
   * aborts, and TIMEOUT when `deadline` (ms, from `now`) passes first.
   */
  get(signal?: AbortSignal, deadline?: number, now: () => number = Date.now): Promise<T | undefined | typeof TIMEOUT> {
    const item = this.tryGet()
    if (item !== undefined) return Promise.resolve(item)
    if (this.#closed || signal?.aborted) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const getter = (v: T | undefined | typeof TIMEOUT) => {
        if (timer !== undefined) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(v)
      }
      const drop = () => {
        const i = this.#getters.indexOf(getter)
        if (i >= 0) this.#getters.splice(i, 1)
      }
      const onAbort = () => {
        drop()
        getter(undefined)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      if (deadline !== undefined) {
        timer = setTimeout(
          () => {
            drop()
            getter(TIMEOUT)
          },
          Math.max(0, deadline - now()),
        )
      }
      this.#getters.push(getter)
    })
  }

  /** Resolves when an item is available (or the queue closes / signal aborts). Does not take it. */
  readable(signal?: AbortSignal): Promise<void> {
    if (this.size > 0 || this.#closed || signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = () => {
        this.#readers = this.#readers.filter((r) => r !== wake)
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#readers.push(wake)
    })
  }

  /** Drop every buffered item and return them (a rebalance throws away what was not processed). */
  clear(): T[] {
    const dropped = this.#items.slice(this.#head) as T[]
    this.#items = []
    this.#head = 0
    this.#afterTake()
    return dropped
  }

  /** Close: waiting getters get undefined, later puts are ignored. */
  close(): void {
    this.#closed = true
    const getters = this.#getters
    this.#getters = []
    for (const g of getters) g(undefined)
    const waiters = this.#spaceWaiters
    this.#spaceWaiters = []
    for (const w of waiters) w()
    const readers = this.#readers
    this.#readers = []
    for (const r of readers) r()
  }

  #afterTake(): void {
    const size = this.size
    if (this.#full && size <= this.maxsize / 2) {
      this.#full = false
      this.hooks.onDrain?.()
    }
    if (this.#spaceWaiters.length > 0 && size < this.maxsize) {
      const waiters = this.#spaceWaiters
      this.#spaceWaiters = []
      for (const w of waiters) w()
    }
  }
}
