/**
 * Worker: runs an app as a process (Faust's Worker). It sets up logging, prints the start-up
 * banner, starts the app, and turns SIGINT/SIGTERM into a graceful shutdown: stop fetching, let
 * in-flight events finish, commit, exit 0. A second signal exits at once (code 130 for SIGINT,
 * 143 for SIGTERM). A crashed app stops the worker with exit code 1.
 * @module
 */
import { type Writable } from 'node:stream'
import pino from 'pino'
import pretty from 'pino-pretty'
import type { App } from '../app/app.ts'
import { VERSION } from '../app/settings.ts'
import { describeError } from '../errors.ts'
import type { LoggerT } from '../types/logging.ts'

export interface WorkerOptions {
  loglevel?: string | undefined
  /** Log as JSON lines (default: pretty when stdout is a terminal). */
  logFormat?: 'pretty' | 'json' | undefined
  /** Where logs and the banner go (default: stdout). */
  stream?: NodeJS.WritableStream | undefined
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean | undefined
  /** Print the banner (default true). */
  banner?: boolean | undefined
  /** Extra lines for the banner. */
  bannerExtra?: Array<[string, string]> | undefined
  /** Start the web server (default: the app's `webEnabled`). */
  web?: boolean | undefined
}

export function createLogger(level: string, format: 'pretty' | 'json', stream: NodeJS.WritableStream): LoggerT {
  const destination =
    format === 'pretty'
      ? pretty({ colorize: (stream as { isTTY?: boolean }).isTTY === true, sync: true, destination: stream as Writable, ignore: 'pid,hostname' })
      : stream
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination) as unknown as LoggerT
}

export class Worker {
  readonly app: App
  readonly options: WorkerOptions
  readonly log: LoggerT
  #signals = 0
  #stopping: Promise<void> | undefined
  #handlers: Array<[NodeJS.Signals, () => void]> = []

  constructor(app: App, options: WorkerOptions = {}) {
    this.app = app
    this.options = options
    const stream = options.stream ?? process.stdout
    const format = options.logFormat ?? ((stream as { isTTY?: boolean }).isTTY ? 'pretty' : 'json')
    this.log = app.conf.logger ?? createLogger(options.loglevel ?? app.conf.loglevel, format, stream)
    app.log = this.log.child({ app: app.id })
    app.serveWeb = options.web ?? app.conf.webEnabled
  }

  /** Start the app and run until it stops. Resolves with the process exit code. */
  async run(): Promise<number> {
    if (this.options.handleSignals !== false) this.#installSignalHandlers()
    try {
      if (this.options.banner !== false) this.#banner()
      const started = performance.now()
      await this.app.start()
      const web = this.app.serveWeb ? `; web ${this.app.canonicalUrl} (dashboard /, /stats, /metrics)` : ''
      this.log.info(`worker ready in ${Math.round(performance.now() - started)} ms${web}`)
      await this.app.waitUntilStopped()
      if (this.app.state === 'crashed') {
        const reason = this.app.crashReason
        this.log.error({ err: reason }, `app crashed: ${describeError(reason)}; stopping`)
        await this.stop()
        return 1
      }
      await this.#stopping
      return 0
    } catch (err) {
      this.log.error({ err }, `worker failed: ${describeError(err)}`)
      await this.stop().catch(() => {})
      return 1
    } finally {
      this.#removeSignalHandlers()
    }
  }

  /** Graceful shutdown (idempotent). */
  stop(): Promise<void> {
    if (this.#stopping === undefined) {
      const started = performance.now()
      this.log.info('shutting down: stop fetching, finish in-flight events, commit')
      this.#stopping = this.app.stop().then(() => {
        const hung = this.app.hungTasks
        this.log.info(
          { ms: Math.round(performance.now() - started), hung },
          `stopped in ${Math.round(performance.now() - started)} ms${hung.length > 0 ? ` (gave up on ${hung.join(', ')})` : ''}`,
        )
      })
    }
    return this.#stopping
  }

  #installSignalHandlers(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => {
        this.#signals += 1
        if (this.#signals > 1) {
          this.log.warn(`${signal} again: exiting now without a final commit`)
          process.exit(signal === 'SIGINT' ? 130 : 143)
        }
        this.log.info(`${signal} received: graceful shutdown (send it again to exit at once)`)
        void this.stop()
      }
      process.on(signal, handler)
      this.#handlers.push([signal, handler])
    }
  }

  #removeSignalHandlers(): void {
    for (const [signal, handler] of this.#handlers) process.off(signal, handler)
    this.#handlers = []
  }

  /** The start-up banner: what is running, where. */
  bannerLines(): Array<[string, string]> {
    const app = this.app
    const agents = [...app.agents.values()].map((a) => `${a.name} (${a.channel.label}${a.concurrency > 1 ? ` ×${a.concurrency}` : ''})`)
    const topics = [...new Set([...app.topics.values()].flatMap((t) => t.topics))].sort()
    return [
      ['id', app.id],
      ['faust-ts', `v${VERSION} on Node ${process.versions.node}`],
      ['transport', app.conf.broker],
      ['store', app.conf.store],
      ['guarantee', app.conf.processingGuarantee],
      ['agents', agents.join(', ') || '(none)'],
      ['topics', topics.join(', ') || '(none)'],
      ['tasks', app.tasks.entries.map((e) => `${e.name} [${e.spec}]`).join(', ') || '(none)'],
      ['web', app.serveWeb ? (app.conf.webPort === 0 ? `http://${app.conf.webHost}:<port chosen at start> (bind ${app.conf.webBind})` : `${app.canonicalUrl} (bind ${app.conf.webBind})`) : 'off'],
      ...(this.options.bannerExtra ?? []),
      ['pid', String(process.pid)],
    ]
  }

  #banner(): void {
    const lines = this.bannerLines()
    const width = Math.max(...lines.map(([k]) => k.length))
    const text = ['┌ faust-ts worker', ...lines.map(([k, v]) => `│ ${k.padEnd(width)}  ${v}`), '└']
    const stream = this.options.stream ?? process.stdout
    stream.write(`${text.join('\n')}\n`)
  }
}
