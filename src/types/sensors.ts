/**
 * The sensor interface: Faust's `SensorT` hooks, every one optional. Add sensors with
 * `app.sensors.add(sensor)`; the app's Monitor is one of them. Hooks run on the hot path (message
 * and event hooks once per message): keep them cheap and never throw (a throwing sensor is logged
 * and removed). A `...Initiated`/`...Start` hook may return a state object that is handed back to
 * the matching `...Completed`/`...End` hook.
 * @module
 */
import type { RecordMetadata, RawRecord, TP } from './tuples.ts'

/** What a sensor is told about an event (an agent's or a stream's). */
export interface SensorEvent {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/** What a sensor is told about a table. */
export interface SensorTable {
  readonly name: string
}

/** What a sensor is told about a sent record. */
export interface SensorRecord {
  readonly topic: string
  readonly partition?: number | undefined
  readonly key: Buffer | null
  readonly value: Buffer | null
}

export interface SensorWebRequest {
  readonly method: string
  readonly path: string
}

export interface SensorT {
  /** A message was fetched from `tp` (before any stream sees it). */
  onMessageIn?(tp: TP, offset: number, message: RawRecord): void
  /** A stream (named by its agent or channel) starts on an event. */
  onStreamEventIn?(tp: TP, offset: number, stream: string, event: SensorEvent): unknown
  /** The stream is done with the event (it asked for the next one, or ended). */
  onStreamEventOut?(tp: TP, offset: number, stream: string, event: SensorEvent, state: unknown): void
  /** Every stream that got the message has acked it. */
  onMessageOut?(tp: TP, offset: number, message: RawRecord): void
  /** A stream buffer filled up and paused the partition. */
  onTopicBufferFull?(tp: TP): void
  onTableGet?(table: SensorTable, key: Buffer): void
  onTableSet?(table: SensorTable, key: Buffer, value: Buffer): void
  onTableDel?(table: SensorTable, key: Buffer): void
  onCommitInitiated?(): unknown
  onCommitCompleted?(state: unknown, offsets: ReadonlyMap<TP, number>): void
  onSendInitiated?(record: SensorRecord): unknown
  onSendCompleted?(record: SensorRecord, metadata: RecordMetadata, state: unknown): void
  onSendError?(record: SensorRecord, err: Error, state: unknown): void
  /** The group leader starts computing an assignment (this worker is the leader). */
  onAssignmentStart?(): unknown
  onAssignmentCompleted?(state: unknown): void
  onAssignmentError?(state: unknown, err: Error): void
  /** Partitions were revoked: a rebalance began. */
  onRebalanceStart?(revoked: readonly TP[]): unknown
  /** The new assignment arrived (the consumer resumes once the tables have recovered). */
  onRebalanceReturn?(state: unknown, assigned: readonly TP[], generation: number): void
  /** Table recovery for the new assignment finished: the worker is processing again. */
  onRebalanceEnd?(state: unknown): void
  onWebRequestStart?(request: SensorWebRequest): unknown
  onWebRequestEnd?(request: SensorWebRequest, status: number, state: unknown): void
}

/** The app's sensor delegate: every hook, fanned out to each sensor (see src/sensors/sensors.ts). */
export interface SensorDelegateT extends Required<SensorT> {
  readonly size: number
  /** Whether any sensor wants per-message hooks (callers skip the calls otherwise). */
  readonly wantsMessages: boolean
  /** Whether any sensor wants per-event stream hooks. */
  readonly wantsStreamEvents: boolean
  add(sensor: SensorT): void
  remove(sensor: SensorT): void
}

/**
 * A stream's own counters, kept by the stream itself (plain increments, no hook calls) and read
 * by the Monitor: per-event hooks cost too much to count every event of every worker through.
 */
export interface StreamCounterT {
  total: number
  active: number
  /** Time one event in `sampleEvery` (ms). */
  addRuntime(ms: number): void
  readonly sampleEvery: number
}

/** What streams see of the Monitor. */
export interface MonitorT {
  streamCounter(stream: string): StreamCounterT
}
