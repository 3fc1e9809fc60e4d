/**
 * Agent: an async function over a stream, started with the app (Faust's `@app.agent`).
 *
 * Each agent reads one channel (by default its own internal topic `<app-id>-<name>`). With
 * `concurrency: N` it runs N actors over one shared buffer, so events are processed out of order
 * across actors. An agent written as an async generator yields results that go to its sinks
 * (agents, topics, channels or functions). A crashed actor is handled by the agent's supervisor:
 * restarted (`one_for_one`, `one_for_all`) or escalated to stop the worker (`crashing`).
 * @module
 */
import { AgentCrashed, describeError, ImproperlyConfigured, PartitionsMismatch } from '../errors.ts'
import { Service } from '../services/service.ts'
import { Supervisor, type SupervisorStrategy } from '../services/supervisors.ts'
import { type StreamContext, streamContext } from '../streams/context.ts'
import type { Event } from '../streams/event.ts'
import { Stream, type StreamChannelT } from '../streams/stream.ts'
import type { AppT, ErrorHandling } from '../types/app.ts'
import type { ErrorPolicy } from '../types/settings.ts'
import type { RawSendArgs, SendArgs, SendTargetT } from '../types/channels.ts'
import type { RecordMetadata } from '../types/tuples.ts'
import type { BoundedQueue } from '../utils/queue.ts'
import type { AgentTestContext } from './test-context.ts'

/** What an agent reads: a topic or an in-memory channel. */
export interface AgentChannelT<K, V> extends StreamChannelT, SendTargetT<K, V> {
  openQueue(handling?: ErrorHandling): { queue: BoundedQueue<Event<K, V>>; close: () => void }
  send(args: SendArgs<K, V>): Promise<RecordMetadata | undefined>
}

export type AgentFun<V, K, R> = (stream: Stream<V, K>) => Promise<void> | AsyncIterable<R>

/** Where yielded values go. */
export type Sink<R> = SendTargetT<unknown, R> | ((value: R) => unknown)

export interface AgentOptions<R = unknown> {
  /** Agent name: logs, CLI, and its default topic `<app-id>-<name>` (default: the function's name). */
  name?: string | undefined
  /** Actors sharing the stream (default 1). */
  concurrency?: number | undefined
  sink?: Array<Sink<R>> | undefined
  /** How a crash is handled (default: the app's agentSupervisor setting). */
  supervisorStrategy?: SupervisorStrategy | undefined
  /** Restarts allowed per minute before the supervisor gives up and the worker stops (default 10). */
  maxRestarts?: number | undefined
  /** A one-line description for `faust-ts agents`. */
  help?: string | undefined
  /** Bad input and exceptions while processing an event: skip, dlq or fail (default: the topic's, else the app's). */
  errorPolicy?: ErrorPolicy | undefined
  /** Dead-letter topic for the dlq policy (default `<topic>-dlq`). */
  deadLetterTopic?: string | undefined
}

/** One running instance of the agent function. */
export class Actor<V, K, R> extends Service {
  readonly agent: Agent<V, K, R>
  readonly index: number
  readonly context: StreamContext
  /** Values this actor yielded and delivered to sinks. */
  yielded = 0

  constructor(agent: Agent<V, K, R>, index: number) {
    super({ name: `${agent.name}#${index}` })
    this.agent = agent
    this.index = index
    this.context = { currentEvent: undefined, agent: agent.name }
  }

  protected override async onStart(): Promise<void> {
    this.spawn('run', (signal) => this.#run(signal))
  }

  /**
   * Run the agent function. An error thrown while an event is being processed is handled by the
   * agent's error policy and the function starts again on the next event (no supervisor, no
   * backoff: one bad event must not slow the stream). An error with no event in hand (setup code,
   * a broken stream) is a crash: the supervisor decides.
   */
  async #run(signal: AbortSignal): Promise<void> {
    const agent = this.agent
    while (!signal.aborted) {
      let held: Event | undefined
      const stream = new Stream<V, K>(agent.app, agent.queue, agent.channel, {
        prefix: agent.name,
        context: this.context,
        signal,
        spawn: (name, fn) => this.spawn(name, fn),
        hold: (event) => {
          held = event
        },
      })
      try {
        const result = streamContext.run(this.context, () => agent.fn(stream))
        if (isAsyncIterable(result)) {
          for await (const value of result) {
            await agent.deliver(value)
            this.yielded += 1
          }
        } else {
          await result
        }
        // The function returned (or broke out of its loop): its last event is done.
        ;(held as Event | undefined)?.ack()
        return
      } catch (err) {
        const event = held as Event | undefined
        if (event === undefined || signal.aborted) {
          event?.ack()
          throw err
        }
        if (!(await agent.onError(err, event))) return
      }
    }
  }
}

function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x
}

export class Agent<V = unknown, K = unknown, R = unknown> extends Service implements SendTargetT<K, V> {
  readonly app: AppT
  readonly channel: AgentChannelT<K, V>
  readonly fn: AgentFun<V, K, R>
  readonly concurrency: number
  readonly sinks: Array<Sink<R>>
  readonly help: string
  readonly supervisor: Supervisor
  readonly errorPolicy: ErrorPolicy | undefined
  readonly deadLetterTopic: string | undefined
  /** Exceptions raised while processing events, by policy. */
  readonly errors = { skip: 0, dlq: 0, fail: 0 }
  /** Told about every processing error (test contexts listen). */
  readonly errorListeners = new Set<(err: Error, event: Event) => void>()
  #queue: { queue: BoundedQueue<Event<K, V>>; close: () => void } | undefined
  #actors: Array<Actor<V, K, R>> = []

  constructor(
    app: AppT,
    channel: AgentChannelT<K, V>,
    fn: AgentFun<V, K, R>,
    options: AgentOptions<R> & { name: string; escalate?: (err: Error) => void },
  ) {
    super({ name: options.name })
    this.app = app
    this.channel = channel
    this.fn = fn
    this.concurrency = options.concurrency ?? 1
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) {
      throw new ImproperlyConfigured(`agent ${options.name}: concurrency must be a positive integer`)
    }
    this.sinks = options.sink ?? []
    this.help = options.help ?? ''
    this.errorPolicy = options.errorPolicy
    this.deadLetterTopic = options.deadLetterTopic
    this.supervisor = new Supervisor({
      name: `${options.name}.supervisor`,
      strategy: options.supervisorStrategy ?? app.conf.agentSupervisor,
      maxRestarts: options.maxRestarts ?? 10,
      escalate: options.escalate,
    })
  }

  get label(): string {
    return `agent:${this.name}`
  }

  get actors(): ReadonlyArray<Actor<V, K, R>> {
    return this.#actors
  }

  /** The buffer the actors share (opened when the agent starts). */
  get queue(): BoundedQueue<Event<K, V>> {
    if (this.#queue === undefined) {
      this.#queue = this.channel.openQueue({ policy: this.errorPolicy, deadLetterTopic: this.deadLetterTopic })
    }
    return this.#queue.queue
  }

  /**
   * An event's processing threw. By policy: `skip` logs and acks; `dlq` forwards the original
   * message to the dead-letter topic, then acks; `fail` leaves it unacked (so it is read again
   * after a restart) and stops the worker. Returns whether the actor should go on.
   */
  async onError(err: unknown, event: Event): Promise<boolean> {
    const error = err instanceof Error ? err : new Error(String(err))
    // A configuration error (a partition mismatch, a bad setting) would fail every event the same way: stop.
    const misconfigured = error instanceof PartitionsMismatch || error instanceof ImproperlyConfigured
    const policy = misconfigured
      ? 'fail'
      : (this.errorPolicy ?? (this.channel as { options?: { errorPolicy?: ErrorPolicy } }).options?.errorPolicy ?? this.app.conf.errorPolicy)
    this.errors[policy] += 1
    for (const listener of this.errorListeners) listener(error, event)
    const where = { topic: event.topic, partition: event.partition, offset: event.offset, agent: this.name }
    this.log.error(
      { err: error, ...where, policy },
      `agent ${this.name} failed on ${event.topic}[${event.partition}]@${event.offset}: ${describeError(error)} (${policy === 'skip' ? 'skipped' : policy === 'dlq' ? 'sent to the dead-letter topic' : 'stopping the worker'})`,
    )
    if (policy === 'fail') {
      // Not committed, read again after a restart; and nobody waits for it while stopping.
      event.message.dropped = true
      this.app.fail(
        misconfigured
          ? error
          : new AgentCrashed(`agent ${this.name} failed on ${event.topic}[${event.partition}]@${event.offset}: ${describeError(error)}`, { ...where, cause: error }),
      )
      return false
    }
    if (policy === 'dlq') {
      const topic = this.deadLetterTopic ?? (this.channel as { options?: { deadLetterTopic?: string } }).options?.deadLetterTopic
      await this.app.deadLetter(event.message, error, topic, event.value)
    }
    event.ack()
    return true
  }

  protected override dependencies(): Iterable<Service> {
    return [this.supervisor]
  }

  protected override async onStart(): Promise<void> {
    void this.queue
    if (this.#actors.length === 0) {
      this.#actors = Array.from({ length: this.concurrency }, (_, i) => new Actor(this, i))
    }
    for (const actor of this.#actors) {
      this.supervisor.watch(actor)
      await this.supervisor.addDependency(actor)
    }
  }

  protected override async onShutdown(): Promise<void> {
    this.#queue?.close()
    this.#queue = undefined
  }

  /** Send a value to the agent's channel. */
  send(args: SendArgs<K, V>): Promise<RecordMetadata | undefined> {
    return this.channel.send(args)
  }

  sendRaw(args: RawSendArgs): Promise<RecordMetadata | undefined> {
    return this.channel.sendRaw(args)
  }

  /** Deliver one yielded value to every sink, in order. */
  async deliver(value: R): Promise<void> {
    for (const sink of this.sinks) {
      if (typeof sink === 'function') await sink(value)
      else await sink.send({ value })
    }
  }

  /** Run a copy of this agent over an in-memory channel, capturing what it yields and sends. */
  async testContext(): Promise<AgentTestContext<V, K, R>> {
    const { AgentTestContext } = await import('./test-context.ts')
    return AgentTestContext.create(this)
  }

  /** Crashes seen by the supervisor's restarts so far. */
  get restarts(): number {
    return this.supervisor.restarts
  }

  /** Describe the agent for the CLI. */
  describe(): { name: string; topic: string; concurrency: number; sinks: string[]; help: string } {
    return {
      name: this.name,
      topic: this.channel.label,
      concurrency: this.concurrency,
      sinks: this.sinks.map((s) => (typeof s === 'function' ? `fn:${s.name || 'anonymous'}` : s.label)),
      help: this.help,
    }
  }
}

