/**
 * The logger interface services log through. pino's Logger satisfies it; tests can pass any
 * object with these methods.
 * @module
 */

export interface LogFn {
  (obj: object, msg?: string, ...args: unknown[]): void
  (msg: string, ...args: unknown[]): void
}

export interface LoggerT {
  level: string
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  fatal: LogFn
  child(bindings: Record<string, unknown>): LoggerT
}

const noop: LogFn = () => {}

/** A logger that drops everything: the default for a service nobody gave a logger. */
export const silentLogger: LoggerT = {
  level: 'silent',
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child() {
    return silentLogger
  },
}
