/**
 * Tables: partitioned key/value state backed by a compacted changelog topic (Faust's Table).
 *
 * A table is read and written synchronously inside an agent, like a dict:
 *
 * ```ts
 * const counts = app.table('word-counts', { default: () => 0 })
 * app.agent(words, async (stream) => {
 *   for await (const word of stream) counts.set(word, counts.get(word) + 1)
 * })
 * ```
 *
 * A change is written to the store of the current event's partition and sent to the same
 * partition of the changelog `<app-id>-<table>-changelog` (co-partitioning: the worker that owns a
 * source partition owns the table partition of the same number), unless `usePartitioner` is set.
 * Keys and values are JSON by default (raw for Buffer types), as Faust writes them, so Python
 * Faust and faust-ts read each other's changelogs. A delete is a tombstone.
 * @module
 */
import type { Topic } from '../channels/topic.ts'
import { ImproperlyConfigured, PartitionsMismatch, TableOutsideStream } from '../errors.ts'
import { Schema } from '../serializers/schema.ts'
import { Service } from '../services/service.ts'
import { currentEvent } from '../streams/context.ts'
import type { AppT, TopicDeclT } from '../types/app.ts'
import type { TypeSpec } from '../types/serializers.ts'
import type { StoreT } from '../types/stores.ts'
import type { RecordMetadata } from '../types/tuples.ts'
import { keyPartition } from '../utils/murmur2.ts'
import { HoppingWindow, SessionWindow, SlidingWindow, TumblingWindow, type WindowT } from '../windows/windows.ts'
import { type SessionWindowOptions, type WindowOptions, WindowedTable, Windowing } from './windowed.ts'

export interface TableOptions<K = unknown, V = unknown> {
  /** Value returned by get() for a missing key (and the start of update()). */
  default?: (() => V) | undefined
  keyType?: TypeSpec<K> | undefined
  valueType?: TypeSpec<V> | undefined
  keySerializer?: string | undefined
  valueSerializer?: string | undefined
  /** Partitions of the changelog (default: the app's topicPartitions). */
  partitions?: number | undefined
  /** Store URL for this table (default: the app's store). */
  store?: string | undefined
  /** Changelog topic name (default `<app-id>-<table>-changelog`). */
  changelogTopic?: string | undefined
  /** Called once a rebalance's recovery of this table is done. */
  onRecover?: (() => void | Promise<void>) | undefined
  /** Place keys by murmur2 of the key instead of the current event's partition (writes allowed outside agents). */
  usePartitioner?: boolean | undefined
  /** Topics whose events write this table: their partition counts are checked at start-up. */
  sources?: readonly TopicDeclT[] | undefined
  /**
   * On stores with asynchronous reads (rocksdb://): the table key an incoming record will read, so
   * it is fetched before the agent runs. Default: the record's key as a string, when the table's
   * keys are strings or untyped. Return undefined to skip a record.
   */
  prefetchKey?: ((record: PrefetchRecord) => K | undefined) | undefined
  /** One line for `faust-ts tables`. */
  help?: string | undefined
  /** Extra changelog topic configs. */
  config?: Record<string, string> | undefined
}

/** A changelog record read back. */
export interface ChangelogRecord {
  key: Buffer | null
  value: Buffer | null
  offset: number
  /** Milliseconds since the epoch. */
  timestamp?: number | undefined
  headers?: ReadonlyArray<readonly [string, Buffer]> | undefined
}

/** A change to send to the changelog (timestamp: the producer's clock unless given). */
interface Change {
  key: Buffer
  value: Buffer | null
  timestamp?: number | undefined
  headers?: Array<[string, Buffer]> | undefined
}

/** What prefetch sees of an incoming record. */
export interface PrefetchRecord {
  key: Buffer | null
  value: Buffer | null
  topic: string
  /** Milliseconds since the epoch. */
  timestamp: number
}

/** What the table manager needs from any table kind. */
export interface TableT {
  readonly name: string
  readonly kind: 'table' | 'global' | 'set'
  readonly changelog: Topic<Buffer | null, Buffer | null>
  readonly partitions: number
  readonly storeUrl: string
  readonly isGlobal: boolean
  readonly sources: readonly TopicDeclT[]
  /** Stores this table holds now, by partition. */
  stores(): ReadonlyMap<number, StoreT>
  attachStore(partition: number, store: StoreT, role: 'active' | 'standby'): void
  detachStore(partition: number): StoreT | undefined
  /** Apply changelog records read back (recovery, standbys, global tables). */
  applyChangelog(partition: number, records: ChangelogRecord[]): void
  onRecovered(): Promise<void>
  /** Send the changelog changes buffered since the last commit. */
  sendPendingChangelog(): void
  prefetch(partition: number, records: PrefetchRecord[]): Promise<void> | undefined
  /** Close and expire due windows (windowed tables; the manager's timer calls it once recovery is done). */
  sweep(): void
  /** Wait for work the table started that must finish before a commit (close callbacks, emits). */
  settle(): Promise<void>
  describe(): Record<string, string | number | boolean>
}

type CollectionKind = 'table' | 'global' | 'set'

/** Distinct keys with a buffered change (across partitions) that trigger an early send. */
const MAX_PENDING_CHANGES = 50_000

/** Common machinery of Table, GlobalTable and SetTable (Faust's Collection). */
export abstract class Collection<K, V> extends Service implements TableT {
  readonly app: AppT
  readonly kind: CollectionKind
  readonly schema: Schema<K, V>
  readonly changelog: Topic<Buffer | null, Buffer | null>
  readonly partitions: number
  readonly storeUrl: string
  readonly usePartitioner: boolean
  readonly sources: readonly TopicDeclT[]
  readonly help: string
  readonly #onRecover: (() => void | Promise<void>) | undefined
  protected readonly prefetchKey: ((record: PrefetchRecord) => K | undefined) | undefined
  readonly #stores = new Map<number, StoreT>()
  readonly #roles = new Map<number, 'active' | 'standby'>()
  #verified = new Set<string>()

  /** Topics whose events wrote to this table here (the web router hashes keys as they encode them). */
  get writtenFrom(): ReadonlySet<string> {
    return this.#verified
  }
  /** Latest buffered change per key, by partition, not sent yet (see writeBytes). */
  #pending = new Map<number, Map<string, Change>>()
  #pendingCount = 0
  /** Whether changes are buffered per key until the commit (not for op logs: every op counts). */
  protected bufferChangelog = true
  /** Changelog sends not yet acknowledged (a failure crashes the app: a lost change is lost state). */
  #sending = 0
  readonly stats = { reads: 0, writes: 0, deletes: 0 }

  constructor(
    app: AppT,
    name: string,
    kind: CollectionKind,
    options: TableOptions<K, V>,
    makeTopic: (name: string, options: { partitions: number; config: Record<string, string> }) => Topic<Buffer | null, Buffer | null>,
    changelogConfig: Record<string, string>,
  ) {
    super({ name })
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      throw new ImproperlyConfigured(`table name ${JSON.stringify(name)} may only contain letters, digits, ".", "_" and "-"`)
    }
    this.app = app
    this.kind = kind
    this.partitions = options.partitions ?? app.conf.topicPartitions
    this.storeUrl = options.store ?? app.conf.store
    this.usePartitioner = options.usePartitioner ?? false
    this.sources = options.sources ?? []
    this.help = options.help ?? ''
    this.#onRecover = options.onRecover
    this.prefetchKey =
      options.prefetchKey ??
      (options.keyType === undefined || options.keyType === String ? (r) => (r.key === null ? undefined : (r.key.toString('utf8') as K)) : undefined)
    // Faust: tables encode keys and values as JSON unless the type is bytes.
    const json = (spec: unknown, explicit: string | undefined) => explicit ?? (spec === Buffer ? 'raw' : 'json')
    this.schema = new Schema<K, V>(
      {
        keyType: options.keyType,
        valueType: options.valueType,
        keySerializer: json(options.keyType, options.keySerializer),
        valueSerializer: json(options.valueType, options.valueSerializer),
      },
      { keySerializer: 'json', valueSerializer: 'json', registry: app.codecs },
    )
    this.changelog = makeTopic(options.changelogTopic ?? `${app.id}-${name}-changelog`, {
      partitions: this.partitions,
      config: { ...changelogConfig, ...options.config },
    })
  }

  get isGlobal(): boolean {
    return this.kind === 'global'
  }

  stores(): ReadonlyMap<number, StoreT> {
    return this.#stores
  }

  /** Partitions this worker holds as active (it writes them). */
  activePartitions(): number[] {
    return [...this.#roles].filter(([, role]) => role === 'active').map(([p]) => p).sort((a, b) => a - b)
  }

  /** Keys in the partitions this worker holds as active (every partition of a global table). */
  get size(): number {
    let n = 0
    for (const [p, store] of this.#stores) if (this.isGlobal || this.#roles.get(p) === 'active') n += store.size()
    return n
  }

  standbyPartitions(): number[] {
    return [...this.#roles].filter(([, role]) => role === 'standby').map(([p]) => p).sort((a, b) => a - b)
  }

  attachStore(partition: number, store: StoreT, role: 'active' | 'standby'): void {
    this.#stores.set(partition, store)
    this.#roles.set(partition, role)
  }

  detachStore(partition: number): StoreT | undefined {
    const store = this.#stores.get(partition)
    this.#stores.delete(partition)
    this.#roles.delete(partition)
    return store
  }

  applyChangelog(partition: number, records: ChangelogRecord[]): void {
    const store = this.#stores.get(partition)
    if (store === undefined) return
    const entries = []
    for (const r of records) if (r.key !== null) entries.push({ key: r.key, value: r.value, offset: r.offset })
    store.applyChangelog(entries)
    const last = records[records.length - 1]
    if (last !== undefined) store.setPersistedOffset(last.offset)
  }

  /** Warm the store of a partition for the keys a batch of records will read (async stores only). */
  prefetch(partition: number, records: PrefetchRecord[]): Promise<void> | undefined {
    const store = this.#stores.get(partition)
    if (store?.prefetch === undefined || this.prefetchKey === undefined) return undefined
    const keys: Buffer[] = []
    for (const r of records) keys.push(...this.prefetchKeys(r))
    return keys.length === 0 ? undefined : store.prefetch(keys)
  }

  /** The store keys a record will read. */
  protected prefetchKeys(record: PrefetchRecord): Buffer[] {
    const key = this.prefetchKey?.(record)
    return key === undefined ? [] : [this.encodeKey(key)]
  }

  sweep(): void {}

  async settle(): Promise<void> {}

  async onRecovered(): Promise<void> {
    await this.#onRecover?.()
  }

  encodeKey(key: K): Buffer {
    const bytes = this.schema.dumpsKey(key)
    if (bytes === null) throw new ImproperlyConfigured(`table ${this.name}: keys cannot be null`)
    return bytes
  }

  decodeValue(bytes: Buffer): V {
    return this.schema.loadsValue(bytes)
  }

  encodeValue(value: V): Buffer {
    const bytes = this.schema.dumpsValue(value)
    if (bytes === null) throw new ImproperlyConfigured(`table ${this.name}: values cannot be null (delete the key instead)`)
    return bytes
  }

  /**
   * Where a key is read from. Inside an agent, a co-partitioned table's key lives in the current
   * event's partition, so only that store is read (a miss there is a miss). With usePartitioner,
   * the key's murmur2 partition. Elsewhere (a task, a web view), every local partition.
   * (Internal: for table kinds and windowed views.)
   */
  lookup(keyBytes: Buffer): Buffer | undefined {
    this.stats.reads += 1
    this.app.sensors.onTableGet(this, keyBytes)
    if (this.usePartitioner) return this.#stores.get(keyPartition(keyBytes, this.partitions))?.get(keyBytes)
    const event = currentEvent()
    const own = event === undefined ? undefined : this.#stores.get(event.partition)
    if (own !== undefined && !this.isGlobal) return own.get(keyBytes)
    const hit = own?.get(keyBytes)
    if (hit !== undefined) return hit
    for (const [p, store] of this.#stores) {
      if (store === own || (this.#roles.get(p) !== 'active' && !this.isGlobal)) continue
      const value = store.get(keyBytes)
      if (value !== undefined) return value
    }
    return undefined
  }

  /** The partition a write goes to: the current event's (co-partitioning), or murmur2 of the key. (Internal.) */
  partitionForWrite(keyBytes: Buffer): number {
    if (this.usePartitioner) return keyPartition(keyBytes, this.partitions)
    const event = currentEvent()
    if (event === undefined) {
      throw new TableOutsideStream(
        `cannot change table ${this.name} outside of stream iteration (set usePartitioner to write from elsewhere)`,
        { table: this.name },
      )
    }
    this.#verifySource(event.topic)
    return event.partition
  }

  /**
   * Faust's check: the event's topic must have as many partitions as the changelog, or a key's
   * table partition would not be the worker's source partition.
   */
  #verifySource(topic: string): void {
    if (this.#verified.has(topic)) return
    const known = this.app.knownPartitions(topic)
    if (known !== undefined && known !== this.partitions) {
      throw new PartitionsMismatch(
        `table ${this.name}: source topic ${topic} has ${known} partitions but the changelog ${this.changelog.topics[0]} has ${this.partitions}; give them the same count`,
        { table: this.name, topic },
      )
    }
    this.#verified.add(topic)
  }

  /**
   * Write bytes to the local store and the changelog (value null: a delete). The changelog record
   * is the same key and value unless given (a SetTable logs the operation, not the set). (Internal.)
   */
  writeBytes(
    partition: number,
    keyBytes: Buffer,
    valueBytes: Buffer | null,
    changelog: Change = { key: keyBytes, value: valueBytes },
  ): void {
    const store = this.#stores.get(partition)
    if (store === undefined) {
      throw new TableOutsideStream(
        `table ${this.name}: partition ${partition} is not active on this worker (the event's partition must be assigned here)`,
        { table: this.name, partition },
      )
    }
    if (valueBytes === null) {
      store.delete(keyBytes)
      this.stats.deletes += 1
      this.app.sensors.onTableDel(this, keyBytes)
    } else {
      store.set(keyBytes, valueBytes)
      this.stats.writes += 1
      this.app.sensors.onTableSet(this, keyBytes, valueBytes)
    }
    if (!this.bufferChangelog) {
      this.sendChangelog(partition, changelog, store)
      return
    }
    // A compacted changelog only needs the last value of a key: keep the latest per key until the
    // next commit (Kafka Streams' record cache), so a hot key costs one record per commit.
    let pending = this.#pending.get(partition)
    if (pending === undefined) {
      pending = new Map()
      this.#pending.set(partition, pending)
    }
    const before = pending.size
    pending.set(changelog.key.toString('latin1'), changelog)
    if (pending.size > before && ++this.#pendingCount >= MAX_PENDING_CHANGES) this.sendPendingChangelog()
  }

  /** Send the changes buffered since the last commit (the consumer does this before flushing the producer). */
  sendPendingChangelog(): void {
    if (this.#pendingCount === 0) return
    const pending = this.#pending
    this.#pending = new Map()
    this.#pendingCount = 0
    for (const [partition, changes] of pending) {
      const store = this.#stores.get(partition)
      for (const change of changes.values()) this.sendChangelog(partition, change, store)
    }
  }

  protected sendChangelog(partition: number, change: Change, store: StoreT | undefined): void {
    this.#sending += 1
    this.changelog
      .sendRaw({ key: change.key, value: change.value, partition, timestamp: change.timestamp, headers: change.headers })
      .then(
        (md: RecordMetadata) => {
          // The store keeps the changelog offset its data reflects; it is flushed with the data.
          store?.setPersistedOffset(md.offset)
        },
        (err: unknown) => {
          this.app.fail(err instanceof Error ? err : new Error(String(err)))
        },
      )
      .finally(() => {
        this.#sending -= 1
      })
  }

  /** Entries of the partitions this worker holds as active (every partition for a global table), decoded. */
  protected *rawEntries(): IterableIterator<[Buffer, Buffer]> {
    for (const [p, store] of [...this.#stores].sort((a, b) => a[0] - b[0])) {
      if (this.#roles.get(p) !== 'active' && !this.isGlobal) continue
      yield* store.entries()
    }
  }

  /** Flush every store (before a commit, after the changelog records are on the broker). */
  async flush(): Promise<void> {
    for (const store of this.#stores.values()) await store.flush()
  }

  describe(): Record<string, string | number | boolean> {
    return {
      table: this.name,
      kind: this.kind,
      changelog: this.changelog.topics[0]!,
      partitions: this.partitions,
      store: this.storeUrl,
      key: this.schema.key.codec.name,
      value: this.schema.value.codec.name,
      help: this.help,
    }
  }
}

export class Table<K = unknown, V = unknown> extends Collection<K, V> {
  readonly #default: (() => V) | undefined
  #windowing: Windowing<K, V> | undefined

  constructor(
    app: AppT,
    name: string,
    options: TableOptions<K, V>,
    makeTopic: (name: string, options: { partitions: number; config: Record<string, string> }) => Topic<Buffer | null, Buffer | null>,
    kind: 'table' | 'global' = 'table',
  ) {
    super(app, name, kind, options, makeTopic, { 'cleanup.policy': 'compact' })
    this.#default = options.default
  }

  /** The default for a missing key (undefined without a default). */
  defaultValue(): V {
    return (this.#default === undefined ? undefined : this.#default()) as V
  }

  // --- windows (Faust's table.tumbling(...) and friends): see windowed.ts ---

  /** Fixed, non-overlapping windows of `size` seconds. */
  tumbling(size: number, options: WindowOptions<K, V> = {}): WindowedTable<K, V> {
    return this.#windowed(new TumblingWindow(size), options)
  }

  /** Windows of `size` seconds starting every `step` seconds (an event is in size/step of them). */
  hopping(size: number, step: number, options: WindowOptions<K, V> = {}): WindowedTable<K, V> {
    return this.#windowed(new HoppingWindow(size, step), options)
  }

  /** One window per event: `[t - before, t + after]` (Faust's SlidingWindow). */
  sliding(before: number, after: number, options: WindowOptions<K, V> = {}): WindowedTable<K, V> {
    return this.#windowed(new SlidingWindow(before, after), options)
  }

  /** Per key, events less than `gap` seconds apart form one session. */
  session(gap: number, options: SessionWindowOptions<K, V>): WindowedTable<K, V> {
    return this.#windowed(new SessionWindow(gap), options)
  }

  #windowed(window: WindowT, options: WindowOptions<K, V> & { merge?: (a: V, b: V) => V }): WindowedTable<K, V> {
    if (this.#windowing !== undefined) throw new ImproperlyConfigured(`table ${this.name} is already windowed`, { table: this.name })
    if (this.isGlobal) throw new ImproperlyConfigured(`global table ${this.name} cannot be windowed`, { table: this.name })
    if (this.state !== 'init' || (this.app as { state?: string }).state !== 'init') {
      throw new ImproperlyConfigured(`window table ${this.name} before the app starts`, { table: this.name })
    }
    this.#windowing = new Windowing(this, window, options)
    return new WindowedTable(this.#windowing)
  }

  /** The windowing of a windowed table (for the web views), else undefined. */
  get windowing(): Windowing<K, V> | undefined {
    return this.#windowing
  }

  get windowed(): boolean {
    return this.#windowing !== undefined
  }

  #rawWrite(): void {
    if (this.#windowing !== undefined) {
      throw new ImproperlyConfigured(`table ${this.name} is windowed: change it through its windowed view (the value tumbling()/hopping()/... returned)`, { table: this.name })
    }
  }

  override attachStore(partition: number, store: StoreT, role: 'active' | 'standby'): void {
    const fresh = this.stores().get(partition) !== store
    super.attachStore(partition, store, role)
    this.#windowing?.attached(partition, store, role, fresh)
  }

  override detachStore(partition: number): StoreT | undefined {
    this.#windowing?.detached(partition)
    return super.detachStore(partition)
  }

  override applyChangelog(partition: number, records: ChangelogRecord[]): void {
    super.applyChangelog(partition, records)
    this.#windowing?.applied(partition, records)
  }

  override sweep(): void {
    this.#windowing?.sweep()
  }

  override async settle(): Promise<void> {
    await this.#windowing?.settle()
  }

  protected override prefetchKeys(record: PrefetchRecord): Buffer[] {
    if (this.#windowing === undefined) return super.prefetchKeys(record)
    const key = this.prefetchKey?.(record)
    return key === undefined ? [] : this.#windowing.prefetchKeys(key, record.timestamp)
  }

  override describe(): Record<string, string | number | boolean> {
    const out = super.describe()
    if (this.#windowing !== undefined) out.window = this.#windowing.describe()
    return out
  }

  /** The value, or the default (not stored) when the key is missing. */
  get(key: K): V {
    const bytes = this.lookup(this.encodeKey(key))
    return bytes === undefined ? this.defaultValue() : this.decodeValue(bytes)
  }

  has(key: K): boolean {
    return this.lookup(this.encodeKey(key)) !== undefined
  }

  set(key: K, value: V): void {
    this.#rawWrite()
    const keyBytes = this.encodeKey(key)
    const valueBytes = this.schema.dumpsValue(value)
    if (valueBytes === null) {
      this.delete(key)
      return
    }
    this.writeBytes(this.partitionForWrite(keyBytes), keyBytes, valueBytes)
  }

  delete(key: K): void {
    this.#rawWrite()
    const keyBytes = this.encodeKey(key)
    this.writeBytes(this.partitionForWrite(keyBytes), keyBytes, null)
  }

  /** set(key, fn(current or default)); returns the new value. */
  update(key: K, fn: (current: V) => V): V {
    const next = fn(this.get(key))
    this.set(key, next)
    return next
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.rawEntries()) yield [this.schema.loadsKey(k), this.decodeValue(v)]
  }

  *keys(): IterableIterator<K> {
    for (const [k] of this.rawEntries()) yield this.schema.loadsKey(k)
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.rawEntries()) yield this.decodeValue(v)
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()
  }


  /** A plain object of the local entries (for logs and tests). */
  asObject(): Record<string, V> {
    const out: Record<string, V> = {}
    for (const [k, v] of this.entries()) out[typeof k === 'string' ? k : JSON.stringify(k)] = v
    return out
  }
}
