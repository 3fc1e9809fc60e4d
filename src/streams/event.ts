/**
 * An event: a decoded key and value, the message it came from, and its ack.
 * @module
 */
import type { Message } from '../transport/message.ts'
import type { SendArgs, SendTargetT } from '../types/channels.ts'
import type { RecordMetadata } from '../types/tuples.ts'

export class Event<K = unknown, V = unknown> {
  readonly key: K
  readonly value: V
  readonly message: Message
  #acked = false

  constructor(key: K, value: V, message: Message) {
    this.key = key
    this.value = value
    this.message = message
  }

  get topic(): string {
    return this.message.topic
  }

  get partition(): number {
    return this.message.partition
  }

  get offset(): number {
    return this.message.offset
  }

  /** Milliseconds since the epoch. */
  get timestamp(): number {
    return this.message.timestamp
  }

  /** Headers as a record (when a key repeats, the last value wins; `message.headers` has them all). */
  get headers(): Record<string, Buffer> {
    const out: Record<string, Buffer> = {}
    for (const [k, v] of this.message.headers) out[k] = v
    return out
  }

  get acked(): boolean {
    return this.#acked
  }

  /**
   * Acknowledge the event for this stream. The message becomes committable once every stream it
   * was delivered to has acked. Returns false if this stream had already acked it.
   */
  ack(): boolean {
    if (this.#acked) return false
    this.#acked = true
    this.message.decref()
    return true
  }

  /** Send a new message to a channel or topic (defaults: this event's key and headers). */
  send<K2, V2>(target: SendTargetT<K2, V2>, args: SendArgs<K2, V2>): Promise<RecordMetadata | undefined> {
    return target.send(args)
  }

  /** Forward this event's bytes unchanged to another topic, optionally with a new key. */
  forward(target: SendTargetT, options: { key?: Buffer | null; partition?: number } = {}): Promise<RecordMetadata | undefined> {
    return target.sendRaw({
      key: options.key === undefined ? this.message.key : options.key,
      value: this.message.value,
      headers: this.message.headers,
      partition: options.partition,
      timestamp: this.message.timestamp,
    })
  }
}
