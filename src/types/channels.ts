/**
 * What can be sent to and streamed from: channels, topics, agents.
 * @module
 */
import type { CodecArg } from './serializers.ts'
import type { HeadersInput, RecordMetadata } from './tuples.ts'

export interface SendArgs<K, V> {
  key?: K | null | undefined
  value: V | null
  headers?: HeadersInput | undefined
  partition?: number | undefined
  /** Milliseconds since the epoch (default: now). */
  timestamp?: number | undefined
  keySerializer?: CodecArg | undefined
  valueSerializer?: CodecArg | undefined
}

export interface RawSendArgs {
  key: Buffer | null
  value: Buffer | null
  headers?: Array<[string, Buffer]> | undefined
  partition?: number | undefined
  timestamp?: number | undefined
}

/** Anything a value can be sent to. */
export interface SendTargetT<K = unknown, V = unknown> {
  /** Name for logs, errors and the CLI. */
  readonly label: string
  send(args: SendArgs<K, V>): Promise<RecordMetadata | undefined>
  /** Send bytes as they are (forwarding an event unchanged). */
  sendRaw(args: RawSendArgs): Promise<RecordMetadata | undefined>
}
