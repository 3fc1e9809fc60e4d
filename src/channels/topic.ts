/**
 * Topic: a Kafka topic description (Faust's `app.topic()`). Sending encodes with the topic's
 * schema and goes through the producer; streaming registers a buffer with the conductor, which
 * routes the consumer's messages for the topic into it.
 * @module
 */
import { KeyDecodeError, KeyEncodeError, ValueDecodeError, ValueEncodeError, describeError } from '../errors.ts'
import { Schema } from '../serializers/schema.ts'
import { Event } from '../streams/event.ts'
import { Stream, type StreamOptions } from '../streams/stream.ts'
import type { Message } from '../transport/message.ts'
import type { AppT, Decoded, ErrorHandling, SubscriptionT, TopicDeclT } from '../types/app.ts'
import type { ErrorPolicy } from '../types/settings.ts'
import type { RawSendArgs, SendArgs } from '../types/channels.ts'
import type { RecordMetadata } from '../types/tuples.ts'
import { BoundedQueue } from '../utils/queue.ts'
import { toHeaderList } from '../utils/tp.ts'
import { Channel, type ChannelOptions, requirePositive } from './channel.ts'

export interface TopicOptions<K = unknown, V = unknown> extends ChannelOptions<K, V> {
  /** Partitions to create the topic with (internal topics; default: the app's topicPartitions). */
  partitions?: number | undefined
  /** Replication factor to create it with (default: the app's topicReplicationFactor). */
  replicas?: number | undefined
  /** Retention in seconds (retention.ms). */
  retention?: number | undefined
  /** Log compaction (cleanup.policy=compact). */
  compacting?: boolean | undefined
  /** Bad input on this topic: skip (default: the app's errorPolicy), dlq or fail. An agent's option wins. */
  errorPolicy?: ErrorPolicy | undefined
  /** Dead-letter topic for the dlq policy (default `<topic>-dlq`). */
  deadLetterTopic?: string | undefined
  /** With compacting: also delete old segments (cleanup.policy=compact,delete). */
  deleting?: boolean | undefined
  /** Created and owned by the app (agent channels, repartition topics, changelogs). */
  internal?: boolean | undefined
  /** Extra topic configs. */
  config?: Record<string, string> | undefined
}

export class Topic<K = unknown, V = unknown> extends Channel<K, V> implements TopicDeclT {
  readonly topics: readonly string[]
  readonly declaredPartitions: number | undefined
  readonly replicas: number | undefined
  readonly internal: boolean
  readonly config: Record<string, string>
  readonly options: TopicOptions<K, V>

  constructor(app: AppT, names: string | readonly string[], options: TopicOptions<K, V> = {}) {
    const list = typeof names === 'string' ? [names] : [...names]
    super(app, { ...options, name: list[0] })
    requirePositive('partitions', options.partitions)
    requirePositive('replicas', options.replicas)
    this.topics = list
    this.options = options
    this.declaredPartitions = options.partitions
    this.replicas = options.replicas
    this.internal = options.internal ?? false
    const config: Record<string, string> = { ...options.config }
    if (options.compacting) config['cleanup.policy'] = options.deleting ? 'compact,delete' : 'compact'
    else if (options.deleting) config['cleanup.policy'] = 'delete'
    if (options.retention !== undefined) config['retention.ms'] = String(Math.round(options.retention * 1000))
    this.config = config
  }

  override get names(): readonly string[] {
    return this.topics
  }

  override get partitions(): number | undefined {
    return this.declaredPartitions
  }

  override get label(): string {
    return this.topics.join(',')
  }

  /** A buffer the conductor fills with this topic's events; `close` unsubscribes it. */
  override openQueue(handling: ErrorHandling = {}): { queue: BoundedQueue<Event<K, V>>; close: () => void } {
    const queue = new BoundedQueue<Event<K, V>>(this.maxsize)
    const subscription: SubscriptionT = {
      topic: this,
      handling: {
        policy: handling.policy ?? this.options.errorPolicy,
        deadLetterTopic: handling.deadLetterTopic ?? this.options.deadLetterTopic,
      },
      queue,
      decode: (message) => this.decode(message),
      decodeKey: this.schema,
      wrap: (message, decoded) => new Event(decoded.key as K, decoded.value as V, message),
      toEvent: (message) => this.toEvent(message),
    }
    this.app.conductor.subscribe(subscription)
    return {
      queue,
      close: () => {
        this.app.conductor.unsubscribe(subscription)
        queue.close()
      },
    }
  }

  override stream(options: StreamOptions = {}): Stream<V, K> {
    const { queue, close } = this.openQueue()
    options.signal?.addEventListener('abort', close, { once: true })
    return new Stream<V, K>(this.app, queue, this, options)
  }

  /** Decode a fetched message's key and value; errors say where the message came from. */
  decode(message: Message): Decoded {
    return { key: this.#decodeKey(message), value: this.#decodeValue(message) }
  }

  /** Decode straight into an event (the conductor's path when one stream reads the topic). */
  toEvent(message: Message): Event<K, V> {
    return new Event(this.#decodeKey(message), this.#decodeValue(message), message)
  }

  #decodeKey(message: Message): K {
    try {
      return this.schema.loadsKey(message.key)
    } catch (err) {
      throw new KeyDecodeError(
        `cannot decode key of ${message.topic}[${message.partition}]@${message.offset} with ${this.schema.key.codec.name}: ${describeError(err)}`,
        { topic: message.topic, partition: message.partition, offset: message.offset, cause: err },
      )
    }
  }

  #decodeValue(message: Message): V {
    try {
      return this.schema.loadsValue(message.value)
    } catch (err) {
      throw new ValueDecodeError(
        `cannot decode value of ${message.topic}[${message.partition}]@${message.offset} with ${this.schema.value.codec.name}: ${describeError(err)}`,
        { topic: message.topic, partition: message.partition, offset: message.offset, cause: err },
      )
    }
  }

  /** Encode and send. Resolves when the broker has the message (per the producer's acks). */
  override send(args: SendArgs<K, V>): Promise<RecordMetadata> {
    const schema =
      args.keySerializer === undefined && args.valueSerializer === undefined
        ? this.schema
        : new Schema<K, V>(
            { ...this.schema.options, keySerializer: args.keySerializer ?? this.options.keySerializer, valueSerializer: args.valueSerializer ?? this.options.valueSerializer },
            { keySerializer: this.app.conf.keySerializer, valueSerializer: this.app.conf.valueSerializer, registry: this.app.codecs },
          )
    const topic = this.topics[0]!
    let key: Buffer | null
    let value: Buffer | null
    try {
      key = schema.dumpsKey(args.key)
    } catch (err) {
      return Promise.reject(new KeyEncodeError(`cannot encode key for ${topic}: ${describeError(err)}`, { topic, cause: err }))
    }
    try {
      value = schema.dumpsValue(args.value)
    } catch (err) {
      return Promise.reject(new ValueEncodeError(`cannot encode value for ${topic}: ${describeError(err)}`, { topic, cause: err }))
    }
    return this.app.producer.send({
      topic,
      key,
      value,
      headers: args.headers === undefined ? undefined : toHeaderList(args.headers),
      partition: args.partition,
      timestamp: args.timestamp,
    })
  }

  override async sendRaw(args: RawSendArgs): Promise<RecordMetadata> {
    return this.app.producer.send({ topic: this.topics[0]!, ...args })
  }

  override derive(options: {
    prefix?: string
    suffix?: string
    partitions?: number | undefined
    internal?: boolean
  }): Topic<K, V> {
    const names = this.topics.map((n) => `${options.prefix ?? ''}${n}${options.suffix ?? ''}`)
    return new Topic<K, V>(this.app, names, {
      ...this.options,
      name: undefined,
      partitions: options.partitions ?? this.declaredPartitions,
      internal: options.internal ?? this.internal,
    })
  }

  /** Create the topic if the app is allowed to (see App.declareTopic). */
  override async maybeDeclare(): Promise<void> {
    await this.app.declareTopic(this)
  }
}
