/**
 * Stream: an async iterable over a channel's events, with Faust's acking.
 *
 * An event is acked when the loop asks for the next one: the ack sits in the `finally` after
 * `yield`, so it also runs when the loop breaks or throws. Filtered events, and events whose
 * processor threw, are acked (and logged) at once. `noack()` streams leave acking to the user.
 *
 * ```ts
 * for await (const order of stream) { ... }          // values
 * for await (const [key, order] of stream.items()) // key and value
 * for await (const event of stream.events())       // Event objects
 * for await (const batch of stream.take(100, 5))   // up to 100 values or 5 s
 * ```
 * @module
 */
import { describeError, ImproperlyConfigured, Skip } from '../errors.ts'
import { type FieldRef, isFieldRef } from '../models/record.ts'
import type { AppT } from '../types/app.ts'
import type { SendTargetT } from '../types/channels.ts'
import { TIMEOUT } from '../utils/queue.ts'
import { tp } from '../utils/tp.ts'
import type { StreamContext } from './context.ts'
import type { Event } from './event.ts'

/** Returned by a processor to drop the current value (the event is still acked). */
export const SKIP: unique symbol = Symbol('faust.stream.skip')

export type Processor<V = unknown> = (value: V, event: Event) => unknown

/** Where a stream's events come from (a channel's queue, or several merged). */
export interface EventSource {
  get(signal?: AbortSignal, deadline?: number): Promise<Event | undefined | typeof TIMEOUT>
  tryGet(): Event | undefined
  readable(signal?: AbortSignal): Promise<void>
}

/** What a stream needs of the channel it reads, to derive repartition topics and re-stream. */
export interface StreamChannelT extends SendTargetT {
  readonly names: readonly string[]
  readonly partitions: number | undefined
  stream(options?: StreamOptions): Stream<unknown, unknown>
  encodeKey(key: unknown): Buffer | null
  derive(options: { prefix?: string; suffix?: string; partitions?: number | undefined; internal?: boolean }): StreamChannelT
  /** Create it on the broker if the app owns it. */
  maybeDeclare(): Promise<void>
}

export interface StreamOptions {
  /** Prefix of derived topic names: the agent name (Faust's stream prefix). */
  prefix?: string | undefined
  /** Where the current event is recorded (the actor's context). */
  context?: StreamContext | undefined
  /** Stops iteration when aborted. */
  signal?: AbortSignal | undefined
  /** Runs background work (group_by and through forwarders) owned by the agent or app. */
  spawn?: ((name: string, fn: (signal: AbortSignal) => Promise<void>) => void) | undefined
  noack?: boolean | undefined
  /**
   * When the loop breaks or throws, hand the current event here instead of acking it: the agent
   * decides (ack after handling the error, dead-letter it, or leave it unacked and stop).
   */
  hold?: ((event: Event) => void) | undefined
}

interface Lane {
  source: EventSource
  processors: Processor[]
}

/** Forwarders keep at most this many sends in flight before waiting. */
const MAX_INFLIGHT_FORWARDS = 1000

export class Stream<V = unknown, K = unknown> implements AsyncIterable<V> {
  readonly app: AppT
  readonly channel: StreamChannelT | undefined
  /** The event being processed (the last one yielded). */
  current: Event<K, V> | undefined
  readonly #lanes: Lane[]
  readonly #options: StreamOptions
  readonly #context: StreamContext
  #value: unknown
  #next = 0

  constructor(app: AppT, source: EventSource | Lane[], channel: StreamChannelT | undefined, options: StreamOptions = {}) {
    this.app = app
    this.channel = channel
    this.#lanes = Array.isArray(source) ? source : [{ source, processors: [] }]
    this.#options = options
    this.#context = options.context ?? { currentEvent: undefined, agent: undefined }
  }

  get prefix(): string | undefined {
    return this.#options.prefix
  }

  get options(): StreamOptions {
    return this.#options
  }

  #derive<V2 = V, K2 = K>(changes: { lanes?: Lane[]; options?: Partial<StreamOptions> }): Stream<V2, K2> {
    return new Stream<V2, K2>(this.app, changes.lanes ?? this.#lanes, this.channel, { ...this.#options, ...changes.options })
  }

  /** Take the next event (applying processors), or undefined when the stream ends, or TIMEOUT. */
  async #take(deadline?: number): Promise<Event<K, V> | undefined | typeof TIMEOUT> {
    const signal = this.#options.signal
    for (;;) {
      let got: Event | undefined | typeof TIMEOUT
      let lane: Lane
      if (this.#lanes.length === 1) {
        lane = this.#lanes[0]!
        got = await lane.source.get(signal, deadline)
      } else {
        ;[got, lane] = await this.#takeMerged(signal, deadline)
      }
      if (got === undefined || got === TIMEOUT) return got
      const event = got as Event<K, V>
      if (lane.processors.length === 0) {
        this.#value = event.value
        return event
      }
      let value: unknown = event.value
      try {
        for (const processor of lane.processors) {
          value = await processor(value, event)
          if (value === SKIP) break
        }
      } catch (err) {
        if (!(err instanceof Skip)) {
          this.app.log.error(
            { err, topic: event.topic, partition: event.partition, offset: event.offset, agent: this.#context.agent },
            `stream processor failed for ${event.topic}[${event.partition}]@${event.offset}; event skipped: ${describeError(err)}`,
          )
        }
        value = SKIP
      }
      if (value === SKIP) {
        if (!this.#options.noack) event.ack()
        continue
      }
      this.#value = value
      return event
    }
  }

  async #takeMerged(signal: AbortSignal | undefined, deadline: number | undefined): Promise<[Event | undefined | typeof TIMEOUT, Lane]> {
    const lanes = this.#lanes
    for (;;) {
      for (let i = 0; i < lanes.length; i++) {
        const lane = lanes[(this.#next + i) % lanes.length]!
        const event = lane.source.tryGet()
        if (event !== undefined) {
          this.#next += 1
          return [event, lane]
        }
      }
      if (signal?.aborted) return [undefined, lanes[0]!]
      // Wait on every lane; the losers' waits are cancelled so idle lanes do not collect waiters.
      const round = new AbortController()
      const stop = signal === undefined ? round.signal : AbortSignal.any([signal, round.signal])
      const waits: Array<Promise<unknown>> = lanes.map((l) => l.source.readable(stop))
      let timer: NodeJS.Timeout | undefined
      if (deadline !== undefined) {
        waits.push(new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()), TIMEOUT))))
      }
      const woke = await Promise.race(waits)
      round.abort()
      clearTimeout(timer)
      if (woke === TIMEOUT) return [TIMEOUT, lanes[0]!]
    }
  }

  /**
   * The iterator behind `for await`. Hand-written rather than an async generator: the common case
   * (an event already buffered, no processors) then costs one resolved promise per event. The
   * previous event is acked when the loop asks for the next one, and in `return()`, which
   * `for await` calls when the loop breaks or throws: Faust's ack-in-finally.
   */
  #iterate<T>(project: (event: Event<K, V>, value: V) => T): AsyncIterator<T> {
    const context = this.#context
    const noack = this.#options.noack === true
    const fast = this.#lanes.length === 1 && this.#lanes[0]!.processors.length === 0 ? this.#lanes[0]!.source : undefined
    let current: Event<K, V> | undefined
    let finished = false
    const sensors = this.app.sensors
    const label = this.label
    const counter = this.app.monitor.streamCounter(label)
    let sensorState: unknown
    let startedAt = -1
    const release = () => {
      if (current === undefined) return
      const event = current
      current = undefined
      context.currentEvent = undefined
      counter.active -= 1
      if (startedAt >= 0) {
        counter.addRuntime(performance.now() - startedAt)
        startedAt = -1
      }
      if (sensors.wantsStreamEvents) {
        const message = event.message
        sensors.onStreamEventOut(message.tp ?? tp(message.topic, message.partition), message.offset, label, message, sensorState)
      }
      if (!noack) event.ack()
    }
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined }
    const emit = (event: Event<K, V> | undefined | typeof TIMEOUT): IteratorResult<T> => {
      if (event === undefined || event === TIMEOUT || finished) {
        finished = true
        return done
      }
      current = event
      this.current = event
      context.currentEvent = event as Event
      counter.total += 1
      counter.active += 1
      if (counter.total % counter.sampleEvery === 0) startedAt = performance.now()
      if (sensors.wantsStreamEvents) {
        const message = event.message
        sensorState = sensors.onStreamEventIn(message.tp ?? tp(message.topic, message.partition), message.offset, label, message)
      }
      return { done: false, value: project(event, this.#value as V) }
    }
    return {
      next: (): Promise<IteratorResult<T>> => {
        release()
        if (finished) return Promise.resolve(done)
        const producer = this.app.producer
        if (producer.congested) return this.#roomToSend().then(() => this.#take()).then(emit)
        if (fast !== undefined && !this.#options.signal?.aborted) {
          const event = fast.tryGet() as Event<K, V> | undefined
          if (event !== undefined) {
            this.#value = event.value
            return Promise.resolve(emit(event))
          }
        }
        return this.#take().then(emit)
      },
      return: (): Promise<IteratorResult<T>> => {
        const hold = this.#options.hold
        if (hold !== undefined && current !== undefined && !noack) {
          const event = current
          current = undefined
          context.currentEvent = undefined
          hold(event as Event)
        } else {
          release()
        }
        finished = true
        return Promise.resolve(done)
      },
    }
  }

  /** Resolves when the producer has drained below its low-water mark, or the stream is stopped. */
  #roomToSend(): Promise<void> {
    const signal = this.#options.signal
    const drained = this.app.producer.drained()
    if (signal === undefined) return drained
    if (signal.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done)
        resolve()
      }
      signal.addEventListener('abort', done, { once: true })
      void drained.then(done)
    })
  }

  /** The stream's name for sensors: its agent's name, else its channel's topic names. */
  get label(): string {
    return this.#options.prefix ?? (this.channel?.names.join(',') || 'stream')
  }

  [Symbol.asyncIterator](): AsyncIterator<V> {
    return this.#iterate((_event, value) => value)
  }

  /** Iterate `[key, value]` pairs. */
  items(): AsyncIterable<[K, V]> {
    return { [Symbol.asyncIterator]: () => this.#iterate((event, value) => [event.key, value] as [K, V]) }
  }

  /** Iterate Event objects (key, value, headers, topic, partition, offset, timestamp, ack). */
  events(): AsyncIterable<Event<K, V>> {
    return { [Symbol.asyncIterator]: () => this.#iterate((event) => event) }
  }

  /** Iterate `[index, value]`, counting from `start`. */
  enumerate(start = 0): AsyncIterable<[number, V]> {
    let i = start
    return { [Symbol.asyncIterator]: () => this.#iterate((_event, value) => [i++, value] as [number, V]) }
  }

  /** A stream of the values for which `fn` is true; the others are acked and skipped. */
  filter(fn: (value: V, event: Event<K, V>) => boolean | Promise<boolean>): Stream<V, K> {
    return this.addProcessor(async (value, event) => ((await fn(value, event)) ? value : SKIP))
  }

  /** A stream whose values pass through `fn` first (return SKIP, or throw Skip, to drop one). */
  addProcessor<V2 = V>(fn: (value: V, event: Event<K, V>) => V2 | typeof SKIP | Promise<V2 | typeof SKIP>): Stream<V2, K> {
    const lanes = this.#lanes.map((l) => ({ source: l.source, processors: [...l.processors, fn as Processor] }))
    return this.#derive<V2, K>({ lanes })
  }

  /** A stream whose events the user acks (`event.ack()` or `stream.ack(event)`). */
  noack(): Stream<V, K> {
    return this.#derive({ options: { noack: true } })
  }

  ack(event: Event): boolean {
    return event.ack()
  }

  /**
   * Batches of up to `max` values, yielded when full or `within` seconds after the batch's first
   * value arrived. The batch's events are acked when the loop asks for the next batch, so a
   * batch that was not processed is never committed.
   */
  async *take(max: number, within?: number): AsyncGenerator<V[]> {
    if (!(max >= 1)) throw new ImproperlyConfigured(`take(max) needs max >= 1, got ${max}`)
    const context = this.#context
    const noack = this.#options.noack === true
    for (;;) {
      const first = await this.#take()
      if (first === undefined || first === TIMEOUT) return
      const events: Event<K, V>[] = [first]
      const values: V[] = [this.#value as V]
      const deadline = within === undefined ? undefined : Date.now() + within * 1000
      let ended = false
      while (events.length < max) {
        const next = await this.#take(deadline)
        if (next === TIMEOUT) break
        if (next === undefined) {
          ended = true
          break
        }
        events.push(next)
        values.push(this.#value as V)
      }
      const last = events[events.length - 1]!
      this.current = last
      context.currentEvent = last as Event
      // Sensors see each event of the batch go in when the batch is handed out, and out with it.
      const sensors = this.app.sensors
      const counter = this.app.monitor.streamCounter(this.label)
      counter.total += events.length
      counter.active += events.length
      const startedAt = performance.now()
      const states = !sensors.wantsStreamEvents ? undefined : events.map((e) => sensors.onStreamEventIn(e.message.tp ?? tp(e.topic, e.partition), e.offset, this.label, e.message))
      try {
        yield values
      } finally {
        context.currentEvent = undefined
        counter.active -= events.length
        counter.addRuntime((performance.now() - startedAt) / events.length)
        if (states !== undefined) events.forEach((e, i) => sensors.onStreamEventOut(e.message.tp ?? tp(e.topic, e.partition), e.offset, this.label, e.message, states[i]))
        if (!noack) for (const e of events) e.ack()
      }
      if (ended) return
    }
  }

  /**
   * Repartition by a new key through an internal topic named as Faust names it:
   * `<agent>-<topic>-<name>-repartition`. `key` is a field name, a record field
   * (`Order.field('country')`, named `Order.country` as in Faust) or a function (then `name` is
   * required). Returns the stream over the repartition topic.
   */
  groupBy<K2>(
    key: keyof V & string | FieldRef<V, K2> | ((value: V, event: Event<K, V>) => K2),
    options: { name?: string; partitions?: number } = {},
  ): Stream<V, K2> {
    const channel = this.#requireChannel('groupBy')
    const name = typeof key === 'string' ? (options.name ?? key) : isFieldRef(key) ? (options.name ?? key.label) : options.name
    if (name === undefined) {
      throw new ImproperlyConfigured('groupBy(fn) needs a name: stream.groupBy(fn, { name: "by-user" })')
    }
    const keyOf =
      typeof key === 'string'
        ? (value: V) => (value as Record<string, unknown>)[key] as K2
        : isFieldRef(key)
          ? (value: V) => (key as FieldRef<V, K2>).get(value)
          : (key as (value: V, event: Event<K, V>) => K2)
    const target = channel.derive({
      prefix: this.#derivedPrefix(channel),
      suffix: `-${name}-repartition`,
      partitions: options.partitions ?? channel.partitions,
      internal: true,
    })
    this.#forward(`groupBy ${name}`, target, (event, value) => {
      let newKey: K2
      try {
        newKey = keyOf(value, event)
      } catch (err) {
        this.app.log.error(
          { err, topic: event.topic, partition: event.partition, offset: event.offset },
          `groupBy ${name}: key function failed; event skipped: ${describeError(err)}`,
        )
        return undefined
      }
      return event.forward(target, { key: target.encodeKey(newKey) })
    })
    return target.stream(this.#streamOptions()) as Stream<V, K2>
  }

  /** Forward every value to `channel` and continue with the stream over that channel. */
  through<V2 = V, K2 = K>(channel: StreamChannelT): Stream<V2, K2> {
    this.#forward(`through ${channel.label}`, channel, (event, value) => channel.send({ key: event.key, value }))
    return channel.stream(this.#streamOptions()) as Stream<V2, K2>
  }

  /** A stream that also sends every value to each of `channels` (awaited before the value is yielded). */
  echo(...channels: SendTargetT[]): Stream<V, K> {
    return this.addProcessor(async (value, event) => {
      await Promise.all(channels.map((c) => c.send({ key: event.key, value })))
      return value
    })
  }

  /** One stream over this and other streams' events (in arrival order). */
  combine(...others: Stream<V, K>[]): Stream<V, K> {
    const lanes = [this, ...others].flatMap((s) => s.#lanes)
    return this.#derive({ lanes })
  }

  #requireChannel(op: string): StreamChannelT {
    if (this.channel === undefined) throw new ImproperlyConfigured(`${op} needs a stream over a topic or channel`)
    return this.channel
  }

  #derivedPrefix(channel: StreamChannelT): string {
    const prefix = this.#options.prefix
    if (prefix === undefined) return ''
    // Faust does not prefix again a topic that already carries the agent's prefix.
    return channel.names.every((n) => n.startsWith(prefix)) ? '' : `${prefix}-`
  }

  #streamOptions(): StreamOptions {
    const { prefix, context, signal, spawn, hold } = this.#options
    return { prefix, context, signal, spawn, hold }
  }

  /**
   * Run a background loop that sends each event somewhere and acks it when the send completes.
   * Sends overlap (up to MAX_INFLIGHT_FORWARDS) so a Kafka round trip per event does not cap the rate.
   */
  #forward(
    name: string,
    target: StreamChannelT,
    send: (event: Event<K, V>, value: V) => Promise<unknown> | undefined,
  ): void {
    const spawn = this.#options.spawn
    if (spawn === undefined) throw new ImproperlyConfigured(`${name}: this stream has no owner to run its forwarder`)
    // The forwarder is not the agent: it must not touch the agent's current event.
    const source = this.#derive<V, K>({ options: { noack: true, hold: undefined, context: { currentEvent: undefined, agent: this.#context.agent } } })
    spawn(name, async () => {
      await target.maybeDeclare()
      const inflight = new Set<Promise<unknown>>()
      // A failed send leaves its event unacked (so it is never committed) and crashes the owner.
      let failure: unknown
      for await (const event of source.events()) {
        if (failure !== undefined) throw failure
        const sent = send(event, source.#value as V)
        if (sent === undefined) {
          event.ack()
          continue
        }
        const tracked: Promise<unknown> = sent.then(
          () => {
            inflight.delete(tracked)
            event.ack()
          },
          (err: unknown) => {
            inflight.delete(tracked)
            failure ??= err
          },
        )
        inflight.add(tracked)
        if (inflight.size >= MAX_INFLIGHT_FORWARDS) await Promise.race(inflight)
      }
      await Promise.all(inflight)
      if (failure !== undefined) throw failure
    })
  }
}
