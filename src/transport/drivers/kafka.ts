/**
 * `kafka://`: the Kafka driver, on kafkajs 2.2.4 (pinned exactly: two hooks below reach into its
 * internals). Only this folder imports a Kafka client.
 *
 * Hooks into kafkajs, and why:
 * - `ConsumerGroup.prototype.joinAndSync` is wrapped so that, before every (re)join, the consumer
 *   service's `onPartitionsRevoked` runs and is awaited (it commits what was acked while this
 *   member still belongs to the old generation), and after it `onPartitionsAssigned` runs with the
 *   new assignment and generation. kafkajs itself has no blocking rebalance callbacks.
 * - `Broker.prototype.syncGroup` is wrapped to keep each member's raw assignment, because kafkajs
 *   drops the assignment userData that Faust's assignor sends to every member.
 * Evidence for kafkajs on Kafka 4.x: docs/decisions/0001-kafkajs-on-kafka-4.md.
 * @module
 */
import { createRequire } from 'node:module'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import type * as KafkajsModuleNs from 'kafkajs'
import type {
  Admin,
  Consumer as KafkaConsumer,
  KafkaConfig,
  Producer as KafkaProducer,
  Message as KafkaMessage,
  PartitionAssigner,
  SASLOptions,
} from 'kafkajs'
import { ImproperlyConfigured, TransportError, describeError } from '../../errors.ts'
import { type LoggerT, silentLogger } from '../../types/logging.ts'
import type { Settings } from '../../types/settings.ts'
import type {
  AdminDriverT,
  ConsumerDriverOptions,
  ConsumerDriverT,
  GroupMember,
  PartitionAssignorT,
  ProducerDriverOptions,
  ProducerDriverT,
  ReaderDriverOptions,
  ReaderDriverT,
  TopicDescription,
  TopicSpec,
  TransportDriverT,
} from '../../types/transport.ts'
import type { Header, ProducerRecord, RecordMetadata, TP } from '../../types/tuples.ts'
import { Message } from '../message.ts'
import { KafkaReader } from './kafka-reader.ts'
import { keyPartition } from '../../utils/murmur2.ts'
import { Pulse } from '../../utils/pulse.ts'
import { tp, tpsByTopic } from '../../utils/tp.ts'
import { RoundRobinAssignor } from './memory.ts'

const require = createRequire(import.meta.url)
type KafkajsModule = typeof KafkajsModuleNs

/**
 * kafkajs groups a batch's messages per partition with `[...current, message]`, which is
 * quadratic in the messages per partition (a 20,000-message batch spent most of its time there).
 * Replace that module with a linear version before kafkajs loads it. If kafkajs was loaded
 * earlier by other code in the process, the replacement has no effect; batches are also capped
 * (MAX_BATCH_MESSAGES) to bound the cost.
 */
function loadKafkajs(): KafkajsModule {
  const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js')
  if (require.cache[path] === undefined) {
    require(path)
    require.cache[path]!.exports = ({ topic, partitionMetadata, messages, partitioner }: {
      topic: string
      partitionMetadata: unknown[]
      messages: unknown[]
      partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number
    }) => {
      const out: Record<number, unknown[]> = {}
      if (partitionMetadata.length === 0) return out
      for (const message of messages) {
        const partition = partitioner({ topic, partitionMetadata, message })
        const list = out[partition]
        if (list === undefined) out[partition] = [message]
        else list.push(message)
      }
      return out
    }
  }
  return require('kafkajs') as KafkajsModule
}

const { AssignerProtocol, CompressionCodecs, CompressionTypes, Kafka, logLevel, Partitioners } = loadKafkajs()
type Kafka = InstanceType<typeof Kafka>

// zstd from Node's own zlib (Node >= 22.15), for producing and for reading zstd batches written by
// other clients. kafkajs has only gzip built in; snappy and lz4 have no maintained pure-JS codec.
if (typeof zlib.zstdCompress === 'function') {
  const compress = promisify(zlib.zstdCompress)
  const decompress = promisify(zlib.zstdDecompress)
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: (encoder: { buffer: Buffer }) => compress(encoder.buffer),
    decompress: (buffer: Buffer) => decompress(buffer),
  })
}

/** Messages per produce request; more wait for the next one. */
const MAX_BATCH_MESSAGES = 10_000
/** Bytes per produce request (the Java producer's max.request.size default). */
const MAX_REQUEST_BYTES = 1024 * 1024

interface ConsumerGroupInternals {
  groupId: string
  memberId: string | null
  generationId: number
  assigners: Array<{ name: string; [kDriver]?: KafkaConsumerDriver }>
  assigned(): Array<{ topic: string; partitions: number[] }>
  joinAndSync(): Promise<void>
}

const kDriver: unique symbol = Symbol('faust.kafka.driver')
/** Raw SyncGroup responses by `groupId|memberId`, read right after the sync. */
const syncedAssignments = new Map<string, Buffer>()
let hooksInstalled = false

function installHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  // kafkajs computes some timeouts from a stale clock and Node >= 23 warns about each one; harmless.
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const name = typeof warning === 'string' ? (rest[0] as { type?: string } | string | undefined) : warning.name
    const type = typeof name === 'object' ? name?.type : name
    if (type === 'TimeoutNegativeWarning') return
    emitWarning(warning, ...rest)
  }) as typeof process.emitWarning
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroupInternals }
  const Broker = require('kafkajs/src/broker/index.js') as {
    prototype: { syncGroup(args: { groupId: string; memberId: string }): Promise<{ memberAssignment: Buffer }> }
  }
  const joinAndSync = ConsumerGroup.prototype.joinAndSync
  ConsumerGroup.prototype.joinAndSync = async function (this: ConsumerGroupInternals) {
    const driver = this.assigners.find((a) => a[kDriver] !== undefined)?.[kDriver]
    if (driver !== undefined) await driver.beforeJoin()
    await joinAndSync.call(this)
    if (driver !== undefined) await driver.afterJoin(this)
  }
  const syncGroup = Broker.prototype.syncGroup
  Broker.prototype.syncGroup = async function (this: unknown, args) {
    const response = await syncGroup.call(this, args)
    syncedAssignments.set(`${args.groupId}|${args.memberId}`, response.memberAssignment)
    return response
  }
}

/** `kafka://h1:9092;h2:9092` (or comma-separated, or several URLs) → `['h1:9092', 'h2:9092']`. */
export function parseBrokers(url: string): string[] {
  const brokers = url
    .split(/[;,\s]+/)
    .map((part) => part.trim().replace(/^(kafka|aiokafka):\/\//, '').replace(/\/+$/, ''))
    .filter((part) => part !== '')
    .map((hostPort) => (hostPort.includes(':') ? hostPort : `${hostPort}:9092`))
  if (brokers.length === 0) throw new ImproperlyConfigured(`no broker address in ${JSON.stringify(url)}`)
  return brokers
}

/**
 * kafkajs log lines → the app's logger, one level down: kafkajs logs retried conditions (a group
 * rebalancing, a coordinator loading) as errors; what really fails reaches faust-ts as an error
 * and is logged there.
 */
function logCreator(log: LoggerT) {
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string; [k: string]: unknown } }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = entry
      if (level === logLevel.ERROR) log.warn({ kafkajs: rest }, `kafkajs: ${message}`)
      else if (level === logLevel.WARN) log.info({ kafkajs: rest }, `kafkajs: ${message}`)
      else log.debug({ kafkajs: rest }, `kafkajs: ${message}`)
    }
}

const NO_HEADERS: Header[] = []

function toHeaders(headers: KafkaMessage['headers']): Header[] {
  if (headers === undefined) return NO_HEADERS
  let any = false
  for (const _ in headers) {
    any = true
    break
  }
  if (!any) return NO_HEADERS
  const out: Header[] = []
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue
    for (const item of Array.isArray(v) ? v : [v]) out.push([k, Buffer.isBuffer(item) ? item : Buffer.from(item)])
  }
  return out
}

/** Security and tuning that pass straight through to kafkajs (documented in docs/kafka.md). */
export interface KafkaSecurity {
  ssl?: KafkaConfig['ssl']
  sasl?: SASLOptions
}

/** Map Faust-style security settings to kafkajs config (`FAUST_BROKER_SASL_*`, `FAUST_BROKER_SSL`). */
export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  const out: KafkaSecurity = {}
  const mechanism = env.FAUST_BROKER_SASL_MECHANISM?.toLowerCase()
  if (mechanism !== undefined && mechanism !== '') {
    const username = env.FAUST_BROKER_SASL_USERNAME ?? ''
    const password = env.FAUST_BROKER_SASL_PASSWORD ?? ''
    if (mechanism === 'plain' || mechanism === 'scram-sha-256' || mechanism === 'scram-sha-512') {
      out.sasl = { mechanism, username, password } as SASLOptions
    } else {
      throw new ImproperlyConfigured(`FAUST_BROKER_SASL_MECHANISM=${mechanism}: use plain, scram-sha-256 or scram-sha-512`)
    }
  }
  const ssl = env.FAUST_BROKER_SSL?.toLowerCase()
  if (ssl === 'true' || ssl === '1') {
    out.ssl = {
      rejectUnauthorized: env.FAUST_BROKER_SSL_REJECT_UNAUTHORIZED !== 'false',
      ...(env.FAUST_BROKER_SSL_CA !== undefined ? { ca: [env.FAUST_BROKER_SSL_CA] } : {}),
    }
  }
  return out
}

export interface KafkaTransportOptions extends KafkaSecurity {
  /** Milliseconds a fetch waits for data; also bounds how fast a rebalance is noticed. */
  maxWaitTimeMs?: number
}

export class KafkaTransport implements TransportDriverT {
  readonly scheme = 'kafka'
  readonly brokers: string[]
  readonly kafka: Kafka
  readonly conf: Settings
  readonly options: KafkaTransportOptions

  constructor(url: string, conf: Settings, options: KafkaTransportOptions = securityFromEnv(), log: LoggerT = conf.logger ?? silentLogger) {
    installHooks()
    this.brokers = parseBrokers(url)
    this.conf = conf
    this.options = options
    this.kafka = new Kafka({
      clientId: conf.brokerClientId,
      brokers: this.brokers,
      requestTimeout: conf.brokerRequestTimeout * 1000,
      connectionTimeout: 10_000,
      ssl: options.ssl,
      sasl: options.sasl,
      logLevel: logLevel.INFO,
      logCreator: logCreator(log.child({ service: 'kafkajs' })),
    })
  }

  createConsumer(options: ConsumerDriverOptions): ConsumerDriverT {
    return new KafkaConsumerDriver(this, options)
  }

  createProducer(options: ProducerDriverOptions): ProducerDriverT {
    if (options.compression === 'snappy' || options.compression === 'lz4') {
      throw new ImproperlyConfigured(
        `producerCompressionType ${options.compression} is not available on the kafka:// driver (no maintained pure-JS codec); use gzip or zstd`,
      )
    }
    return new KafkaProducerDriver(this, options)
  }

  createAdmin(): AdminDriverT {
    return new KafkaAdminDriver(this.kafka.admin())
  }

  createReader(options: ReaderDriverOptions): ReaderDriverT {
    return new KafkaReader(this, options)
  }
}

/** Adapts our assignor interface to kafkajs' (and marks the consumer group as ours). */
function kafkajsAssigner(assignor: PartitionAssignorT, driver: KafkaConsumerDriver): PartitionAssigner {
  return () => ({
    name: assignor.name,
    version: assignor.version,
    [kDriver]: driver,
    protocol({ topics }: { topics: string[] }) {
      return {
        name: assignor.name,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: assignor.version,
          topics,
          userData: assignor.memberMetadata(topics),
        }),
      }
    },
    async assign({ members, topics }: { members: Array<{ memberId: string; memberMetadata: Buffer }>; topics: string[] }) {
      const groupMembers: GroupMember[] = members.map((m) => {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)
        return { memberId: m.memberId, topics: meta?.topics ?? topics, userData: meta?.userData ?? Buffer.alloc(0) }
      })
      const partitions = await driver.partitionCounts(topics)
      const assignments = assignor.assign(groupMembers, partitions)
      return members.map((m) => {
        const a = assignments.get(m.memberId)
        const assignment: Record<string, number[]> = {}
        for (const [topic, parts] of a?.assignment ?? []) assignment[topic] = parts
        return {
          memberId: m.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: assignor.version,
            assignment,
            userData: a?.userData ?? Buffer.alloc(0),
          }),
        }
      })
    },
  })
}

class KafkaConsumerDriver implements ConsumerDriverT {
  readonly #transport: KafkaTransport
  readonly #options: ConsumerDriverOptions
  readonly #assignor: PartitionAssignorT
  #consumer: KafkaConsumer | undefined
  #admin: Admin | undefined
  #topics: string[] = []
  #assignment: TP[] = []
  #generation = -1
  #running = false
  #crashed: ((err: Error) => void) | undefined
  #paused = new Set<TP>()
  readonly #resumed = new Pulse()

  constructor(transport: KafkaTransport, options: ConsumerDriverOptions) {
    this.#transport = transport
    this.#options = options
    this.#assignor = options.assignor ?? new RoundRobinAssignor()
  }

  #create(): KafkaConsumer {
    const o = this.#options
    const consumer = this.#transport.kafka.consumer({
      groupId: o.groupId,
      partitionAssigners: [kafkajsAssigner(this.#assignor, this)],
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxBytesPerPartition: o.maxPartitionFetchBytes,
      maxWaitTimeInMs: this.#transport.options.maxWaitTimeMs ?? 200,
      readUncommitted: o.isolationLevel === 'read_uncommitted',
      allowAutoTopicCreation: false,
      retry: { retries: 8, restartOnFailure: async () => true },
    })
    consumer.on(consumer.events.CRASH, (event: { payload: { error: Error; restart: boolean } }) => {
      if (!event.payload.restart) this.#crashed?.(event.payload.error)
      else o.log.warn({ err: event.payload.error }, `consumer restarting after: ${describeError(event.payload.error)}`)
    })
    return consumer
  }

  get #kafkaConsumer(): KafkaConsumer {
    this.#consumer ??= this.#create()
    return this.#consumer
  }

  get #adminClient(): Admin {
    this.#admin ??= this.#transport.kafka.admin()
    return this.#admin
  }

  async subscribe(topics: string[]): Promise<void> {
    const changed = topics.join() !== this.#topics.join()
    this.#topics = [...topics]
    if (!this.#running) return
    if (!changed) return
    // kafkajs cannot change a running subscription: leave and rejoin with a new consumer.
    await this.#stopConsumer()
    await this.#startConsumer()
  }

  async #startConsumer(): Promise<void> {
    const consumer = this.#kafkaConsumer
    await consumer.connect()
    await consumer.subscribe({ topics: this.#topics, fromBeginning: this.#options.autoOffsetReset === 'earliest' })
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, isStale, isRunning, heartbeat }) => {
        if (isStale() || batch.messages.length === 0) return
        const t = tp(batch.topic, batch.partition)
        const { topic, partition, messages } = batch
        const records = new Array<Message>(messages.length)
        for (let i = 0; i < messages.length; i++) {
          const m = messages[i]!
          records[i] = new Message(topic, partition, Number(m.offset), Number(m.timestamp), m.key ?? null, m.value ?? null, toHeaders(m.headers), t)
        }
        this.#options.handler.onRecords(t, records, this.#generation)
        // With every partition paused kafkajs sleeps maxWaitTime before it looks again, which
        // idles a busy worker. Hold the fetch loop here instead and let it go the moment a
        // partition resumes (heartbeating meanwhile, so the group does not drop us).
        while (this.#allPaused() && isRunning() && !isStale()) {
          await this.#resumed.wait(undefined, this.#options.heartbeatIntervalMs)
          await heartbeat()
        }
      },
    })
  }

  #allPaused(): boolean {
    if (this.#paused.size === 0 || this.#assignment.length === 0) return false
    for (const t of this.#assignment) if (!this.#paused.has(t)) return false
    return true
  }

  async #stopConsumer(): Promise<void> {
    const consumer = this.#consumer
    if (consumer === undefined) return
    this.#consumer = undefined
    // Leaving the group is not a join: revoke here so acked offsets are committed first.
    await this.beforeJoin()
    try {
      await consumer.stop()
      await consumer.disconnect()
    } catch (err) {
      this.#options.log.warn({ err }, `stopping the kafka consumer failed: ${describeError(err)}`)
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return
    const crashed = new Promise<never>((_, reject) => {
      this.#crashed = (err) => reject(new TransportError(`Kafka consumer crashed: ${describeError(err)}`, { cause: err }))
    })
    crashed.catch(() => {})
    this.#running = true
    await this.#startConsumer()
    // The signal may have aborted while the consumer was joining.
    const stopped = new Promise<void>((resolve) => {
      if (signal.aborted) resolve()
      else signal.addEventListener('abort', () => resolve(), { once: true })
    })
    try {
      await Promise.race([stopped, crashed])
    } finally {
      this.#running = false
      this.#crashed = undefined
    }
  }

  /** Before every (re)join: the consumer service revokes the current assignment (and commits). */
  async beforeJoin(): Promise<void> {
    const revoked = this.#assignment
    this.#assignment = []
    this.#resumed.notify()
    await this.#options.handler.onPartitionsRevoked(revoked)
  }

  /** After every join: tell the consumer service what this member now owns. */
  async afterJoin(group: ConsumerGroupInternals): Promise<void> {
    const tps: TP[] = []
    for (const { topic, partitions } of group.assigned()) for (const p of partitions) tps.push(tp(topic, p))
    this.#assignment = tps
    this.#generation = group.generationId
    const raw = syncedAssignments.get(`${group.groupId}|${group.memberId}`)
    syncedAssignments.delete(`${group.groupId}|${group.memberId}`)
    const decoded = raw !== undefined && raw.length > 0 ? AssignerProtocol.MemberAssignment.decode(raw) : null
    const userData = decoded?.userData ?? Buffer.alloc(0)
    const assignment = new Map<string, number[]>(Object.entries(decoded?.assignment ?? {}))
    this.#assignor.onAssignment?.({ assignment, userData }, group.generationId)
    await this.#options.handler.onPartitionsAssigned(tps, {
      generation: group.generationId,
      memberId: group.memberId ?? '',
      userData,
    })
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const { topics: meta } = await this.#adminClient.fetchTopicMetadata({ topics })
    return new Map(meta.map((t) => [t.name, t.partitions.length]))
  }

  async close(): Promise<void> {
    await this.#stopConsumer()
    if (this.#admin !== undefined) {
      await this.#admin.disconnect().catch(() => {})
      this.#admin = undefined
    }
  }

  pause(tps: TP[]): void {
    for (const t of tps) this.#paused.add(t)
    this.#consumer?.pause([...tpsByTopic(tps)].map(([topic, partitions]) => ({ topic, partitions })))
  }

  resume(tps: TP[]): void {
    for (const t of tps) this.#paused.delete(t)
    this.#consumer?.resume([...tpsByTopic(tps)].map(([topic, partitions]) => ({ topic, partitions })))
    this.#resumed.notify()
  }

  seek(t: TP, offset: number): void {
    this.#consumer?.seek({ topic: t.topic, partition: t.partition, offset: String(offset) })
  }

  async commit(offsets: Map<TP, number>): Promise<void> {
    if (this.#consumer === undefined) throw new TransportError('cannot commit: the Kafka consumer is not running')
    await this.#consumer.commitOffsets(
      [...offsets].map(([t, offset]) => ({ topic: t.topic, partition: t.partition, offset: String(offset) })),
    )
  }

  async committed(tps: TP[]): Promise<Map<TP, number | undefined>> {
    const out = new Map<TP, number | undefined>()
    const byTopic = tpsByTopic(tps)
    const fetched = await this.#adminClient.fetchOffsets({ groupId: this.#options.groupId, topics: [...byTopic.keys()] })
    for (const { topic, partitions } of fetched) {
      for (const { partition, offset } of partitions) {
        const t = tp(topic, partition)
        if (tps.includes(t)) out.set(t, Number(offset) >= 0 ? Number(offset) : undefined)
      }
    }
    return out
  }

  assignment(): TP[] {
    return [...this.#assignment]
  }
}

interface Pending {
  record: ProducerRecord
  partition: number
  resolve: (metadata: RecordMetadata) => void
  reject: (err: unknown) => void
}

/**
 * Batches sends: records given in the same tick (or within `lingerMs`) go out in one request, and
 * the next batch collects while one is in flight. One request at a time keeps per-partition order.
 */
class KafkaProducerDriver implements ProducerDriverT {
  readonly #transport: KafkaTransport
  readonly #options: ProducerDriverOptions
  readonly #producer: KafkaProducer
  #admin: Admin | undefined
  #buffer: Pending[] = []
  #inflight: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #scheduled = false
  #partitions = new Map<string, number>()
  #lookups = new Map<string, Promise<number>>()
  #idle: Array<() => void> = []

  constructor(transport: KafkaTransport, options: ProducerDriverOptions) {
    this.#transport = transport
    this.#options = options
    this.#producer = transport.kafka.producer({
      idempotent: options.idempotent,
      maxInFlightRequests: options.idempotent ? 1 : undefined,
      transactionalId: options.transactionalId,
      allowAutoTopicCreation: true,
      retry: { retries: 8, initialRetryTime: 50 },
      // Partitions are always chosen here (murmur2 as in the Java client); this only silences kafkajs.
      createPartitioner: Partitioners.DefaultPartitioner,
    })
  }

  async start(): Promise<void> {
    await this.#producer.connect()
  }

  /** Partition count of a topic, looked up once (concurrent first sends share the lookup). */
  #partitionCount(topic: string): Promise<number> {
    let lookup = this.#lookups.get(topic)
    if (lookup === undefined) {
      lookup = this.#lookupPartitions(topic)
      this.#lookups.set(topic, lookup)
      lookup.catch(() => this.#lookups.delete(topic))
    }
    return lookup
  }

  async #lookupPartitions(topic: string): Promise<number> {
    const count = await this.#fetchPartitionCount(topic)
    this.#partitions.set(topic, count)
    return count
  }

  async #fetchPartitionCount(topic: string): Promise<number> {
    this.#admin ??= this.#transport.kafka.admin()
    const topics = await this.#admin.listTopics()
    if (!topics.includes(topic)) {
      // Let the broker auto-create it (as Faust does for topics it does not own).
      await this.#producer.send({ topic, messages: [] }).catch(() => {})
    }
    const { topics: meta } = await this.#admin.fetchTopicMetadata({ topics: [topic] })
    const count = meta[0]?.partitions.length ?? 0
    if (count === 0) throw new TransportError(`topic ${topic} has no partitions`, { topic })
    return count
  }

  send(record: ProducerRecord): Promise<RecordMetadata> {
    if (record.partition !== undefined) return this.#enqueue(record, record.partition)
    const count = this.#partitions.get(record.topic)
    if (count !== undefined) return this.#enqueue(record, this.#partitionOf(record, count))
    return this.#partitionCount(record.topic).then((n) => this.#enqueue(record, this.#partitionOf(record, n)))
  }

  /** Keys go where the Java client (and Python Faust) put them; keyless records spread randomly. */
  #partitionOf(record: ProducerRecord, count: number): number {
    return record.key !== null && record.key !== undefined ? keyPartition(record.key, count) : Math.floor(Math.random() * count)
  }

  #enqueue(record: ProducerRecord, partition: number): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => {
      this.#buffer.push({ record, partition, resolve, reject })
      this.#schedule()
    })
  }

  #schedule(): void {
    if (this.#scheduled || this.#inflight !== undefined) return
    this.#scheduled = true
    const go = () => {
      this.#scheduled = false
      this.#timer = undefined
      this.#sendBuffered()
    }
    if (this.#options.lingerMs > 0) this.#timer = setTimeout(go, this.#options.lingerMs)
    else setImmediate(go)
  }

  #sendBuffered(): void {
    if (this.#buffer.length === 0) {
      for (const w of this.#idle.splice(0)) w()
      return
    }
    // Cut the request at MAX_BATCH_MESSAGES or MAX_REQUEST_BYTES (a bigger message goes alone), like
    // the Java producer's max.request.size: a topic's max.message.bytes applies to a whole batch.
    let count = 0
    let bytes = 0
    for (const p of this.#buffer) {
      const size = (p.record.value?.length ?? 0) + (p.record.key?.length ?? 0) + 64
      if (count > 0 && (count >= MAX_BATCH_MESSAGES || bytes + size > MAX_REQUEST_BYTES)) break
      count += 1
      bytes += size
    }
    const batch = count === this.#buffer.length ? this.#buffer : this.#buffer.splice(0, count)
    if (batch === this.#buffer) this.#buffer = []
    this.#inflight = this.#sendBatch(batch).finally(() => {
      this.#inflight = undefined
      if (this.#buffer.length > 0) this.#sendBuffered()
      else for (const w of this.#idle.splice(0)) w()
    })
  }

  async #sendBatch(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, Pending[]>()
    for (const p of batch) {
      const list = byTopic.get(p.record.topic)
      if (list === undefined) byTopic.set(p.record.topic, [p])
      else list.push(p)
    }
    const compression = {
      none: CompressionTypes.None,
      gzip: CompressionTypes.GZIP,
      snappy: CompressionTypes.Snappy,
      lz4: CompressionTypes.LZ4,
      zstd: CompressionTypes.ZSTD,
    }[this.#options.compression]
    try {
      const results = await this.#producer.sendBatch({
        acks: this.#options.acks,
        timeout: this.#options.requestTimeoutMs,
        compression,
        topicMessages: [...byTopic].map(([topic, pending]) => ({
          topic,
          messages: pending.map((p) => ({
            key: p.record.key,
            value: p.record.value,
            partition: p.partition,
            timestamp: p.record.timestamp === undefined ? undefined : String(p.record.timestamp),
            headers: p.record.headers === undefined || p.record.headers.length === 0 ? undefined : Object.fromEntries(groupHeaders(p.record.headers)),
          })),
        })),
      })
      // kafkajs groups messages per partition in request order: offsets are base + index.
      const base = new Map<string, number>()
      for (const r of results) base.set(`${r.topicName}|${r.partition}`, Number(r.baseOffset ?? r.offset ?? -1))
      const seen = new Map<string, number>()
      for (const p of batch) {
        const key = `${p.record.topic}|${p.partition}`
        const index = seen.get(key) ?? 0
        seen.set(key, index + 1)
        const b = base.get(key) ?? -1
        p.resolve({
          topic: p.record.topic,
          partition: p.partition,
          offset: b >= 0 ? b + index : -1,
          timestamp: p.record.timestamp ?? Date.now(),
        })
      }
    } catch (err) {
      for (const p of batch) p.reject(err)
    }
  }

  async flush(): Promise<void> {
    if (this.#buffer.length === 0 && this.#inflight === undefined) return
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      this.#scheduled = false
      if (this.#inflight === undefined) this.#sendBuffered()
    }
    await new Promise<void>((resolve) => this.#idle.push(resolve))
  }

  async close(): Promise<void> {
    await this.flush()
    await this.#producer.disconnect()
    await this.#admin?.disconnect()
  }
}

/** kafkajs takes headers as an object; a repeated key becomes an array. */
function groupHeaders(headers: Header[]): Map<string, Buffer | Buffer[]> {
  const out = new Map<string, Buffer | Buffer[]>()
  for (const [k, v] of headers) {
    const prev = out.get(k)
    if (prev === undefined) out.set(k, v)
    else out.set(k, Array.isArray(prev) ? [...prev, v] : [prev, v])
  }
  return out
}

class KafkaAdminDriver implements AdminDriverT {
  readonly #admin: Admin
  #connected: Promise<void> | undefined

  constructor(admin: Admin) {
    this.#admin = admin
  }

  async #ready(): Promise<Admin> {
    this.#connected ??= this.#admin.connect()
    await this.#connected
    return this.#admin
  }

  async createTopic(spec: TopicSpec): Promise<boolean> {
    const admin = await this.#ready()
    return admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        },
      ],
    })
  }

  async describeTopics(names: string[]): Promise<Map<string, TopicDescription>> {
    const admin = await this.#ready()
    const existing = new Set(await admin.listTopics())
    const wanted = names.filter((n) => existing.has(n))
    const out = new Map<string, TopicDescription>()
    if (wanted.length === 0) return out
    const { topics } = await admin.fetchTopicMetadata({ topics: wanted })
    // Topic-level overrides only (what differs from the broker defaults), as createTopic sets them.
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: wanted.map((name) => ({ type: 2 /* TOPIC */, name })),
    })
    const configs = new Map(
      described.resources.map((r) => [
        r.resourceName,
        Object.fromEntries(r.configEntries.filter((e) => !e.isDefault && e.configValue !== null).map((e) => [e.configName, e.configValue])),
      ]),
    )
    for (const t of topics) out.set(t.name, { name: t.name, partitions: t.partitions.length, config: configs.get(t.name) ?? {} })
    return out
  }

  async deleteTopics(names: string[]): Promise<void> {
    if (names.length === 0) return
    const admin = await this.#ready()
    await admin.deleteTopics({ topics: names })
  }

  async endOffsets(tps: TP[]): Promise<Map<TP, number>> {
    return this.#offsets(tps, 'high')
  }

  async beginningOffsets(tps: TP[]): Promise<Map<TP, number>> {
    return this.#offsets(tps, 'low')
  }

  async #offsets(tps: TP[], which: 'high' | 'low'): Promise<Map<TP, number>> {
    const admin = await this.#ready()
    const out = new Map<TP, number>()
    for (const [topic, partitions] of tpsByTopic(tps)) {
      const offsets = await admin.fetchTopicOffsets(topic)
      for (const o of offsets) {
        if (partitions.includes(o.partition)) out.set(tp(topic, o.partition), Number(o[which]))
      }
    }
    return out
  }

  async close(): Promise<void> {
    if (this.#connected !== undefined) await this.#admin.disconnect()
    this.#connected = undefined
  }
}
