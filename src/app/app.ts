/**
 * App: the composition root. It holds the settings, creates topics, channels and agents, and
 * starts the services in Faust's boot order:
 *
 * ```
 * start:  Monitor → Producer → Conductor → Web → Tables → Agents → Consumer (joins the group)
 *         → Fetcher → Tasks
 * stop:   Tasks → Fetcher → Consumer (drop buffered, wait for in-flight, final commit, leave)
 *         → Agents → Conductor → Producer (flush)
 * ```
 * @module
 */
import { Agent, type AgentChannelT, type AgentFun, type AgentOptions } from '../agents/agent.ts'
import { Channel, type ChannelOptions } from '../channels/channel.ts'
import { Topic, type TopicOptions } from '../channels/topic.ts'
import type { DecodeError } from '../errors.ts'
import { describeError, ImproperlyConfigured, PartitionsMismatch, ProducerSendError, UnknownTopic } from '../errors.ts'
import { codecs, type CodecRegistry } from '../serializers/codecs.ts'
import { Service } from '../services/service.ts'
import { type Stream, type StreamOptions } from '../streams/stream.ts'
import { Conductor } from '../transport/conductor.ts'
import { Consumer, type RebalanceListener } from '../transport/consumer.ts'
import { createTransport } from '../transport/drivers/index.ts'
import { MemoryTransport } from '../transport/drivers/memory.ts'
import { Fetcher } from '../transport/fetcher.ts'
import { CopartitionedAssignor } from '../assignor/partition-assignor.ts'
import { GlobalTable } from '../tables/global-table.ts'
import { TableManager } from '../tables/manager.ts'
import { SetTable, type SetTableOptions } from '../tables/set-table.ts'
import { Table, type TableOptions, type TableT } from '../tables/table.ts'
import type { Message } from '../transport/message.ts'
import { Producer } from '../transport/producer.ts'
import { Monitor } from '../sensors/monitor.ts'
import { PrometheusMetrics } from '../sensors/prometheus.ts'
import { Sensors } from '../sensors/sensors.ts'
import { BadRequest } from '../errors.ts'
import type { HttpMethod, ViewHandler, WebRequest } from '../types/web.ts'
import { addBuiltinViews, routeToKey, table as tableNamed, type WebHost } from '../web/views.ts'
import { Web } from '../web/web.ts'
import type { AppT, SubscriptionT, TopicDeclT } from '../types/app.ts'
import type { SendArgs } from '../types/channels.ts'
import type { InferType, TypeSpec } from '../types/serializers.ts'
import type { Settings, SettingsInput } from '../types/settings.ts'
import type { AdminDriverT, PartitionAssignorT, TransportDriverT } from '../types/transport.ts'
import type { RecordMetadata, TP } from '../types/tuples.ts'
import { silentLogger } from '../types/logging.ts'
import { resolveSettings } from './settings.ts'
import { AppTasks, type TaskFn } from './tasks.ts'

type KeyOf<S> = S extends TypeSpec ? InferType<S> : Buffer | null
type ValueOf<S> = S extends TypeSpec ? InferType<S> : unknown

/** Typed topic options: the key and value types are inferred from keyType and valueType. */
export type TypedTopicOptions<KS, VS> = Omit<TopicOptions, 'keyType' | 'valueType'> & { keyType?: KS; valueType?: VS }

export type AgentDefinitionOptions<R> = AgentOptions<R> & Omit<TopicOptions, 'name'>

export class App extends Service implements AppT {
  readonly id: string
  readonly conf: Settings
  readonly codecs: CodecRegistry = codecs
  readonly sensors: Sensors
  /** Faust's Monitor: the numbers behind /stats, /metrics and the dashboard. */
  readonly monitor: Monitor
  readonly producer: Producer
  readonly conductor: Conductor
  readonly consumer: Consumer
  readonly fetcher: Fetcher
  readonly tables: TableManager
  readonly tasks = new AppTasks()
  readonly agents = new Map<string, Agent<never, never, never>>()
  readonly topics = new Map<string, Topic<unknown, unknown>>()
  readonly #services: Service[] = []
  readonly #rebalanceListeners: RebalanceListener[] = []
  #transport: TransportDriverT | undefined
  #admin: AdminDriverT | undefined
  #declared = new Map<string, Promise<void>>()
  #partitionCounts = new Map<string, number>()
  /** Aborted first thing on stop, so app.stream() loops end before the tasks that run them are awaited. */
  #streams = new AbortController()
  /**
   * The consumer group's partition assignor: co-partitioning, sticky, with table standbys (Faust's).
   * Replace it before start to plug in another.
   */
  assignor: PartitionAssignorT | undefined
  /** Decode errors seen, for sensors and tests. */
  decodeErrors = 0
  /** Bad input and processing errors by what was done with them. */
  readonly errorStats = { skip: 0, dlq: 0, fail: 0 }
  readonly #deadLetterTopics = new Map<string, Topic<unknown, unknown>>()
  #rebalance: unknown
  #web: Web | undefined
  #metrics: PrometheusMetrics | undefined
  /**
   * Start the web server with the app. The worker sets it from `webEnabled` (and `--without-web`);
   * an app started by other code (tests, embedding) has no server unless this is set.
   */
  serveWeb = false

  constructor(id: string, settings: SettingsInput = {}) {
    const conf = resolveSettings(id, settings)
    super({ name: `App(${id})`, log: conf.logger ?? silentLogger, clock: conf.clock, stopTimeout: conf.shutdownTimeout })
    if (!/^[A-Za-z0-9._-]+$/.test(id)) {
      throw new ImproperlyConfigured(`app id ${JSON.stringify(id)} may only contain letters, digits, ".", "_" and "-" (it prefixes topic names)`)
    }
    this.id = conf.version > 1 ? `${id}-v${conf.version}` : id
    this.conf = conf
    this.sensors = new Sensors(() => this.log)
    this.monitor = new Monitor({
      worker: () => ({ id: this.id, url: this.#web?.port === undefined ? undefined : this.canonicalUrl, state: this.state, ready: this.tables.ready && this.state === 'running' }),
      agents: () =>
        [...this.agents.values()].map((a) => ({
          name: a.name,
          topics: [...((a.channel as { names?: readonly string[] }).names ?? [])],
          concurrency: a.concurrency,
          state: a.state,
          help: a.help,
        })),
      tables: () =>
        [...this.tables.tables.values()].map((t) => {
          const c = t as unknown as Table<unknown, unknown>
          return {
            name: t.name,
            kind: t.kind,
            window: c.windowing?.describe(),
            changelog: t.changelog.topics[0]!,
            partitions: t.partitions,
            active: c.activePartitions(),
            standby: c.standbyPartitions(),
            keys: c.size,
            ...c.stats,
          }
        }),
      messages: () => ({ ...this.consumer.stats, received: this.consumer.stats.delivered, byTopic: this.consumer.deliveredByTopic }),
      partitions: () => this.consumer.partitionOffsets(),
      endOffsets: (tps) => this.admin.endOffsets(tps),
      recovery: () => ({ ready: this.tables.ready, ...this.tables.progress() }),
    })
    this.sensors.add(this.monitor)
    this.producer = new Producer(() =>
      this.transport.createProducer({
        clientId: conf.brokerClientId,
        acks: conf.producerAcks,
        lingerMs: conf.producerLinger * 1000,
        maxBatchSize: conf.producerMaxBatchSize,
        compression: conf.producerCompressionType,
        idempotent: conf.producerIdempotence,
        requestTimeoutMs: conf.producerRequestTimeout * 1000,
        log: this.log.child({ service: 'Producer' }),
      }),
      this.sensors,
    )
    this.conductor = new Conductor((message, err, sub) => this.onDecodeError(message, err, sub))
    this.consumer = new Consumer({
      conductor: this.conductor,
      commitEvery: conf.brokerCommitEvery,
      commitInterval: conf.brokerCommitInterval,
      waitEmpty: conf.streamWaitEmpty,
      waitEmptyTimeout: Math.min(conf.streamProcessingTimeout, conf.brokerRebalanceTimeout, conf.shutdownTimeout),
      // Changelog sends must be on the broker, and stores durable with their offsets, before sources commit.
      flush: async () => {
        await this.tables.settle()
        this.tables.sendPendingChangelogs()
        await this.producer.flush()
        await this.tables.flush()
      },
      declare: (topic) => this.declareTopic(topic),
      prefetch: (tp, records) => this.tables.prefetch(tp, records),
      sensors: this.sensors,
      listener: {
        onPartitionsRevoked: async (revoked) => {
          this.#rebalance = this.sensors.onRebalanceStart(revoked)
          for (const l of this.#rebalanceListeners) await l.onPartitionsRevoked?.(revoked)
        },
        onPartitionsAssigned: async (assigned, info) => {
          // The first assignment has no revoke before it: it starts a rebalance too.
          const rebalance = this.#rebalance ?? this.sensors.onRebalanceStart([])
          this.#rebalance = undefined
          this.sensors.onRebalanceReturn(rebalance, assigned, info.generation)
          for (const l of this.#rebalanceListeners) await l.onPartitionsAssigned?.(assigned, info)
          void this.tables.whenReady().then(() => this.sensors.onRebalanceEnd(rebalance))
        },
      },
      createDriver: (handler) =>
        this.transport.createConsumer({
          groupId: this.id,
          clientId: conf.brokerClientId,
          handler,
          assignor: this.assignor,
          autoOffsetReset: conf.consumerAutoOffsetReset,
          sessionTimeoutMs: conf.brokerSessionTimeout * 1000,
          heartbeatIntervalMs: conf.brokerHeartbeatInterval * 1000,
          rebalanceTimeoutMs: conf.brokerRebalanceTimeout * 1000,
          maxPollRecords: conf.brokerMaxPollRecords,
          maxPartitionFetchBytes: conf.consumerMaxFetchSize,
          isolationLevel: conf.processingGuarantee === 'exactly_once' ? 'read_committed' : 'read_uncommitted',
          log: this.log.child({ service: 'Consumer' }),
        }),
    })
    this.fetcher = new Fetcher(this.consumer)
    this.tables = new TableManager({
      datadir: conf.datadir,
      assignment: () => this.consumer.assignment(),
      tableAssignment: () => {
        const current = (this.assignor as { current?: () => { actives: Record<string, number[]>; standbys: Record<string, number[]> } | undefined } | undefined)?.current?.()
        return current === undefined ? undefined : { actives: current.actives, standbys: current.standbys }
      },
      endOffsets: (tps) => this.admin.endOffsets(tps),
      beginningOffsets: (tps) => this.admin.beginningOffsets(tps),
      createReader: (onRecords) =>
        this.transport.createReader({
          clientId: `${conf.brokerClientId}-tables`,
          maxPartitionFetchBytes: conf.consumerMaxFetchSize,
          isolationLevel: conf.processingGuarantee === 'exactly_once' ? 'read_committed' : 'read_uncommitted',
          onRecords,
          log: this.log.child({ service: 'TableReader' }),
        }),
      hold: (tps) => this.consumer.hold(tps),
      release: (tps) => this.consumer.release(tps),
      declare: (table) => this.declareTopic(table.changelog),
      partitionsFor: (topic) => this.partitionsFor(topic),
      knownPartitions: (topic) => this.knownPartitions(topic),
      cleanupInterval: conf.tableCleanupInterval,
    })
    this.onRebalance(this.tables)
    this.assignor = new CopartitionedAssignor({
      url: () => this.canonicalUrl,
      sensors: this.sensors,
      tables: () => [...this.tables.tables.values()].filter((t) => !t.isGlobal).map((t) => ({ changelog: t.changelog.topics[0]!, partitions: t.partitions })),
      standbyReplicas: conf.tableStandbyReplicas,
    })
  }

  /**
   * The transport driver for the broker URL. `memory://` is created on first use; other drivers
   * load asynchronously in prepareTransport(), which start() calls.
   */
  get transport(): TransportDriverT {
    if (this.#transport === undefined) {
      const url = this.conf.broker
      if (!url.startsWith('memory://')) {
        throw new ImproperlyConfigured(`the ${url} transport is not loaded yet: await app.prepareTransport() (start() does it)`)
      }
      const transport = new MemoryTransport(url)
      transport.broker.defaultPartitions = this.conf.topicPartitions
      this.#transport = transport
    }
    return this.#transport
  }

  /** Load the transport driver for the broker URL. */
  async prepareTransport(): Promise<TransportDriverT> {
    this.#transport ??= await createTransport(this.conf.broker, this.conf, this.log)
    return this.#transport
  }

  /** Use a transport driver directly (the Kafka driver is set this way by the worker). */
  setTransport(transport: TransportDriverT): void {
    if (this.state !== 'init' && this.state !== 'stopped') throw new ImproperlyConfigured('set the transport before starting the app')
    this.#transport = transport
    this.#admin = undefined
  }

  get admin(): AdminDriverT {
    if (this.#admin === undefined) this.#admin = this.transport.createAdmin()
    return this.#admin
  }

  // ── definitions ────────────────────────────────────────────────────────────────

  /**
   * Describe a topic. The key and value types come from `keyType` / `valueType` (a Standard
   * Schema such as zod, a model, `String`, `Number` or `Buffer`).
   */
  topic<KS extends TypeSpec | undefined = undefined, VS extends TypeSpec | undefined = undefined>(
    names: string | string[],
    options: TypedTopicOptions<KS, VS> = {},
  ): Topic<KeyOf<KS>, ValueOf<VS>> {
    const list = typeof names === 'string' ? [names] : names
    if (list.length === 0 || list.some((n) => n.length === 0)) throw new ImproperlyConfigured('a topic needs a name')
    const topic = new Topic<KeyOf<KS>, ValueOf<VS>>(this, list, options as TopicOptions<KeyOf<KS>, ValueOf<VS>>)
    for (const name of list) if (!this.topics.has(name)) this.topics.set(name, topic as Topic<unknown, unknown>)
    const transport = this.#transport ?? (this.conf.broker.startsWith('memory://') ? this.transport : undefined)
    if (transport instanceof MemoryTransport) {
      // Nothing else creates topics on the embedded broker: the first description decides the partitions.
      for (const name of list) {
        transport.broker.createTopic({
          name,
          partitions: topic.partitions ?? this.conf.topicPartitions,
          replicationFactor: 1,
          config: topic.config,
        })
      }
    }
    return topic
  }

  /** An in-memory channel (no broker). */
  channel<KS extends TypeSpec | undefined = undefined, VS extends TypeSpec | undefined = undefined>(
    options: Omit<ChannelOptions, 'keyType' | 'valueType'> & { keyType?: KS; valueType?: VS } = {},
  ): Channel<KeyOf<KS>, ValueOf<VS>> {
    return new Channel<KeyOf<KS>, ValueOf<VS>>(this, options as ChannelOptions<KeyOf<KS>, ValueOf<VS>>)
  }

  /**
   * A table: partitioned key/value state backed by a compacted changelog topic. Read and write it
   * inside agents; see docs/tables.md.
   */
  table<K = unknown, V = unknown>(name: string, options: TableOptions<K, V> = {}): Table<K, V> {
    return this.#addTable(new Table<K, V>(this, name, options, this.#changelogTopic))
  }

  /** A table every worker holds whole, kept in sync from every worker's writes. */
  globalTable<K = unknown, V = unknown>(name: string, options: TableOptions<K, V> = {}): GlobalTable<K, V> {
    return this.#addTable(new GlobalTable<K, V>(this, name, options, this.#changelogTopic))
  }

  /** A table of sets (Faust's SetTable): add/discard members per key, changelogged as operations. */
  setTable<K = unknown, M = unknown>(name: string, options: SetTableOptions<K, M> = {}): SetTable<K, M> {
    return this.#addTable(new SetTable<K, M>(this, name, options, this.#changelogTopic))
  }

  #addTable<T extends TableT>(table: T): T {
    if (this.state !== 'init') throw new ImproperlyConfigured(`define table ${table.name} before the app starts`)
    if (this.tables.tables.has(table.name)) throw new ImproperlyConfigured(`a table named ${table.name} already exists`)
    this.tables.add(table)
    return table
  }

  readonly #changelogTopic = (name: string, options: { partitions: number; config: Record<string, string> }) =>
    this.topic(name, { internal: true, partitions: options.partitions, config: options.config, keySerializer: 'raw', valueSerializer: 'raw' }) as unknown as Topic<Buffer | null, Buffer | null>

  /**
   * Define an agent: `fn` gets a Stream over `channel` (or, when channel is undefined, over the
   * agent's own topic `<app-id>-<name>`). Returns the Agent, which can be sent to.
   */
  agent<K, V, R = never>(
    channel: AgentChannelT<K, V> | undefined,
    fn: AgentFun<V, K, R>,
    options: AgentDefinitionOptions<R> = {},
  ): Agent<V, K, R> {
    const name = options.name ?? fn.name
    if (name === '' || name === undefined) {
      throw new ImproperlyConfigured('an agent needs a name: pass { name } or use a named function')
    }
    if (this.agents.has(name)) throw new ImproperlyConfigured(`an agent named ${name} already exists`)
    if (this.state !== 'init') throw new ImproperlyConfigured(`define agent ${name} before the app starts`)
    const source =
      channel ??
      (this.topic(`${this.id}-${name}`, {
        ...options,
        internal: true,
      } as TypedTopicOptions<undefined, undefined>) as unknown as AgentChannelT<K, V>)
    const agent = new Agent<V, K, R>(this, source, fn, {
      ...options,
      name,
      escalate: (err) => this.crash(err),
    })
    this.agents.set(name, agent as unknown as Agent<never, never, never>)
    return agent
  }

  /** A stream over a channel, owned by the app (iterate it in a task). It ends when the app stops. */
  stream<K, V>(channel: Channel<K, V>, options: StreamOptions = {}): Stream<V, K> {
    return channel.stream({
      signal: this.#streams.signal,
      spawn: (name, fn) => this.tasks.spawn(name, fn),
      ...options,
    })
  }

  /** Send to a topic (by name or object), channel or agent. */
  async send<K, V>(
    target: string | { send(args: SendArgs<K, V>): Promise<RecordMetadata | undefined> },
    args: SendArgs<K, V>,
  ): Promise<RecordMetadata | undefined> {
    const to = typeof target === 'string' ? (this.topics.get(target) ?? this.topic(target)) : target
    return (to as { send(args: SendArgs<K, V>): Promise<RecordMetadata | undefined> }).send(args)
  }

  /** Run `fn` every `seconds` (drift-corrected) while the app runs. */
  timer(seconds: number, fn: TaskFn, options: { name?: string } = {}): void {
    this.tasks.timer(seconds, fn, options.name ?? (fn.name || `timer-${this.tasks.entries.length + 1}`))
  }

  /** Run `fn` once when the app has started. */
  task(fn: TaskFn, options: { name?: string } = {}): void {
    this.tasks.task(fn, options.name ?? (fn.name || `task-${this.tasks.entries.length + 1}`))
  }

  /** Run `fn` on a cron schedule (5 or 6 fields; seconds first when 6), in `timezone` (default: the app's). */
  crontab(expression: string, fn: TaskFn, options: { name?: string; timezone?: string } = {}): void {
    this.tasks.crontab(
      expression,
      fn,
      options.name ?? (fn.name || `crontab-${this.tasks.entries.length + 1}`),
      options.timezone ?? this.conf.timezone,
    )
  }

  /** Start a user service with the app (and stop it with the app). */
  service<S extends Service>(service: S): S {
    this.#services.push(service)
    return service
  }

  /** Hear about rebalances (tables use this to recover). */
  onRebalance(listener: RebalanceListener): void {
    this.#rebalanceListeners.push(listener)
  }

  // ── topics on the broker ───────────────────────────────────────────────────────

  /**
   * Create a topic the app owns: internal topics always (when topicAllowDeclare), and every topic
   * on the memory broker (nothing else would create it). An existing topic whose partition count
   * differs from a declared count is an error: sending by key to it would route to the wrong place.
   */
  declareTopic(topic: TopicDeclT): Promise<void> {
    const key = topic.topics.join(',')
    let declared = this.#declared.get(key)
    if (declared === undefined) {
      declared = this.#declare(topic)
      this.#declared.set(key, declared)
      declared.catch(() => this.#declared.delete(key))
    }
    return declared
  }

  async #declare(topic: TopicDeclT): Promise<void> {
    const memory = this.transport.scheme === 'memory'
    const existing = await this.admin.describeTopics([...topic.topics])
    for (const name of topic.topics) {
      const found = existing.get(name)
      const wanted = topic.partitions ?? (topic.internal ? this.conf.topicPartitions : undefined)
      if (found !== undefined) {
        if (wanted !== undefined && found.partitions !== wanted) {
          throw new PartitionsMismatch(
            `topic ${name} has ${found.partitions} partitions but the app needs ${wanted}; ` +
              'recreate the topic, or declare it with the partition count it has',
            { topic: name },
          )
        }
        this.#partitionCounts.set(name, found.partitions)
        continue
      }
      if (!(topic.internal || memory) || !this.conf.topicAllowDeclare) continue
      const partitions = wanted ?? this.conf.topicPartitions
      await this.admin.createTopic({
        name,
        partitions,
        replicationFactor: topic.replicas ?? this.conf.topicReplicationFactor,
        config: topic.config,
      })
      this.#partitionCounts.set(name, partitions)
      this.log.debug({ topic: name, partitions }, `created topic ${name}`)
    }
  }

  async partitionsFor(topic: string): Promise<number> {
    const known = this.#partitionCounts.get(topic)
    if (known !== undefined) return known
    const found = (await this.admin.describeTopics([topic])).get(topic)
    if (found === undefined) throw new UnknownTopic(`topic ${topic} does not exist`, { topic })
    this.#partitionCounts.set(topic, found.partitions)
    return found.partitions
  }

  /** This worker's web URL, advertised to the other workers in the group (Faust's canonical_url). */
  get canonicalUrl(): string {
    return `http://${this.conf.webHost}:${this.#web?.port ?? this.conf.webPort}`
  }

  /** A topic's partition count if the app has seen it (declared or described), without asking the broker. */
  knownPartitions(topic: string): number | undefined {
    return this.#partitionCounts.get(topic)
  }

  assignment(): TP[] {
    return this.consumer.assignment()
  }

  // ── errors ─────────────────────────────────────────────────────────────────────

  /**
   * A message one stream cannot decode. Logged once with where it came from and why, counted, and
   * then, by the subscription's policy (agent option, else topic option, else errorPolicy): skipped
   * (its offset still commits), forwarded to the dead-letter topic (the ack waits for the broker),
   * or the worker stops (the offset is not committed, so it is read again after a restart).
   */
  onDecodeError(message: Message, err: DecodeError, subscription: SubscriptionT): Promise<void> | undefined {
    const policy = subscription.handling.policy ?? this.conf.errorPolicy
    this.decodeErrors += 1
    this.errorStats[policy] += 1
    this.log.error(
      { code: err.code, topic: message.topic, partition: message.partition, offset: message.offset, policy },
      `${describeError(err)} (${policy === 'skip' ? 'skipped' : policy === 'dlq' ? 'sent to the dead-letter topic' : 'stopping the worker'})`,
    )
    if (policy === 'skip') return undefined
    if (policy === 'fail') {
      // Never acked (so never committed), and nobody waits for it while stopping.
      message.dropped = true
      this.fail(err)
      return new Promise(() => {})
    }
    return this.deadLetter(message, err, subscription.handling.deadLetterTopic).catch((dlqErr: unknown) => {
      this.fail(new ProducerSendError(`cannot dead-letter ${message.topic}[${message.partition}]@${message.offset}: ${describeError(dlqErr)}`, { topic: message.topic, partition: message.partition, offset: message.offset, cause: dlqErr }))
      throw dlqErr
    })
  }

  /**
   * Forward a failed message to a dead-letter topic (default `<topic>-dlq`, created by the app with
   * the source topic's partition count and message size limit): the original key, value bytes and
   * headers, plus error headers named as in Kafka Streams (KIP-1034): `__streams.errors.exception`,
   * `.message`, `.stacktrace`, `.topic`, `.partition`, `.offset`.
   */
  async deadLetter(message: Message, err: unknown, topic: string | undefined, value?: unknown): Promise<void> {
    const name = topic ?? `${message.topic}-dlq`
    if (!this.#deadLetterTopics.has(name)) {
      const source = this.topics.get(message.topic)
      const described = (await this.admin.describeTopics([message.topic])).get(message.topic)
      const config: Record<string, string> = {}
      const maxBytes = described?.config['max.message.bytes']
      if (maxBytes !== undefined) config['max.message.bytes'] = maxBytes
      this.#deadLetterTopics.set(
        name,
        this.topic(name, {
          internal: true,
          partitions: described?.partitions ?? source?.partitions,
          keySerializer: 'raw',
          valueSerializer: 'raw',
          config,
        }) as Topic<unknown, unknown>,
      )
    }
    const target = this.#deadLetterTopics.get(name)!
    await target.maybeDeclare()
    const error = err instanceof Error ? err : new Error(String(err))
    const bytes = message.value ?? (value === undefined || value === null ? null : Buffer.from(JSON.stringify(value)))
    await target.sendRaw({
      key: message.key,
      value: bytes,
      timestamp: message.timestamp,
      headers: [
        ...message.headers,
        ['__streams.errors.exception', Buffer.from(error.name)],
        ['__streams.errors.message', Buffer.from(error.message)],
        ['__streams.errors.stacktrace', Buffer.from(error.stack ?? '')],
        ['__streams.errors.topic', Buffer.from(message.topic)],
        ['__streams.errors.partition', Buffer.from(String(message.partition))],
        ['__streams.errors.offset', Buffer.from(String(message.offset))],
      ],
    })
  }

  /** Stop the worker with this error (the `fail` policy). */
  fail(err: Error): void {
    this.crash(err)
  }

  // ── web ────────────────────────────────────────────────────────────────────────

  /** The web server (started with the app when `serveWeb` is set; see docs/web.md). */
  get web(): Web {
    if (this.#web === undefined) {
      const web = new Web({ port: this.conf.webPort, bind: this.conf.webBind, sensors: this.sensors })
      addBuiltinViews(web, this.#webHost)
      this.#web = web
    }
    return this.#web
  }

  #host: WebHost | undefined

  /** What the web views read from the app (made once, on first use). */
  get #webHost(): WebHost {
    const app = () => this
    this.#host ??= {
      id: this.id,
      get canonicalUrl() {
        return app().canonicalUrl
      },
      // The worker replaces the app's logger after the app is made: read it when logging.
      get log() {
        return app().log.child({ service: 'Web' })
      },
      forwardTimeout: 5,
      snapshot: () => this.monitor.snapshot(),
      tables: () => this.tables.tables as unknown as ReadonlyMap<string, Table<unknown, unknown>>,
      ready: () => this.tables.ready && this.state === 'running',
      ownerOf: (topic, partition) => (this.assignor as CopartitionedAssignor | undefined)?.ownerOf?.(topic, partition) ?? { active: undefined, standbys: [] },
      assignment: () => (this.assignor as CopartitionedAssignor | undefined)?.current?.(),
      metrics: () => (this.#metrics ??= new PrometheusMetrics(this.monitor, { appId: this.id })).text(),
      topic: (name) => this.topics.get(name),
    }
    return this.#host
  }

  /**
   * A web view (Faust's `@app.page`): `handler` gets the request (`params`, `query`, `json()`)
   * and returns a JSON value, or `response(body, {status, headers, contentType})`.
   */
  page(path: string, handler: ViewHandler, options: { method?: HttpMethod | HttpMethod[]; help?: string } = {}): void {
    const methods = options.method === undefined ? ['GET' as const] : Array.isArray(options.method) ? options.method : [options.method]
    for (const method of methods) this.web.add(method, path, handler, { help: options.help })
  }

  /**
   * A view answered by the worker that holds a table key (Faust's `@app.table_route`): the key is
   * the path parameter `key` names (or the query parameter `query` names), and the request is
   * forwarded to the worker holding the key's partition, or a standby when that one is down.
   */
  tableRoute(
    table: TableT | string,
    path: string,
    handler: ViewHandler,
    options: { key?: string; query?: string; method?: HttpMethod; help?: string } = {},
  ): void {
    const name = typeof table === 'string' ? table : table.name
    const host = this.#webHost
    this.web.add(
      options.method ?? 'GET',
      path,
      (request: WebRequest) => {
        const key = options.query !== undefined ? request.query.get(options.query) : request.params[options.key ?? 'key']
        if (key === null || key === undefined) throw new BadRequest(`${path} needs the table key in ${options.query !== undefined ? `the query parameter ${options.query}` : `the path parameter ${options.key ?? 'key'}`}`)
        return routeToKey(host, tableNamed(host, name), key, request, () => handler(request))
      },
      { help: options.help ?? `routed by the key of table ${name}` },
    )
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────────

  protected override dependencies(): Iterable<Service> {
    // The web server starts before the consumer joins the group: the URL it advertises is bound,
    // and /health answers (not ready) during recovery.
    const web = this.serveWeb ? [this.web] : []
    return [this.monitor, this.producer, this.conductor, ...web, this.tables, ...this.agents.values(), this.consumer, this.fetcher, ...this.#services, this.tasks]
  }

  protected override async onStart(): Promise<void> {
    if (this.#streams.signal.aborted) this.#streams = new AbortController()
    await this.prepareTransport()
    this.conductor.log = this.log.child({ service: 'Conductor' })
    this.consumer.log = this.log.child({ service: 'Consumer' })
    this.monitor.log = this.log.child({ service: 'Monitor' })
    if (this.#web !== undefined) this.#web.log = this.log.child({ service: 'Web' })
    // Declare what the app owns before anything reads or writes it.
    const topics = new Set<Topic<unknown, unknown>>(this.topics.values())
    for (const agent of this.agents.values()) {
      if (agent.channel instanceof Topic) topics.add(agent.channel as Topic<unknown, unknown>)
    }
    for (const topic of topics) await this.declareTopic(topic)
  }

  protected override async onShutdown(): Promise<void> {
    const admin = this.#admin
    this.#admin = undefined
    await admin?.close()
  }

  override async onStop(): Promise<void> {
    // Stop fetching first, then let in-flight events finish and commit, before agents stop.
    this.#streams.abort()
    await this.tasks.stop()
    await this.fetcher.stop()
    await this.consumer.drain()
  }
}
