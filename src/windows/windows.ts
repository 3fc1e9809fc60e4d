/**
 * Window kinds (Faust's windows, re-created with its arithmetic, in seconds):
 *
 * - Hopping(size, step): windows of `size` starting every `step`; a timestamp lands in every
 *   window whose start is at most the timestamp and after `timestamp - size`.
 * - Tumbling(size) = Hopping(size, size): one window per timestamp.
 * - Sliding(before, after): one window `[ts - before, ts + after]` per event.
 * - Session(gap): per key, events closer than `gap` share a window (handled by the windowed table,
 *   since its windows depend on the key's earlier events).
 *
 * A window range is `[start, end]` with `end = start + size - 0.1`, exactly as Faust stores it,
 * so changelog keys `[key, [start, end]]` match Python Faust's.
 * @module
 */
import { ImproperlyConfigured } from '../errors.ts'

export type WindowRange = readonly [start: number, end: number]

export interface WindowT {
  readonly kind: 'tumbling' | 'hopping' | 'sliding' | 'session'
  /** Every window a timestamp falls into, oldest first. */
  ranges(timestamp: number): WindowRange[]
  /** The latest window containing the timestamp. */
  current(timestamp: number): WindowRange
  /** The earliest window containing the timestamp. */
  earliest(timestamp: number): WindowRange
  /** current(timestamp - d). */
  delta(timestamp: number, d: number): WindowRange
  /** When a window stops accepting events (before grace): the first time past its span. */
  endOf(range: WindowRange): number
}

/** Faust's `WindowRange_from_start`. */
export function rangeFromStart(start: number, size: number): WindowRange {
  return [start, start + size - 0.1]
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new ImproperlyConfigured(`window ${name} must be a positive number of seconds, got ${value}`)
  return value
}

export class HoppingWindow implements WindowT {
  readonly kind: 'hopping' | 'tumbling' = 'hopping'
  readonly size: number
  readonly step: number

  constructor(size: number, step: number) {
    this.size = positive('size', size)
    this.step = positive('step', step)
    if (step > size) throw new ImproperlyConfigured(`a hopping window's step (${step}) cannot be larger than its size (${size})`)
  }

  #initial(timestamp: number): number {
    return Math.floor(timestamp / this.step) * this.step - this.size + this.step
  }

  ranges(timestamp: number): WindowRange[] {
    const out: WindowRange[] = []
    const initial = this.#initial(timestamp)
    // Multiply rather than accumulate, so fractional steps do not drift.
    for (let i = 0; initial + i * this.step <= timestamp; i++) out.push(rangeFromStart(initial + i * this.step, this.size))
    return out
  }

  current(timestamp: number): WindowRange {
    const initial = this.#initial(timestamp)
    const m = Math.floor((timestamp - initial) / this.step)
    return rangeFromStart(initial + this.step * m, this.size)
  }

  earliest(timestamp: number): WindowRange {
    return rangeFromStart(this.#initial(timestamp), this.size)
  }

  delta(timestamp: number, d: number): WindowRange {
    return this.current(timestamp - d)
  }

  endOf(range: WindowRange): number {
    return range[0] + this.size
  }
}

export class TumblingWindow extends HoppingWindow {
  override readonly kind = 'tumbling' as const

  constructor(size: number) {
    super(size, size)
  }
}

export class SlidingWindow implements WindowT {
  readonly kind = 'sliding' as const
  readonly before: number
  readonly after: number

  constructor(before: number, after: number) {
    if (!(before >= 0 && after >= 0 && before + after > 0)) {
      throw new ImproperlyConfigured(`a sliding window needs before >= 0 and after >= 0, not both 0 (got ${before}, ${after})`)
    }
    this.before = before
    this.after = after
  }

  ranges(timestamp: number): WindowRange[] {
    return [this.current(timestamp)]
  }

  current(timestamp: number): WindowRange {
    return [timestamp - this.before, timestamp + this.after]
  }

  earliest(timestamp: number): WindowRange {
    return this.current(timestamp)
  }

  delta(timestamp: number, d: number): WindowRange {
    return this.current(timestamp - d)
  }

  endOf(range: WindowRange): number {
    return range[1]
  }
}

/**
 * Session windows: a key's events closer than `gap` seconds form one session `[first, last]`.
 * ranges() gives the session a lone event would start; the windowed table extends and merges
 * sessions per key.
 */
export class SessionWindow implements WindowT {
  readonly kind = 'session' as const
  readonly gap: number

  constructor(gap: number) {
    this.gap = positive('gap', gap)
  }

  ranges(timestamp: number): WindowRange[] {
    return [[timestamp, timestamp]]
  }

  current(timestamp: number): WindowRange {
    return [timestamp, timestamp]
  }

  earliest(timestamp: number): WindowRange {
    return this.current(timestamp)
  }

  delta(timestamp: number, d: number): WindowRange {
    return this.current(timestamp - d)
  }

  /** A session is over once `gap` has passed since its last event. */
  endOf(range: WindowRange): number {
    return range[1] + this.gap
  }
}
