/**
 * Monitor: Faust's Monitor sensor, the numbers behind `/stats`, `/metrics` and the dashboard.
 * It counts what the hooks report (messages, events, sends, commits, table operations,
 * assignments, rebalances, web requests) and, every second, samples the totals into a history
 * (rates and the dashboard's chart come from it). Offsets: read (fetched) from the message hook,
 * committed from the consumer, end offsets asked from the broker every few seconds; lag is
 * end - committed.
 * @module
 */
import { Service } from '../services/service.ts'
import type { MonitorT, SensorRecord, SensorT, SensorWebRequest, StreamCounterT } from '../types/sensors.ts'
import type { RecordMetadata, TP } from '../types/tuples.ts'
import { sortTPs } from '../utils/tp.ts'

/** What the Monitor reads from the app when asked for a snapshot. */
export interface MonitorSource {
  worker(): { id: string; url: string | undefined; state: string; ready: boolean }
  agents(): Array<{ name: string; topics: string[]; concurrency: number; state: string; help: string }>
  tables(): Array<{ name: string; kind: string; window: string | undefined; changelog: string; partitions: number; active: number[]; standby: number[]; keys: number; reads: number; writes: number; deletes: number }>
  /** Messages fetched (and per topic), acked by every stream, and dropped unprocessed (rebalance, shutdown). */
  messages(): { received: number; acked: number; dropped: number; byTopic: ReadonlyMap<string, number> }
  /** The assigned partitions with their committed offsets and read positions (next offset to fetch). */
  partitions(): Array<{ tp: TP; committed: number | undefined; read: number | undefined }>
  endOffsets(tps: TP[]): Promise<Map<TP, number>>
  recovery(): { ready: boolean; active: number; remaining: number; restored: number; ratePerSecond: number; etaSeconds: number | undefined; finished: number; lastDurationMs: number | undefined }
}

/** A running average over the last `size` samples (Faust's max_avg_history), in a ring. */
class Average {
  readonly #values: Float64Array
  #next = 0
  #count = 0
  #sum = 0
  constructor(size = 100) {
    this.#values = new Float64Array(size)
  }
  add(v: number): void {
    if (this.#count === this.#values.length) this.#sum -= this.#values[this.#next]!
    else this.#count += 1
    this.#values[this.#next] = v
    this.#sum += v
    this.#next = (this.#next + 1) % this.#values.length
  }
  get value(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count
  }
}

/** Event runtimes and send latencies are timed for one in this many (two clock reads each cost ~15% at 4 M events/s). */
const TIME_EVERY = 16

interface StreamCounts extends StreamCounterT {
  readonly runtimeMs: Average
}

interface TopicCounts {
  received: number
  sent: number
}

export interface Sample {
  /** Wall-clock ms. */
  t: number
  messagesReceived: number
  events: number
  messagesSent: number
}

export interface RebalanceRecord {
  at: number
  generation: number | undefined
  revoked: number
  assigned: number | undefined
  /** ms from revoke to the new assignment. */
  returnMs: number | undefined
  /** ms from revoke to the end of table recovery. */
  endMs: number | undefined
}

const HISTORY = 300
const RECENT_REBALANCES = 20

export class Monitor extends Service implements SensorT, MonitorT {
  readonly #source: MonitorSource
  readonly startedAt = Date.now()
  messagesSent = 0
  sendErrors = 0
  readonly #byTopic = new Map<string, TopicCounts>()
  readonly #byStream = new Map<string, StreamCounts>()
  readonly #eventRuntime = new Average()
  readonly #commitLatency = new Average()
  readonly #sendLatency = new Average()
  readonly #assignmentLatency = new Average()
  readonly #rebalanceEnd = new Average()
  readonly #httpLatency = new Average()
  commits = 0
  assignmentsCompleted = 0
  assignmentsFailed = 0
  rebalances = 0
  readonly #rebalances: RebalanceRecord[] = []
  readonly #bufferFull = new Map<TP, number>()
  #end = new Map<TP, number>()
  readonly #http = new Map<number, number>()
  readonly history: Sample[] = []
  #lastSentTopic: string | undefined
  #lastSentCounts: TopicCounts | undefined

  constructor(source: MonitorSource, options: { endOffsetInterval?: number } = {}) {
    super({ name: 'Monitor' })
    this.#source = source
    this.addTimer('sample', 1, () => this.#sample())
    this.addTimer('end-offsets', options.endOffsetInterval ?? 5, () => this.refreshEndOffsets())
  }

  protected override async onStart(): Promise<void> {
    this.#sample()
  }

  #sample(): void {
    this.history.push({ t: Date.now(), messagesReceived: this.#source.messages().received, events: this.eventsTotal, messagesSent: this.messagesSent })
    if (this.history.length > HISTORY) this.history.shift()
  }

  /** Ask the broker for the end offsets of the assigned partitions (for lag). */
  async refreshEndOffsets(): Promise<void> {
    const tps = this.#source.partitions().map((p) => p.tp)
    if (tps.length === 0) return
    try {
      this.#end = await this.#source.endOffsets(tps)
    } catch (err) {
      this.log.debug({ err }, 'could not read end offsets for the monitor')
    }
  }

  // ── hooks ──────────────────────────────────────────────────────────────────────

  /** The counters a stream keeps for itself (see StreamCounterT). */
  streamCounter(stream: string): StreamCounterT {
    let counter = this.#byStream.get(stream)
    if (counter === undefined) {
      const runtimeMs = new Average()
      const all = this.#eventRuntime
      counter = {
        total: 0,
        active: 0,
        sampleEvery: TIME_EVERY,
        runtimeMs,
        addRuntime(ms: number) {
          runtimeMs.add(ms)
          all.add(ms)
        },
      }
      this.#byStream.set(stream, counter)
    }
    return counter
  }

  get eventsTotal(): number {
    let n = 0
    for (const c of this.#byStream.values()) n += c.total
    return n
  }

  get eventsActive(): number {
    let n = 0
    for (const c of this.#byStream.values()) n += c.active
    return n
  }

  get messagesReceived(): number {
    return this.#source.messages().received
  }

  onTopicBufferFull(tp: TP): void {
    this.#bufferFull.set(tp, (this.#bufferFull.get(tp) ?? 0) + 1)
  }

  onCommitInitiated(): unknown {
    return performance.now()
  }

  onCommitCompleted(state: unknown): void {
    this.commits += 1
    if (typeof state === 'number') this.#commitLatency.add(performance.now() - state)
  }

  onSendInitiated(): unknown {
    return (this.messagesSent & 15) === 0 ? performance.now() : undefined
  }

  onSendCompleted(record: SensorRecord, _metadata: RecordMetadata, state: unknown): void {
    this.messagesSent += 1
    if (record.topic !== this.#lastSentTopic) {
      this.#lastSentTopic = record.topic
      this.#lastSentCounts = this.#topic(record.topic)
    }
    this.#lastSentCounts!.sent += 1
    if (typeof state === 'number') this.#sendLatency.add(performance.now() - state)
  }

  onSendError(): void {
    this.sendErrors += 1
  }

  onAssignmentStart(): unknown {
    return performance.now()
  }

  onAssignmentCompleted(state: unknown): void {
    this.assignmentsCompleted += 1
    if (typeof state === 'number') this.#assignmentLatency.add(performance.now() - state)
  }

  onAssignmentError(): void {
    this.assignmentsFailed += 1
  }

  onRebalanceStart(revoked: readonly TP[]): unknown {
    this.rebalances += 1
    const record: RebalanceRecord = { at: Date.now(), generation: undefined, revoked: revoked.length, assigned: undefined, returnMs: undefined, endMs: undefined }
    this.#rebalances.push(record)
    if (this.#rebalances.length > RECENT_REBALANCES) this.#rebalances.shift()
    return record
  }

  onRebalanceReturn(state: unknown, assigned: readonly TP[], generation: number): void {
    const record = state as RebalanceRecord | undefined
    if (record === undefined) return
    record.generation = generation
    record.assigned = assigned.length
    record.returnMs = Date.now() - record.at
  }

  onRebalanceEnd(state: unknown): void {
    const record = state as RebalanceRecord | undefined
    if (record === undefined) return
    record.endMs = Date.now() - record.at
    this.#rebalanceEnd.add(record.endMs)
  }

  onWebRequestStart(_request: SensorWebRequest): unknown {
    return performance.now()
  }

  onWebRequestEnd(_request: SensorWebRequest, status: number, state: unknown): void {
    this.#http.set(status, (this.#http.get(status) ?? 0) + 1)
    if (typeof state === 'number') this.#httpLatency.add(performance.now() - state)
  }

  #topic(name: string): TopicCounts {
    let t = this.#byTopic.get(name)
    if (t === undefined) this.#byTopic.set(name, (t = { received: 0, sent: 0 }))
    return t
  }

  // ── reading ────────────────────────────────────────────────────────────────────

  /** Per-second rate of a total over the last `seconds` of history (and now). */
  #rate(pick: (s: Sample) => number, now: Sample, seconds = 5): number {
    const from = this.history.findLast((s) => now.t - s.t >= seconds * 1000) ?? this.history[0]
    if (from === undefined || now.t <= from.t) return 0
    return ((pick(now) - pick(from)) * 1000) / (now.t - from.t)
  }

  /** Everything, as `/stats` serves it. */
  snapshot(): MonitorSnapshot {
    const messages = this.#source.messages()
    const now: Sample = { t: Date.now(), messagesReceived: messages.received, events: this.eventsTotal, messagesSent: this.messagesSent }
    const byTopic = new Map<string, TopicCounts>()
    for (const [topic, received] of messages.byTopic) byTopic.set(topic, { received, sent: 0 })
    for (const [topic, c] of this.#byTopic) byTopic.set(topic, { received: byTopic.get(topic)?.received ?? 0, sent: c.sent })
    const round = (n: number, digits = 3) => Number(n.toFixed(digits))
    const partitions = this.#source.partitions()
    const tables = this.#source.tables()
    return {
      worker: { ...nulls(this.#source.worker()), pid: process.pid, startedAt: new Date(this.startedAt).toISOString(), uptimeSeconds: round((now.t - this.startedAt) / 1000, 1) },
      messages: {
        received: messages.received,
        active: Math.max(0, messages.received - messages.acked - messages.dropped),
        sent: this.messagesSent,
        sendErrors: this.sendErrors,
        receivedPerSecond: round(this.#rate((s) => s.messagesReceived, now), 1),
        sentPerSecond: round(this.#rate((s) => s.messagesSent, now), 1),
        byTopic: Object.fromEntries([...byTopic].sort(([a], [b]) => (a < b ? -1 : 1))),
      },
      events: {
        total: this.eventsTotal,
        active: this.eventsActive,
        perSecond: round(this.#rate((s) => s.events, now), 1),
        runtimeAvgMs: round(this.#eventRuntime.value),
        byStream: Object.fromEntries([...this.#byStream].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, c]) => [name, { total: c.total, runtimeAvgMs: round(c.runtimeMs.value) }])),
      },
      agents: this.#source.agents(),
      partitions: sortTPs(partitions.map((p) => p.tp)).map((t) => {
        const found = partitions.find((p) => p.tp === t)
        const committed = found?.committed
        const read = found?.read
        const end = this.#end.get(t)
        return {
          topic: t.topic,
          partition: t.partition,
          committed: committed ?? null,
          read: read ?? null,
          end: end ?? null,
          // Nothing committed yet: measured from where reading started (a partition whose log
          // begins past 0, by retention or a reset to latest, is not all lag).
          lag: end === undefined || (committed ?? read) === undefined ? null : Math.max(0, end - (committed ?? read)!),
          bufferFull: this.#bufferFull.get(t) ?? 0,
        }
      }),
      tables: tables.map((t) => ({ ...t, window: t.window ?? null })),
      recovery: nulls(this.#source.recovery()),
      commits: { total: this.commits, latencyAvgMs: round(this.#commitLatency.value) },
      sends: { total: this.messagesSent, errors: this.sendErrors, latencyAvgMs: round(this.#sendLatency.value) },
      assignments: { completed: this.assignmentsCompleted, failed: this.assignmentsFailed, latencyAvgMs: round(this.#assignmentLatency.value) },
      rebalances: { total: this.rebalances, endAvgMs: round(this.#rebalanceEnd.value), recent: [...this.#rebalances].reverse().map((r) => nulls({ ...r, at: new Date(r.at).toISOString() })) },
      http: { byStatus: Object.fromEntries(this.#http), latencyAvgMs: round(this.#httpLatency.value) },
      history: this.history.map((s) => ({ ...s })),
    }
  }
}

/** JSON keeps every key: undefined becomes null. */
type Nulls<T> = { [K in keyof T]-?: undefined extends T[K] ? Exclude<T[K], undefined> | null : T[K] }

function nulls<T extends object>(o: T): Nulls<T> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) out[k] = v === undefined ? null : v
  return out as Nulls<T>
}

export interface MonitorSnapshot {
  worker: { id: string; url: string | null; state: string; ready: boolean; pid: number; startedAt: string; uptimeSeconds: number }
  messages: { received: number; active: number; sent: number; sendErrors: number; receivedPerSecond: number; sentPerSecond: number; byTopic: Record<string, TopicCounts> }
  events: { total: number; active: number; perSecond: number; runtimeAvgMs: number; byStream: Record<string, { total: number; runtimeAvgMs: number }> }
  agents: ReturnType<MonitorSource['agents']>
  partitions: Array<{ topic: string; partition: number; committed: number | null; read: number | null; end: number | null; lag: number | null; bufferFull: number }>
  tables: Array<Omit<ReturnType<MonitorSource['tables']>[number], 'window'> & { window: string | null }>
  recovery: Nulls<ReturnType<MonitorSource['recovery']>>
  commits: { total: number; latencyAvgMs: number }
  sends: { total: number; errors: number; latencyAvgMs: number }
  assignments: { completed: number; failed: number; latencyAvgMs: number }
  rebalances: { total: number; endAvgMs: number; recent: Array<Nulls<Omit<RebalanceRecord, 'at'> & { at: string }>> }
  http: { byStatus: Record<string, number>; latencyAvgMs: number }
  history: Sample[]
}
