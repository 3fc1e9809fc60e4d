/**
 * What streams, channels, agents and tables see of the app. They get the app as AppT and never
 * import src/app/ (the composition root).
 * @module
 */
import type { CodecRegistry } from '../serializers/codecs.ts'
import type { ClockT } from './clock.ts'
import type { MonitorT, SensorDelegateT } from './sensors.ts'
import type { LoggerT } from './logging.ts'
import type { ErrorPolicy, Settings } from './settings.ts'
import type { Message } from '../transport/message.ts'
import type { ProducerRecord, RecordMetadata, TP } from './tuples.ts'

/** A topic as the conductor and the topic manager see it. */
export interface TopicDeclT {
  readonly topics: readonly string[]
  readonly partitions: number | undefined
  readonly replicas: number | undefined
  readonly internal: boolean
  /** Kafka topic configs (cleanup.policy, retention.ms, ...). */
  readonly config: Record<string, string>
}

export interface ProducerT {
  send(record: ProducerRecord): Promise<RecordMetadata>
  flush(): Promise<void>
  /** Too many sends are waiting for the broker: streams wait for drained() before the next event. */
  readonly congested: boolean
  drained(): Promise<void>
}

export interface Decoded {
  key: unknown
  value: unknown
}

/** Anything that carries the message it came from (events). */
export interface EventLike {
  readonly message: Message
}

/** The buffer of one stream (or of the actors of one agent). */
export interface StreamQueueT {
  putNowait(event: EventLike): boolean
  clear(): EventLike[]
  readonly isFull: boolean
  readonly size: number
  hooks: { onFull?: (() => void) | undefined; onDrain?: (() => void) | undefined }
}

/** How a stream's bad input is handled (set by the topic, overridden by the agent reading it). */
export interface ErrorHandling {
  policy?: ErrorPolicy | undefined
  /** Dead-letter topic (default `<topic>-dlq`). */
  deadLetterTopic?: string | undefined
}

/** A queue registered for a topic, plus how to turn a message into its event. */
export interface SubscriptionT {
  readonly topic: TopicDeclT
  readonly handling: ErrorHandling
  readonly queue: StreamQueueT
  /** Decode a message's key and value; throws a DecodeError on bad input. */
  decode(message: Message): Decoded
  /** Subscriptions with the same decodeKey share one decode per message. */
  readonly decodeKey: object
  /** The event this subscription's stream receives. */
  wrap(message: Message, decoded: Decoded): EventLike
  /** decode + wrap in one step (used when a single stream reads the topic). */
  toEvent(message: Message): EventLike
}

export interface ConductorT {
  /** Route the topic's messages into the subscription's queue from now on (subscribing the consumer if needed). */
  subscribe(subscription: SubscriptionT): void
  unsubscribe(subscription: SubscriptionT): void
}

export interface AppT {
  readonly id: string
  readonly conf: Settings
  readonly log: LoggerT
  readonly clock: ClockT
  readonly codecs: CodecRegistry
  readonly producer: ProducerT
  readonly conductor: ConductorT
  /** Every sensor hook goes through here (the Monitor is one sensor). */
  readonly sensors: SensorDelegateT
  /** Streams count their events here (cheap counters the Monitor reads). */
  readonly monitor: MonitorT
  /** Create the topic on the broker if the app may (internal topics; every topic on memory://). */
  declareTopic(topic: TopicDeclT): Promise<void>
  /** The partition count of a topic as the broker has it (or as declared). */
  partitionsFor(topic: string): Promise<number>
  /** Current assignment of this worker. */
  assignment(): TP[]
  /** A topic's partition count if known without asking the broker. */
  knownPartitions(topic: string): number | undefined
  /**
   * Forward a message that failed (its original key, value and headers) to a dead-letter topic
   * with error headers (KIP-1034 names). Resolves when the broker has it.
   */
  deadLetter(message: Message, err: unknown, topic: string | undefined, value?: unknown): Promise<void>
  /** Stop the worker with this error (a `fail` policy). */
  fail(err: Error): void
}
