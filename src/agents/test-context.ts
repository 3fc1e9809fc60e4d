/**
 * Testing an agent without a broker (Faust's `agent.test_context()`):
 *
 * ```ts
 * await using ctx = await agent.testContext()
 * await ctx.put({ id: 1, amount: 10 })   // resolves when the agent has processed it
 * assert.deepEqual(ctx.results, [...])   // what the agent yielded
 * assert.equal(ctx.sent.length, 1)       // what it sent to topics
 * ```
 *
 * The context runs a copy of the agent over an in-memory channel; every send to a topic made
 * while it is open is captured instead of going to the broker. The app is not started.
 * @module
 */
import { Channel } from '../channels/channel.ts'
import { toError } from '../errors.ts'
import type { AckTracker } from '../transport/message.ts'
import type { HeadersInput, ProducerRecord, RecordMetadata } from '../types/tuples.ts'
import { toHeaderList } from '../utils/tp.ts'
import { Agent } from './agent.ts'

export interface SentRecord extends ProducerRecord {
  /** The value decoded as JSON when it is JSON, else the bytes. */
  decoded: unknown
}

interface TestableApp {
  producer: { interceptor: ((record: ProducerRecord) => RecordMetadata) | undefined }
}

export class AgentTestContext<V, K, R> {
  /** Values the agent yielded, in order. */
  readonly results: R[] = []
  /** Records sent to topics while the context was open. */
  readonly sent: SentRecord[] = []
  /** Errors the agent threw while processing a value (handled by its error policy; the agent went on). */
  readonly errors: Error[] = []
  readonly agent: Agent<V, K, R>
  readonly channel: Channel<K, V>
  readonly #original: Agent<V, K, R>
  #offsets = new Map<string, number>()

  private constructor(original: Agent<V, K, R>) {
    this.#original = original
    const schema = original.channel instanceof Channel ? (original.channel.schema.options as object) : {}
    this.channel = new Channel<K, V>(original.app, { ...schema, name: `${original.name}-test` })
    this.agent = new Agent<V, K, R>(original.app, this.channel, original.fn, {
      name: original.name,
      concurrency: original.concurrency,
      sink: [(value: R) => void this.results.push(value), ...original.sinks],
      supervisorStrategy: 'one_for_one',
      maxRestarts: Number.MAX_SAFE_INTEGER,
      errorPolicy: 'skip',
    })
    this.agent.errorListeners.add((err) => this.errors.push(err))
  }

  static async create<V, K, R>(agent: Agent<V, K, R>): Promise<AgentTestContext<V, K, R>> {
    const ctx = new AgentTestContext(agent)
    const app = agent.app as unknown as TestableApp
    app.producer.interceptor = (record) => ctx.#capture(record)
    await ctx.agent.start()
    return ctx
  }

  #capture(record: ProducerRecord): RecordMetadata {
    let decoded: unknown = record.value
    if (record.value !== null) {
      try {
        decoded = JSON.parse(record.value.toString('utf8'))
      } catch {
        decoded = record.value
      }
    }
    this.sent.push({ ...record, decoded })
    const offset = this.#offsets.get(record.topic) ?? 0
    this.#offsets.set(record.topic, offset + 1)
    return { topic: record.topic, partition: record.partition ?? 0, offset, timestamp: record.timestamp ?? Date.now() }
  }

  /**
   * Give the agent one value and wait until it has processed it (the event was acked). Rejects
   * with the agent's error if processing it threw.
   */
  async put(value: V, options: { key?: K; headers?: HeadersInput; timestamp?: number } = {}): Promise<void> {
    const errorsBefore = this.errors.length
    await new Promise<void>((resolve) => {
      const tracker: AckTracker = { onAck: () => resolve() }
      void this.channel.publish(options.key ?? (null as K), value, toHeaderList(options.headers), options.timestamp, tracker)
    })
    const error = this.errors[errorsBefore]
    if (error !== undefined) throw toError(error)
  }

  /** Stop the agent copy and stop capturing sends. */
  async stop(): Promise<void> {
    await this.agent.stop()
    const app = this.#original.app as unknown as TestableApp
    app.producer.interceptor = undefined
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
}
