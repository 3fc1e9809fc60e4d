/**
 * Channel: an in-memory channel (Faust's `app.channel()`): values sent to it go straight to the
 * streams reading it, with no broker and no serialization. Topic extends it with Kafka.
 * @module
 */
import { ImproperlyConfigured } from '../errors.ts'
import { type SchemaOptions, Schema } from '../serializers/schema.ts'
import { Event } from '../streams/event.ts'
import { Stream, type StreamChannelT, type StreamOptions } from '../streams/stream.ts'
import { type AckTracker, Message } from '../transport/message.ts'
import type { AppT, ErrorHandling } from '../types/app.ts'
import type { RawSendArgs, SendArgs, SendTargetT } from '../types/channels.ts'
import type { Header, RecordMetadata } from '../types/tuples.ts'
import { BoundedQueue } from '../utils/queue.ts'
import { toHeaderList } from '../utils/tp.ts'

export interface ChannelOptions<K = unknown, V = unknown> extends SchemaOptions<K, V> {
  name?: string | undefined
  /** Events buffered per reader (default: the app's streamBufferMaxsize). */
  maxsize?: number | undefined
}

let channelCount = 0

export class Channel<K = unknown, V = unknown> implements StreamChannelT, SendTargetT<K, V> {
  readonly app: AppT
  readonly name: string
  readonly schema: Schema<K, V>
  readonly maxsize: number
  readonly #queues = new Set<BoundedQueue<Event<K, V>>>()
  #offset = 0

  constructor(app: AppT, options: ChannelOptions<K, V> = {}) {
    this.app = app
    this.name = options.name ?? `channel-${++channelCount}`
    this.maxsize = options.maxsize ?? app.conf.streamBufferMaxsize
    this.schema = new Schema(options, {
      keySerializer: app.conf.keySerializer,
      valueSerializer: app.conf.valueSerializer,
      registry: app.codecs,
    })
  }

  get names(): readonly string[] {
    return [this.name]
  }

  get partitions(): number | undefined {
    return undefined
  }

  get label(): string {
    return `channel:${this.name}`
  }

  /** A new buffer receiving every event sent from now on; `close` unregisters it. */
  openQueue(_handling: ErrorHandling = {}): { queue: BoundedQueue<Event<K, V>>; close: () => void } {
    const queue = new BoundedQueue<Event<K, V>>(this.maxsize)
    this.#queues.add(queue)
    return {
      queue,
      close: () => {
        this.#queues.delete(queue)
        queue.close()
      },
    }
  }

  /** A stream over this channel. It stops when `options.signal` aborts. */
  stream(options: StreamOptions = {}): Stream<V, K> {
    const { queue, close } = this.openQueue()
    options.signal?.addEventListener('abort', close, { once: true })
    return new Stream<V, K>(this.app, queue, this, options)
  }

  async send(args: SendArgs<K, V>): Promise<RecordMetadata | undefined> {
    await this.publish(args.key ?? (null as K), args.value as V, toHeaderList(args.headers), args.timestamp)
    return undefined
  }

  async sendRaw(args: RawSendArgs): Promise<RecordMetadata | undefined> {
    const key = this.schema.loadsKey(args.key)
    const value = this.schema.loadsValue(args.value)
    await this.publish(key, value, args.headers ?? [], args.timestamp)
    return undefined
  }

  /**
   * Put one event into every reader's buffer, waiting for room (this is a channel's backpressure).
   * `tracker` hears when every reader has acked it.
   */
  async publish(key: K, value: V, headers: Header[], timestamp?: number, tracker?: AckTracker): Promise<void> {
    const queues = [...this.#queues]
    const message = new Message(this.name, 0, this.#offset++, timestamp ?? this.app.clock.now(), null, null, headers)
    message.tracker = tracker
    message.refcount = Math.max(1, queues.length)
    if (queues.length === 0) {
      message.decref()
      return
    }
    for (const queue of queues) {
      if (!(await queue.put(new Event(key, value, message)))) message.decref()
    }
  }

  encodeKey(key: unknown): Buffer | null {
    return this.schema.dumpsKey(key as K)
  }

  derive(options: { prefix?: string; suffix?: string }): Channel<K, V> {
    return new Channel<K, V>(this.app, {
      ...this.schema.options,
      name: `${options.prefix ?? ''}${this.name}${options.suffix ?? ''}`,
      maxsize: this.maxsize,
    })
  }

  /** Channels live in memory: nothing to create. */
  async maybeDeclare(): Promise<void> {}

  /** Readers currently attached (for tests and the CLI). */
  get readers(): number {
    return this.#queues.size
  }
}

export function requirePositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new ImproperlyConfigured(`${name} must be a positive integer, got ${value}`)
  }
}
