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
  readonly tp: TP | undefined
  /** Consumer group generation the message was fetched in (0 for channel messages). */
  readonly generation: number
  /** Streams that still have to ack. */
  refcount = 0
  acked = false
  /** Thrown away unprocessed by a rebalance or shutdown (so it must not be committed). */
  dropped = false
  tracker: AckTracker | undefined

  constructor(record: RawRecord, tp: TP | undefined, generation: number, tracker?: AckTracker) {
    this.topic = record.topic
    this.partition = record.partition
    this.offset = record.offset
    this.timestamp = record.timestamp
    this.key = record.key
    this.value = record.value
    this.headers = record.headers
    this.tp = tp
    this.generation = generation
    this.tracker = tracker
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
