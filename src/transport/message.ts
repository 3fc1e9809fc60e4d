/**
 * A fetched (or channel-sent) message and its acknowledgement count.
 *
 * The conductor sets `refcount` to the number of streams it delivered the message to; each
 * stream's ack decrements it, and only the last one marks the message acked with the consumer.
 * @module
 */
import type { Header, RawRecord, TP } from '../types/tuples.ts'

/** Receives the final ack of a message (the consumer's per-partition bookkeeping). */
export interface AckTracker {
  onAck(message: Message): void
}

export class Message implements RawRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Header[]
  tp: TP | undefined
  /** Consumer group generation the message was fetched in (0 for channel messages). */
  generation = 0
  /** Streams that still have to ack. */
  refcount = 0
  acked = false
  /** Thrown away unprocessed by a rebalance or shutdown (so it must not be committed). */
  dropped = false
  tracker: AckTracker | undefined

  /** Fields one by one, so a driver can build messages without an intermediate record object. */
  constructor(
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: Header[],
    tp?: TP,
  ) {
    this.topic = topic
    this.partition = partition
    this.offset = offset
    this.timestamp = timestamp
    this.key = key
    this.value = value
    this.headers = headers
    this.tp = tp
  }

  static from(record: RawRecord, tp?: TP): Message {
    return record instanceof Message
      ? record
      : new Message(record.topic, record.partition, record.offset, record.timestamp, record.key, record.value, record.headers, tp)
  }

  /** One stream is done with the message. Returns true when this was the last one. */
  decref(): boolean {
    if (this.acked) return false
    this.refcount -= 1
    if (this.refcount > 0) return false
    this.acked = true
    this.tracker?.onAck(this)
    return true
  }

  /** Settled: acked, or dropped unprocessed; either way nothing more will happen to it. */
  get settled(): boolean {
    return this.acked || this.dropped
  }
}
