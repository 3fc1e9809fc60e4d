/**
 * The Kafka reader: reads chosen partitions from chosen offsets with no consumer group (the Java
 * client's `assign()` + `seek()`). Table changelog recovery, standby replicas and global tables
 * use it, so the worker's group consumer keeps running meanwhile.
 *
 * Why kafkajs internals: kafkajs 2.2.4 (pinned exactly) has no public assign-mode consumer — its
 * consumer always joins a group. So this file drives kafkajs' own building blocks directly:
 * - `Cluster` (`kafkajs/src/cluster/index.js`): connections, metadata, leader lookup, ListOffsets;
 *   built as `kafkajs/src/index.js` builds one for a consumer (same brokers, ssl, sasl, logger).
 * - `Broker#fetch`: the Fetch request, whose response kafkajs decodes (record batches, gzip/zstd,
 *   headers) into messages that carry their batch's context (`batchContext`).
 * Everything kafkajs' ConsumerGroup does on top of that (aborted-transaction filtering, skipping
 * control batches, error recovery) is re-done here, in the Java consumer's way where kafkajs'
 * differs: the position moves to the end of each fetched *batch* (firstOffset + lastOffsetDelta),
 * so batches of control markers, of aborted records or compacted-away records never stall it.
 *
 * Fetching: one loop per partition leader, each with one Fetch in flight (maxWaitTime 200 ms,
 * minBytes 1: it returns as soon as there is data). A manager loop starts a fetch loop for each
 * leader that has assigned partitions; a loop ends when its leader leads none of them any more.
 * @module
 */
import { createRequire } from 'node:module'
import { describeError, toError } from '../../errors.ts'
import type { ReaderDriverOptions, ReaderDriverT } from '../../types/transport.ts'
import type { Header, RawRecord, TP } from '../../types/tuples.ts'
import { Pulse } from '../../utils/pulse.ts'
import { tp, tpString, tpsByTopic } from '../../utils/tp.ts'
// Type only: kafka.ts imports this module (a value import back would be a cycle).
import type { KafkaTransport } from './kafka.ts'

const require = createRequire(import.meta.url)

/** How long a Fetch waits for data on the broker (also bounds how fast run() stops). */
const MAX_WAIT_MS = 200
/** Upper bound of one Fetch response (the partition limit comes from the options). */
const MAX_FETCH_BYTES = 50 * 1024 * 1024
/** Backoff after a failed fetch or metadata lookup: doubles from MIN to MAX, reset on success. */
const BACKOFF_MIN_MS = 100
const BACKOFF_MAX_MS = 2000
/** With partitions assigned, the manager re-checks leaders at least this often. */
const RECHECK_MS = 5000
/** Fetch errors after which the partition leader may have moved: refresh metadata (as kafkajs does). */
const STALE_METADATA_ERRORS = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
])

// --- The slice of kafkajs internals used here (kafkajs 2.2.4, untyped JS). ---

interface BatchContext {
  firstOffset: string
  lastOffsetDelta: number
  producerId: string
  inTransaction: boolean
  isControlBatch: boolean
}

type HeaderValue = Buffer | string | null
interface FetchedMessage {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers?: Record<string, HeaderValue | HeaderValue[]>
  /** Absent on legacy (magic 0/1) message sets, which Kafka 4 no longer has. */
  batchContext?: BatchContext
}

interface FetchedPartition {
  partition: number
  errorCode: number
  highWatermark: string
  abortedTransactions?: Array<{ producerId: string; firstOffset: string }> | null
  messages: FetchedMessage[]
}

interface FetchResponse {
  responses: Array<{ topicName: string; partitions: FetchedPartition[] }>
}

interface BrokerInternals {
  fetch(request: {
    maxWaitTime: number
    minBytes: number
    maxBytes: number
    isolationLevel: number
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>
  }): Promise<FetchResponse>
}

interface ClusterInternals {
  connect(): Promise<void>
  disconnect(): Promise<void>
  refreshMetadata(): Promise<void>
  refreshMetadataIfNecessary(): Promise<void>
  addMultipleTargetTopics(topics: string[]): Promise<void>
  /** Leader node id (as an object key) → partitions it leads; unknown partitions are left out. */
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>
  findBroker(args: { nodeId: string }): Promise<BrokerInternals>
  removeBroker(args: { host: string; port: number }): void
  fetchTopicsOffset(
    topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning: boolean }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>
}

type ClusterConstructor = new (options: Record<string, unknown>) => ClusterInternals

/** kafkajs' errors: `name` is the class, `type` the Kafka error code's name. */
interface KafkajsError {
  name?: string
  type?: string
  topic?: string
  partition?: number
  host?: string
  port?: number
}

/**
 * Loaded on first use, not at import: kafka.ts imports this module before it replaces one kafkajs
 * module (groupMessagesPerPartition), and that only works if kafkajs is not loaded yet.
 */
function kafkajsInternals(): { Cluster: ClusterConstructor; socketFactory: () => unknown } {
  return {
    Cluster: require('kafkajs/src/cluster/index.js') as ClusterConstructor,
    socketFactory: require('kafkajs/src/network/socketFactory.js') as () => unknown,
  }
}

const NO_HEADERS: Header[] = []
const EMPTY = Buffer.alloc(0)

/** kafkajs gives headers as an object; a repeated key is an array (kept as repeated entries here). */
function toHeaders(headers: FetchedMessage['headers']): Header[] {
  if (headers === undefined) return NO_HEADERS
  let out: Header[] | undefined
  for (const key in headers) {
    const v = headers[key]
    for (const item of Array.isArray(v) ? v : [v]) {
      ;(out ??= []).push([key, item === null || item === undefined ? EMPTY : Buffer.isBuffer(item) ? item : Buffer.from(item)])
    }
  }
  return out ?? NO_HEADERS
}

/** A control record's key is (version: int16, type: int16); type 0 is ABORT, 1 is COMMIT. */
function isAbortMarker(key: Buffer | null): boolean {
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 0
}

/** Resolves after `ms`, or at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/**
 * One partition's part of a Fetch response → the records to deliver and the next offset to fetch.
 * As the Java consumer: records of aborted transactions and control records are dropped, and the
 * next offset is past the last *batch* seen, even when none of its records is delivered.
 */
export function decodePartition(t: TP, from: number, data: FetchedPartition): { records: RawRecord[]; next: number } {
  const records: RawRecord[] = []
  let next = from
  // Only read_committed fetches get aborted transactions. Kafka lists them by the offset where
  // each begins; a producer's batches are skipped from there until its ABORT marker.
  const aborted = [...(data.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset))
  const abortedProducers = new Set<string>()
  let batchStart: string | undefined
  let skip = false
  for (const m of data.messages) {
    const batch = m.batchContext
    if (batch !== undefined && batch.firstOffset !== batchStart) {
      // The first record of a new batch: decide for the whole batch.
      batchStart = batch.firstOffset
      const last = Number(batch.firstOffset) + batch.lastOffsetDelta
      while (aborted.length > 0 && Number(aborted[0]!.firstOffset) <= last) abortedProducers.add(aborted.shift()!.producerId)
      skip = batch.isControlBatch || (batch.inTransaction && abortedProducers.has(batch.producerId))
      if (last + 1 > next) next = last + 1
    }
    if (batch?.isControlBatch === true && isAbortMarker(m.key)) abortedProducers.delete(batch.producerId)
    const offset = Number(m.offset)
    // A compressed batch can start before the offset asked for.
    if (offset < from) continue
    if (offset + 1 > next) next = offset + 1
    if (skip) continue
    records.push({
      topic: t.topic,
      partition: t.partition,
      offset,
      timestamp: Number(m.timestamp),
      key: m.key ?? null,
      value: m.value ?? null,
      headers: toHeaders(m.headers),
    })
  }
  return { records, next }
}

export class KafkaReader implements ReaderDriverT {
  readonly #options: ReaderDriverOptions
  readonly #cluster: ClusterInternals
  /** Next offset to read per assigned partition: the one source of truth (assign() replaces it). */
  #positions = new Map<TP, number>()
  /** One fetch loop per leader node id. */
  readonly #loops = new Map<string, Promise<void>>()
  /** Wakes the manager: assign(), a loop ending, a leader change. */
  readonly #wake = new Pulse()
  /** Set with every #wake.notify(), so a notify while the manager is busy is not lost. */
  #dirty = true
  /** Aborted by close(), or when onRecords throws (the reader is then dead, as a crashed consumer). */
  readonly #halt = new AbortController()
  #failure: Error | undefined
  /** The manager and its loops, for close() to wait on. */
  #work: Promise<void> | undefined
  #warnedUnled = ''

  constructor(transport: KafkaTransport, options: ReaderDriverOptions) {
    this.#options = options
    const { Cluster, socketFactory } = kafkajsInternals()
    // The same settings kafka.ts gives its kafkajs client, which builds its clusters this way.
    this.#cluster = new Cluster({
      logger: transport.kafka.logger(),
      socketFactory: socketFactory(),
      brokers: transport.brokers,
      ssl: transport.options.ssl,
      sasl: transport.options.sasl,
      clientId: options.clientId,
      connectionTimeout: 10_000,
      requestTimeout: transport.conf.brokerRequestTimeout * 1000,
      enforceRequestTimeout: true,
      metadataMaxAge: 300_000,
      // Few internal retries: the loops below retry with their own backoff and stay abortable.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
      // Reading a changelog must never create it.
      allowAutoTopicCreation: false,
      maxInFlightRequests: null,
      isolationLevel: this.#isolationLevel,
      instrumentationEmitter: null,
      offsets: new Map(),
    })
  }

  get #isolationLevel(): number {
    return this.#options.isolationLevel === 'read_committed' ? 1 : 0
  }

  assign(positions: Map<TP, number>): void {
    // A fetch in flight compares its partitions' positions with this map before delivering, so
    // replacing it is all it takes to drop what was fetched for the old assignment.
    this.#positions = new Map(positions)
    this.#notify()
  }

  positions(): Map<TP, number> {
    return new Map(this.#positions)
  }

  async run(signal: AbortSignal): Promise<void> {
    const stop = AbortSignal.any([signal, this.#halt.signal])
    if (stop.aborted) {
      if (this.#failure !== undefined) throw this.#failure
      return
    }
    const work = this.#manage(stop)
    this.#work = work.catch(() => {})
    // Return soon after the abort even if some kafkajs call (a connect, a metadata request) is
    // still pending: at most one fetch (MAX_WAIT_MS) plus a little. close() waits for the rest.
    let timer: NodeJS.Timeout | undefined
    const stopped = new Promise<void>((resolve) => {
      stop.addEventListener('abort', () => (timer = setTimeout(resolve, MAX_WAIT_MS + 300)), { once: true })
    })
    try {
      await Promise.race([work, stopped])
    } finally {
      clearTimeout(timer)
    }
    if (this.#failure !== undefined) throw this.#failure
  }

  async close(): Promise<void> {
    this.#positions = new Map()
    this.#halt.abort()
    this.#notify()
    await this.#work
    await this.#cluster.disconnect().catch((err: unknown) => {
      this.#options.log.debug({ err }, `reader disconnect: ${describeError(err)}`)
    })
  }

  #notify(): void {
    this.#dirty = true
    this.#wake.notify()
  }

  #fail(err: unknown): void {
    this.#failure ??= toError(err)
    this.#halt.abort()
  }

  /** Start a fetch loop for every leader of assigned partitions; restart them as leaders change. */
  async #manage(signal: AbortSignal): Promise<void> {
    let backoff = BACKOFF_MIN_MS
    let refresh = false
    try {
      while (!signal.aborted) {
        this.#dirty = false
        let settled = false
        try {
          settled = await this.#reconcile(signal, refresh)
        } catch (err) {
          this.#options.log.warn({ err }, `reader: cannot look up partition leaders: ${describeError(err)}`)
        }
        refresh = !settled
        if (settled) {
          backoff = BACKOFF_MIN_MS
          // Nothing assigned: sleep until assign(). Otherwise re-check leaders now and then.
          if (!this.#dirty) await this.#wake.wait(signal, this.#positions.size === 0 ? undefined : RECHECK_MS)
        } else {
          await sleep(backoff, signal)
          backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
        }
      }
    } finally {
      await Promise.allSettled([...this.#loops.values()])
    }
  }

  /** True when every assigned partition has a known leader (and a loop for it). */
  async #reconcile(signal: AbortSignal, refresh: boolean): Promise<boolean> {
    const byTopic = tpsByTopic(this.#positions.keys())
    if (byTopic.size === 0) return true
    // Connects lazily (only once something is assigned); both are no-ops once done.
    await this.#cluster.connect()
    await this.#cluster.addMultipleTargetTopics([...byTopic.keys()])
    if (refresh) await this.#cluster.refreshMetadata()
    if (signal.aborted) return true
    const unled: string[] = []
    for (const [topic, partitions] of byTopic) {
      const leaders = this.#cluster.findLeaderForPartitions(topic, partitions)
      const led = new Set<number>()
      for (const [nodeId, ps] of Object.entries(leaders)) {
        for (const p of ps) led.add(p)
        if (!this.#loops.has(nodeId)) this.#startLoop(nodeId, signal)
      }
      for (const p of partitions) if (!led.has(p)) unled.push(tpString(tp(topic, p)))
    }
    const key = unled.join()
    if (unled.length > 0 && key !== this.#warnedUnled) {
      this.#options.log.warn({ partitions: unled }, `reader: no leader known for ${unled.length} partition(s); retrying`)
    }
    this.#warnedUnled = key
    return unled.length === 0
  }

  #startLoop(nodeId: string, signal: AbortSignal): void {
    const loop: Promise<void> = this.#fetchLoop(nodeId, signal)
      .catch((err: unknown) => this.#fail(err))
      .finally(() => {
        if (this.#loops.get(nodeId) === loop) this.#loops.delete(nodeId)
        this.#notify()
      })
    this.#loops.set(nodeId, loop)
  }

  /** The assigned partitions this node leads, with their positions now. */
  #ledBy(nodeId: string): Map<TP, number> {
    const out = new Map<TP, number>()
    for (const [topic, partitions] of tpsByTopic(this.#positions.keys())) {
      for (const p of this.#cluster.findLeaderForPartitions(topic, partitions)[nodeId] ?? []) {
        const t = tp(topic, p)
        out.set(t, this.#positions.get(t)!)
      }
    }
    return out
  }

  /** Fetch from one leader until it leads none of the assigned partitions, or the signal aborts. */
  async #fetchLoop(nodeId: string, signal: AbortSignal): Promise<void> {
    let backoff = BACKOFF_MIN_MS
    while (!signal.aborted) {
      let wanted = new Map<TP, number>()
      let response: FetchResponse
      const started = performance.now()
      try {
        await this.#cluster.refreshMetadataIfNecessary()
        wanted = this.#ledBy(nodeId)
        if (wanted.size === 0) return
        const broker = await this.#cluster.findBroker({ nodeId })
        response = await broker.fetch({
          maxWaitTime: MAX_WAIT_MS,
          minBytes: 1,
          maxBytes: MAX_FETCH_BYTES,
          isolationLevel: this.#isolationLevel,
          topics: [...tpsByTopic(wanted.keys())].map(([topic, partitions]) => ({
            topic,
            partitions: partitions.map((partition) => ({
              partition,
              fetchOffset: String(wanted.get(tp(topic, partition))),
              maxBytes: this.#options.maxPartitionFetchBytes,
            })),
          })),
        })
      } catch (err) {
        if (signal.aborted) return
        // kafkajs throws for the whole response when any partition has an error (the first one
        // found); the other partitions' data is fetched again next round.
        await this.#recover(err, nodeId, wanted).catch((e: unknown) => {
          this.#options.log.debug({ err: e }, `reader: recovery failed: ${describeError(e)}`)
        })
        await sleep(backoff, signal)
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
        continue
      }
      backoff = BACKOFF_MIN_MS
      if (signal.aborted) return
      // Outside the try: an error thrown by onRecords is the app's, not a fetch error to retry.
      const progressed = this.#deliver(response, wanted)
      // The broker waits MAX_WAIT_MS when it has nothing. A response that came back early and
      // moved nothing (say, only the cut-off tail of a batch bigger than the partition limit)
      // must not turn this loop into a busy one: wait out the rest.
      const elapsed = performance.now() - started
      if (!progressed && elapsed < MAX_WAIT_MS) await sleep(MAX_WAIT_MS - elapsed, signal)
    }
  }

  /** Hand each partition's records to onRecords, in offset order; true if any position moved. */
  #deliver(response: FetchResponse, wanted: Map<TP, number>): boolean {
    let progressed = false
    for (const { topicName, partitions } of response.responses) {
      for (const data of partitions) {
        const t = tp(topicName, data.partition)
        const from = wanted.get(t)
        if (from === undefined) continue
        // assign() ran while the fetch was in flight (or during an earlier onRecords of this
        // response): the partition is gone, or reads from elsewhere now. Drop what was fetched.
        if (this.#positions.get(t) !== from) {
          progressed = true
          continue
        }
        const { records, next } = decodePartition(t, from, data)
        if (next === from) continue
        progressed = true
        // Position first, as the memory reader: onRecords sees it, and an assign() it makes wins.
        this.#positions.set(t, next)
        if (records.length > 0) this.#options.onRecords(t, records)
      }
    }
    return progressed
  }

  /** What kafkajs' ConsumerGroup.recoverFromFetch does, for a reader with no group. */
  async #recover(err: unknown, nodeId: string, wanted: Map<TP, number>): Promise<void> {
    const e = (err ?? {}) as KafkajsError
    const log = this.#options.log
    if (e.name === 'KafkaJSOffsetOutOfRange' && e.topic !== undefined && e.partition !== undefined) {
      // Before the log start (retention, deleteRecords) or past its end (topic recreated): start
      // over from the earliest offset still there, as auto.offset.reset=earliest.
      const t = tp(e.topic, e.partition)
      const from = wanted.get(t)
      const [entry] = await this.#cluster.fetchTopicsOffset([{ topic: t.topic, partitions: [{ partition: t.partition }], fromBeginning: true }])
      const earliest = Number(entry?.partitions.find((p) => p.partition === t.partition)?.offset)
      if (!Number.isFinite(earliest) || earliest < 0) throw toError(err)
      // Unless assign() moved it since the fetch.
      if (from !== undefined && this.#positions.get(t) === from) {
        this.#positions.set(t, earliest)
        log.warn({ topic: t.topic, partition: t.partition, offset: from, resetTo: earliest }, `reader: offset ${from} of ${tpString(t)} is out of range; reading from ${earliest}`)
      }
      return
    }
    if (e.name === 'KafkaJSConnectionClosedError' && e.host !== undefined && e.port !== undefined) {
      this.#cluster.removeBroker({ host: e.host, port: e.port })
    }
    const leaderMoved = (e.type !== undefined && STALE_METADATA_ERRORS.has(e.type)) || e.name === 'KafkaJSTopicMetadataNotLoaded'
    if (leaderMoved) log.info(`reader: ${describeError(err)} from node ${nodeId}; refreshing metadata`)
    else log.warn({ err }, `reader: fetch from node ${nodeId} failed: ${describeError(err)}; retrying`)
    // Leaders may have moved: refresh, and let the manager start loops for new leaders.
    try {
      await this.#cluster.refreshMetadata()
    } finally {
      this.#notify()
    }
  }
}
