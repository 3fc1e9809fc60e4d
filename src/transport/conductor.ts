/**
 * Conductor: routes each fetched message to every stream subscribed to its topic.
 *
 * A message is decoded once per distinct schema, wrapped in one event per stream, and given a
 * refcount equal to the number of streams that received it, so it becomes committable only when
 * all of them have acked. A stream buffer that fills up pauses the partition that filled it; the
 * partition resumes when every buffer it was paused for has drained.
 * @module
 */
import { describeError, type DecodeError } from '../errors.ts'
import { Service } from '../services/service.ts'
import type { ConductorT, Decoded, EventLike, SubscriptionT, TopicDeclT } from '../types/app.ts'
import type { RawRecord, TP } from '../types/tuples.ts'
import type { Message } from './message.ts'

/** What the conductor needs of the consumer. */
export interface ConductorConsumerT {
  track(tp: TP, record: RawRecord, generation: number): Message
  pauseForBuffer(tp: TP, buffer: object): void
  resumeForBuffer(buffer: object): void
  subscriptionChanged(): void
}

/** Handles a message one subscription cannot decode; a returned promise holds the ack until it settles. */
export type DecodeErrorHandler = (message: Message, err: DecodeError, subscription: SubscriptionT) => Promise<void> | undefined

export class Conductor extends Service implements ConductorT {
  readonly #byTopic = new Map<string, SubscriptionT[]>()
  #consumer: ConductorConsumerT | undefined
  #onDecodeError: DecodeErrorHandler

  constructor(onDecodeError: DecodeErrorHandler) {
    super({ name: 'Conductor' })
    this.#onDecodeError = onDecodeError
  }

  attach(consumer: ConductorConsumerT): void {
    this.#consumer = consumer
  }

  subscribe(subscription: SubscriptionT): void {
    let added = false
    for (const name of subscription.topic.topics) {
      const list = this.#byTopic.get(name)
      if (list === undefined) {
        this.#byTopic.set(name, [subscription])
        added = true
      } else if (!list.includes(subscription)) {
        list.push(subscription)
      }
    }
    subscription.queue.hooks.onDrain = () => this.#consumer?.resumeForBuffer(subscription.queue)
    if (added) this.#consumer?.subscriptionChanged()
  }

  unsubscribe(subscription: SubscriptionT): void {
    for (const name of subscription.topic.topics) {
      const list = this.#byTopic.get(name)
      if (list === undefined) continue
      const rest = list.filter((s) => s !== subscription)
      if (rest.length === 0) this.#byTopic.delete(name)
      else this.#byTopic.set(name, rest)
    }
    // Nobody will process what is still buffered: it is dropped (not committed, fetched again later).
    for (const event of subscription.queue.clear()) event.message.dropped = true
    this.#consumer?.resumeForBuffer(subscription.queue)
  }

  /** The topic declarations of every subscription (one per topic object). */
  topicDecls(): TopicDeclT[] {
    const out = new Set<TopicDeclT>()
    for (const subs of this.#byTopic.values()) for (const sub of subs) out.add(sub.topic)
    return [...out]
  }

  /** Every topic some stream reads. */
  topicNames(): string[] {
    return [...this.#byTopic.keys()].sort()
  }

  subscriptions(topic: string): readonly SubscriptionT[] {
    return this.#byTopic.get(topic) ?? []
  }

  /** Deliver a fetched batch of one partition to its streams. Never waits. */
  deliver(tp: TP, records: RawRecord[], generation: number): void {
    const consumer = this.#consumer!
    const subs = this.#byTopic.get(tp.topic) ?? []
    const fullBuffers = new Set<object>()
    const single = subs.length === 1 ? subs[0]! : undefined
    for (const record of records) {
      const message = consumer.track(tp, record, generation)
      if (single !== undefined) {
        // The common case, inlined: one stream reads the topic.
        message.refcount = 1
        let event: EventLike
        try {
          event = single.toEvent(message)
        } catch (err) {
          this.#decodeFailed(message, err, single)
          continue
        }
        if (!single.queue.putNowait(event)) fullBuffers.add(single.queue)
        continue
      }
      message.refcount = Math.max(1, subs.length)
      if (subs.length === 0) {
        message.decref()
        continue
      }
      const cache = new Map<object, Decoded | Error>()
      for (const sub of subs) {
        let decoded = cache.get(sub.decodeKey)
        if (decoded === undefined) {
          try {
            decoded = sub.decode(message)
          } catch (err) {
            decoded = err instanceof Error ? err : new Error(String(err))
          }
          cache.set(sub.decodeKey, decoded)
        }
        if (decoded instanceof Error) {
          this.#decodeFailed(message, decoded, sub)
          continue
        }
        const event: EventLike = sub.wrap(message, decoded)
        if (!sub.queue.putNowait(event)) fullBuffers.add(sub.queue)
      }
    }
    for (const buffer of fullBuffers) consumer.pauseForBuffer(tp, buffer)
  }

  /**
   * One subscription could not decode the message: its error policy decides (skip, dead-letter,
   * fail). Its share of the ack is released when the handler is done (a dead letter is on the
   * broker), so the offset never commits before the bad message is dealt with.
   */
  #decodeFailed(message: Message, err: unknown, sub: SubscriptionT): void {
    const error = err instanceof Error && 'code' in err ? (err as DecodeError) : undefined
    if (error === undefined) {
      this.log.error(
        { topic: message.topic, partition: message.partition, offset: message.offset },
        `cannot decode ${message.topic}[${message.partition}]@${message.offset}: ${describeError(err)}`,
      )
      message.decref()
      return
    }
    const pending = this.#onDecodeError(message, error, sub)
    if (pending === undefined) message.decref()
    else pending.then(() => message.decref(), () => {})
  }

  /** Each subscribed buffer once (several topics can feed one buffer). */
  #buffers(): Set<SubscriptionT['queue']> {
    const out = new Set<SubscriptionT['queue']>()
    for (const subs of this.#byTopic.values()) for (const sub of subs) out.add(sub.queue)
    return out
  }

  /**
   * Drop every buffered, unprocessed event (a rebalance or shutdown). Their messages are marked
   * dropped: they will not be committed and will be fetched again by whoever owns the partition.
   */
  clear(): number {
    let dropped = 0
    for (const queue of this.#buffers()) {
      for (const event of queue.clear()) {
        event.message.dropped = true
        dropped += 1
      }
    }
    return dropped
  }

  /** Events buffered across all streams. */
  buffered(): number {
    let n = 0
    for (const queue of this.#buffers()) n += queue.size
    return n
  }
}
