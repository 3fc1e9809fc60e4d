/**
 * Shared helpers for the in-process app tests: a fresh app on its own memory:// broker per test
 * (stopped after the test), committed-offset lookups, polling, gates and a capturing logger.
 */
import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { App } from '../../src/app/app.ts'
import { MemoryBroker } from '../../src/transport/drivers/memory.ts'
import type { LoggerT, LogFn } from '../../src/types/logging.ts'
import type { SettingsInput } from '../../src/types/settings.ts'
import type { RawRecord } from '../../src/types/tuples.ts'
import { tp } from '../../src/utils/tp.ts'

export interface LogRecord {
  level: string
  msg: string
  obj: object
}

/** A logger that keeps every record (and prints them when TEST_LOG is set). */
export function captureLogger(records: LogRecord[] = [], bindings: Record<string, unknown> = {}): LoggerT & { records: LogRecord[] } {
  const make =
    (level: string): LogFn =>
    (objOrMsg: object | string, msg?: unknown) => {
      const rec =
        typeof objOrMsg === 'string'
          ? { level, msg: objOrMsg, obj: { ...bindings } }
          : { level, msg: typeof msg === 'string' ? msg : '', obj: { ...bindings, ...objOrMsg } }
      records.push(rec)
      if (process.env.TEST_LOG) console.error(`[${level}] ${rec.msg}`)
    }
  return {
    records,
    level: 'trace',
    trace: make('trace'),
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    fatal: make('fatal'),
    child(more: Record<string, unknown>) {
      return captureLogger(records, { ...bindings, ...more })
    },
  }
}

export interface TestApp {
  app: App
  url: string
  broker: MemoryBroker
  logs: LogRecord[]
}

/**
 * A new App with its own memory:// broker and group id. It is stopped (and the broker
 * forgotten) after the test, even if the test fails. Settings default to one partition per
 * topic and a short shutdown timeout.
 */
export function newApp(
  t: TestContext,
  settings: SettingsInput = {},
  { id = `app-${randomUUID().slice(0, 8)}`, url = `memory://${randomUUID()}` }: { id?: string; url?: string } = {},
): TestApp {
  const logger = captureLogger()
  const app = new App(id, {
    broker: url,
    topicPartitions: 1,
    webEnabled: false,
    shutdownTimeout: 5,
    logger,
    ...settings,
  })
  app.log = logger
  t.after(async () => {
    await app.stop()
    MemoryBroker.delete(url)
  })
  return { app, url, broker: MemoryBroker.get(url), logs: logger.records }
}

/** The group's committed offset for a topic-partition (undefined when never committed). */
export function committed(app: App, topic: string, partition = 0): number | undefined {
  return MemoryBroker.get(app.conf.broker).group(app.id).committed.get(tp(topic, partition))
}

/** Records on the broker for a topic (all partitions, in partition then offset order). */
export function records(app: App, topic: string): RawRecord[] {
  const t = MemoryBroker.get(app.conf.broker).topics.get(topic)
  if (t === undefined) return []
  return t.partitions.flatMap((p) => p.records)
}

/** JSON-decoded values on the broker for a topic. */
export function jsonValues(app: App, topic: string): unknown[] {
  return records(app, topic).map((r) => (r.value === null ? null : JSON.parse(r.value.toString('utf8'))))
}

/** Poll until `cond` holds; fail with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Let pending callbacks run for a while (to show something did NOT happen). */
export function idle(ms = 50): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export interface Deferred<T = void> {
  promise: Promise<T>
  resolve(value: T): void
  reject(err: unknown): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Named gates an agent waits on, opened by the test. */
export class Gates<K = unknown> {
  readonly #gates = new Map<K, Deferred>()
  #allOpen = false

  #get(key: K): Deferred {
    let d = this.#gates.get(key)
    if (d === undefined) {
      d = deferred()
      if (this.#allOpen) d.resolve()
      this.#gates.set(key, d)
    }
    return d
  }

  wait(key: K): Promise<void> {
    return this.#get(key).promise
  }

  open(key: K): void {
    this.#get(key).resolve()
  }

  /** Open every gate, present and future (before stopping the app). */
  openAll(): void {
    this.#allOpen = true
    for (const d of this.#gates.values()) d.resolve()
  }
}

/** The next offset the consumer would commit for a partition: highest contiguous acked + 1. */
export function committable(app: App, topic: string, partition = 0): number | undefined {
  return app.consumer.partitionState(tp(topic, partition))?.committable
}

/** Commit now (as the timer would) and return the group's committed offset. */
export async function commitNow(app: App, topic: string, partition = 0): Promise<number | undefined> {
  await app.consumer.commit()
  return committed(app, topic, partition)
}
