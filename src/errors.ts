/**
 * The faust-ts error tree. Every error carries a stable `code` (match on it, not on the class, when
 * two copies of faust-ts may be loaded) and its context as fields: topic, partition, offset, table.
 * Each message says what went wrong and what to do. `docs/errors.md` lists every code; a test keeps
 * the two in sync.
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'

export const errorCodes = [
  'FAUST_ERR_IMPROPERLY_CONFIGURED',
  'FAUST_ERR_NOT_READY',
  'FAUST_ERR_SERVICE_STATE',
  'FAUST_ERR_SERVICE_STOP_TIMEOUT',
  'FAUST_ERR_KEY_DECODE',
  'FAUST_ERR_VALUE_DECODE',
  'FAUST_ERR_KEY_ENCODE',
  'FAUST_ERR_VALUE_ENCODE',
  'FAUST_ERR_VALIDATION',
  'FAUST_ERR_UNKNOWN_CODEC',
  'FAUST_ERR_UNKNOWN_TOPIC',
  'FAUST_ERR_PARTITIONS_MISMATCH',
  'FAUST_ERR_PRODUCER_SEND',
  'FAUST_ERR_COMMIT',
  'FAUST_ERR_CONSISTENCY',
  'FAUST_ERR_AGENT_CRASHED',
  'FAUST_ERR_SUPERVISOR_GAVE_UP',
  'FAUST_ERR_TABLE_OUTSIDE_STREAM',
  'FAUST_ERR_APP_MODULE',
  'FAUST_ERR_TRANSPORT',
  'FAUST_ERR_REBALANCE',
  'FAUST_ERR_LATE_EVENT',
  'FAUST_ERR_NOT_FOUND',
  'FAUST_ERR_BAD_REQUEST',
  'FAUST_ERR_UNAVAILABLE',
  'FAUST_ERR_VIEW_FAILED',
] as const
export type ErrorCode = (typeof errorCodes)[number]

/** Where an error happened, as fields any log line or handler can read. */
export interface ErrorContext {
  topic?: string
  partition?: number
  offset?: number
  table?: string
  agent?: string
  service?: string
}

export interface FaustErrorOptions extends ErrorOptions, ErrorContext {}

/** The base of every faust-ts error. */
export class FaustError extends Error {
  readonly code: ErrorCode
  readonly topic: string | undefined
  readonly partition: number | undefined
  readonly offset: number | undefined
  readonly table: string | undefined
  readonly agent: string | undefined
  readonly service: string | undefined

  constructor(code: ErrorCode, message: string, options: FaustErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.topic = options.topic
    this.partition = options.partition
    this.offset = options.offset
    this.table = options.table
    this.agent = options.agent
    this.service = options.service
  }

  /** The context fields that are set, for structured logs. */
  context(): ErrorContext {
    const out: ErrorContext = {}
    if (this.topic !== undefined) out.topic = this.topic
    if (this.partition !== undefined) out.partition = this.partition
    if (this.offset !== undefined) out.offset = this.offset
    if (this.table !== undefined) out.table = this.table
    if (this.agent !== undefined) out.agent = this.agent
    if (this.service !== undefined) out.service = this.service
    return out
  }
}

/** A setting, argument or declaration is wrong; fix the configuration. */
export class ImproperlyConfigured extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_IMPROPERLY_CONFIGURED', message, options)
  }
}

/** Something was used before it was started (or after it was stopped). */
export class NotReady extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_NOT_READY', message, options)
  }
}

/** A service was asked for a transition its state machine does not allow. */
export class ServiceStateError extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_SERVICE_STATE', message, options)
  }
}

/** A service did not stop within its timeout; `pending` names the tasks that hung. */
export class ServiceStopTimeout extends FaustError {
  readonly pending: string[]
  constructor(message: string, pending: string[], options?: FaustErrorOptions) {
    super('FAUST_ERR_SERVICE_STOP_TIMEOUT', message, options)
    this.pending = pending
  }
}

/** A message key or value could not be decoded (bad bytes, wrong codec, failed validation). */
export class DecodeError extends FaustError {}

export class KeyDecodeError extends DecodeError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_KEY_DECODE', message, options)
  }
}

export class ValueDecodeError extends DecodeError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_VALUE_DECODE', message, options)
  }
}

/** A key or value could not be encoded for sending. */
export class EncodeError extends FaustError {}

export class KeyEncodeError extends EncodeError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_KEY_ENCODE', message, options)
  }
}

export class ValueEncodeError extends EncodeError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_VALUE_ENCODE', message, options)
  }
}

/** A value did not pass its schema. `issues` holds the validator's messages (Standard Schema issues). */
export class ValidationError extends FaustError {
  readonly issues: ReadonlyArray<StandardSchemaV1.Issue>
  constructor(message: string, issues: ReadonlyArray<StandardSchemaV1.Issue>, options?: FaustErrorOptions) {
    super('FAUST_ERR_VALIDATION', message, options)
    this.issues = issues
  }
}

/** No codec is registered under that name. */
export class UnknownCodec extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_UNKNOWN_CODEC', message, options)
  }
}

/** A topic or agent name that the app does not know. */
export class UnknownTopic extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_UNKNOWN_TOPIC', message, options)
  }
}

/** Topics that must be co-partitioned (or a topic and what the app needs) have different partition counts. */
export class PartitionsMismatch extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_PARTITIONS_MISMATCH', message, options)
  }
}

/** The producer could not deliver a message. */
export class ProducerSendError extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_PRODUCER_SEND', message, options)
  }
}

/** Committing offsets failed. */
export class CommitError extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_COMMIT', message, options)
  }
}

/** Local state disagrees with Kafka (e.g. a store ahead of its changelog). */
export class ConsistencyError extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_CONSISTENCY', message, options)
  }
}

/** An agent's function threw; the supervisor decides what happens next. */
export class AgentCrashed extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_AGENT_CRASHED', message, options)
  }
}

/** A supervisor restarted a service too often within its window and stopped trying. */
export class SupervisorGaveUp extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_SUPERVISOR_GAVE_UP', message, options)
  }
}

/** A table was changed outside of stream iteration (there is no current event to take the partition from). */
export class TableOutsideStream extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_TABLE_OUTSIDE_STREAM', message, options)
  }
}

/** The app module given to the CLI is missing, broken, or does not export an App. */
export class AppModuleError extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_APP_MODULE', message, options)
  }
}

/** The broker or the transport driver failed. */
export class TransportError extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_TRANSPORT', message, options)
  }
}

/** A rebalance interrupted work that must start again (recovery, a commit). */
export class RebalanceAgain extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_REBALANCE', message, options)
  }
}

/** An event arrived for windows that have already closed (its time is past their end plus grace). */
export class LateEvent extends FaustError {
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_LATE_EVENT', message, options)
  }
}

/** No such route, table, or key (HTTP 404). */
export class NotFound extends FaustError {
  readonly status = 404
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_NOT_FOUND', message, options)
  }
}

/** The request is malformed (HTTP 400). */
export class BadRequest extends FaustError {
  readonly status = 400
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_BAD_REQUEST', message, options)
  }
}

/** No worker can answer now: not ready, or the key's owner and standbys are unreachable (HTTP 503). */
export class Unavailable extends FaustError {
  readonly status = 503
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_UNAVAILABLE', message, options)
  }
}

/** A web view threw something that is not one of the above (HTTP 500). */
export class ViewFailed extends FaustError {
  readonly status = 500
  constructor(message: string, options?: FaustErrorOptions) {
    super('FAUST_ERR_VIEW_FAILED', message, options)
  }
}

/** The HTTP status a web request that failed with this error answers with. */
export function httpStatusOf(err: unknown): number {
  return err instanceof NotFound || err instanceof BadRequest || err instanceof Unavailable ? err.status : 500
}

/**
 * Thrown (or returned) by a stream processor to drop the current value. The event is still
 * acked: otherwise the lag would grow and the offset never commit.
 */
export class Skip extends Error {
  constructor() {
    super('skip')
    this.name = 'Skip'
  }
}

/** One line describing any thrown value, for logs. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`
  return String(err)
}

/** Wrap anything thrown as an Error (so `cause` chains stay typed). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
