/**
 * Time as the app sees it. The system clock is the default; tests inject a virtual clock so
 * timers and windows run on time they control.
 * @module
 */

export interface ClockT {
  /** Milliseconds since the epoch. */
  now(): number
  /** Resolve after `ms`, or early (with false) when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>
}
