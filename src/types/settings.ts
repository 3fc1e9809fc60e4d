/**
 * App settings: Faust's settings, camelCased. Durations are seconds, as in Faust.
 * Defaults and environment variables: src/app/settings.ts and docs/settings.md.
 * @module
 */
import type { SupervisorStrategy } from '../services/supervisors.ts'
import type { ClockT } from './clock.ts'
import type { LoggerT } from './logging.ts'
import type { CodecArg } from './serializers.ts'

export type ProcessingGuarantee = 'at_least_once' | 'exactly_once'
export type AutoOffsetReset = 'earliest' | 'latest'
export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
/** What happens to a message that cannot be decoded, or whose processing threw. */
export type ErrorPolicy = 'skip' | 'dlq' | 'fail'

export interface Settings {
  /** Transport URL: `memory://` (embedded) or `kafka://host:port` (several separated by `;` or `,`). */
  broker: string
  /** Default table store URL: `memory://`, `lmdb://`, `rocksdb://`. */
  store: string
  processingGuarantee: ProcessingGuarantee
  /** Partitions for internal topics the app creates (= its maximum parallelism). */
  topicPartitions: number
  topicReplicationFactor: number
  /** Create internal topics (agent channels, repartition topics, changelogs). */
  topicAllowDeclare: boolean
  /** Events buffered per stream before its partitions pause. */
  streamBufferMaxsize: number
  /** On rebalance and shutdown, wait for events being processed before committing. */
  streamWaitEmpty: boolean
  /** Seconds an event may take before a stall is reported (and the upper bound of waiting for in-flight events). */
  streamProcessingTimeout: number
  /** Commit after this many acked messages. */
  brokerCommitEvery: number
  /** Commit at least this often (seconds). */
  brokerCommitInterval: number
  brokerClientId: string
  brokerSessionTimeout: number
  brokerHeartbeatInterval: number
  brokerRebalanceTimeout: number
  brokerRequestTimeout: number
  brokerMaxPollRecords: number | undefined
  consumerAutoOffsetReset: AutoOffsetReset
  /** Bytes fetched per partition per request. */
  consumerMaxFetchSize: number
  keySerializer: CodecArg
  valueSerializer: CodecArg
  producerAcks: number
  /** Seconds the producer waits to fill a batch. */
  producerLinger: number
  producerMaxBatchSize: number
  producerCompressionType: CompressionType
  producerRequestTimeout: number
  producerIdempotence: boolean
  /**
   * Bad input and processing errors: `skip` (log, count, ack, go on; Faust's default), `dlq` (also
   * forward the original message to a dead-letter topic), `fail` (stop the worker). Per topic and
   * per agent with the `errorPolicy` option.
   */
  errorPolicy: ErrorPolicy
  /** How a crashed agent is handled: restart it, restart all actors of the agent, or stop the worker. */
  agentSupervisor: SupervisorStrategy
  webEnabled: boolean
  webPort: number
  webBind: string
  webHost: string
  datadir: string
  tabledir: string
  tableStandbyReplicas: number
  tableCleanupInterval: number
  timezone: string
  loglevel: string
  version: number
  /** Seconds a worker's graceful shutdown may take before it gives up on hung work. */
  shutdownTimeout: number
  /** Time source; tests inject a virtual clock. */
  clock: ClockT
  /** A logger to use instead of the worker's pino logger. */
  logger: LoggerT | undefined
}

/** What users pass: every setting optional. */
export type SettingsInput = Partial<Settings>
