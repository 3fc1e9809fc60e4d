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
import type { SensorEvent, SensorRecord, SensorT, SensorTable, SensorWebRequest } from '../types/sensors.ts'
import type { RawRecord, RecordMetadata, TP } from '../types/tuples.ts'
import { sortTPs } from '../utils/tp.ts'

/** What the Monitor reads from the app when asked for a snapshot. */
export interface MonitorSource {
  worker(): { id: string; url: string | undefined; state: string; ready: boolean }
  agents(): Array<{ name: string; topics: string[]; concurrency: number; state: string; help: string }>
  tables(): Array<{ name: string; kind: string; window: string | undefined; changelog: string; partitions: number; active: number[]; standby: number[]; keys: number }>
  /** The assigned partitions with their committed offsets. */
  partitions(): Array<{ tp: TP; committed: number | undefined }>
  endOffsets(tps: TP[]): Promise<Map<TP, number>>
  recovery(): { ready: boolean; active: number; remaining: number; restored: number; ratePerSecond: number; etaSeconds: number | undefined; finished: number; lastDurationMs: number | undefined }
}

/** A running average over the last `size` samples (Faust's max_avg_history). */
class Average {
  readonly #values: number[] = []
  #sum = 0
  readonly size: number
  constructor(size = 100) {
    this.size = size
  }
  add(v: number): void {
    this.#values.push(v)
    this.#sum += v
    if (this.#values.length > this.size) this.#sum -= this.#values.shift()!
  }
  get value(): number {
    return this.#values.length === 0 ? 0 : this.#sum / this.#values.length
  }
  get count(): number {
    return this.#values.length
  }
}

interface StreamCounts {
  total: number
  runtimeMs: Average
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

export class Monitor extends Service implements SensorT {
  readonly #source: MonitorSource
  readonly startedAt = Date.now()
  messagesReceived = 0
  messagesActive = 0
  messagesSent = 0
  eventsTotal = 0
  eventsActive = 0
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
  readonly #tables = new Map<string, { reads: number; writes: number; deletes: number }>()
  readonly #bufferFull = new Map<TP, number>()
  readonly #read = new Map<TP, number>()
  #end = new Map<TP, number>()
  readonly #http = new Map<number, number>()
  readonly history: Sample[] = []

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
    this.history.push({ t: Date.now(), messagesReceived: this.messagesReceived, events: this.eventsTotal, messagesSent: this.messagesSent })
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

  onMessageIn(tp: TP, offset: number, _message: RawRecord): void {
    this.messagesReceived += 1
    this.messagesActive += 1
    this.#topic(tp.topic).received += 1
    this.#read.set(tp, offset + 1)
  }

  onMessageOut(): void {
    this.messagesActive -= 1
  }

  onStreamEventIn(_tp: TP, _offset: number, _stream: string, _event: SensorEvent): unknown {
    this.eventsTotal += 1
    this.eventsActive += 1
    return performance.now()
  }

  onStreamEventOut(_tp: TP, _offset: number, stream: string, _event: SensorEvent, state: unknown): void {
    this.eventsActive -= 1
    let counts = this.#byStream.get(stream)
    if (counts === undefined) this.#byStream.set(stream, (counts = { total: 0, runtimeMs: new Average() }))
    counts.total += 1
    if (typeof state === 'number') {
      const ms = performance.now() - state
      counts.runtimeMs.add(ms)
      this.#eventRuntime.add(ms)
    }
  }

  onTopicBufferFull(tp: TP): void {
    this.#bufferFull.set(tp, (this.#bufferFull.get(tp) ?? 0) + 1)
  }

  #table(name: string) {
    let t = this.#tables.get(name)
    if (t === undefined) this.#tables.set(name, (t = { reads: 0, writes: 0, deletes: 0 }))
    return t
  }

  onTableGet(table: SensorTable): void {
    this.#table(table.name).reads += 1
  }

  onTableSet(table: SensorTable): void {
    this.#table(table.name).writes += 1
  }

  onTableDel(table: SensorTable): void {
    this.#table(table.name).deletes += 1
  }

  onCommitInitiated(): unknown {
    return performance.now()
  }

  onCommitCompleted(state: unknown): void {
    this.commits += 1
    if (typeof state === 'number') this.#commitLatency.add(performance.now() - state)
  }

  onSendInitiated(): unknown {
    return performance.now()
  }

  onSendCompleted(record: SensorRecord, _metadata: RecordMetadata, state: unknown): void {
    this.messagesSent += 1
    this.#topic(record.topic).sent += 1
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
    const now: Sample = { t: Date.now(), messagesReceived: this.messagesReceived, events: this.eventsTotal, messagesSent: this.messagesSent }
    const round = (n: number, digits = 3) => Number(n.toFixed(digits))
    const partitions = this.#source.partitions()
    const tables = this.#source.tables()
    return {
      worker: { ...this.#source.worker(), pid: process.pid, startedAt: new Date(this.startedAt).toISOString(), uptimeSeconds: round((now.t - this.startedAt) / 1000, 1) },
      messages: {
        received: this.messagesReceived,
        active: this.messagesActive,
        sent: this.messagesSent,
        sendErrors: this.sendErrors,
        receivedPerSecond: round(this.#rate((s) => s.messagesReceived, now), 1),
        sentPerSecond: round(this.#rate((s) => s.messagesSent, now), 1),
        byTopic: Object.fromEntries([...this.#byTopic].sort(([a], [b]) => (a < b ? -1 : 1))),
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
        const committed = partitions.find((p) => p.tp === t)?.committed
        const end = this.#end.get(t)
        const read = this.#read.get(t)
        return {
          topic: t.topic,
          partition: t.partition,
          committed: committed ?? null,
          read: read ?? null,
          end: end ?? null,
          lag: end === undefined ? null : Math.max(0, end - (committed ?? 0)),
          bufferFull: this.#bufferFull.get(t) ?? 0,
        }
      }),
      tables: tables.map((t) => ({ ...t, ...(this.#tables.get(t.name) ?? { reads: 0, writes: 0, deletes: 0 }) })),
      recovery: this.#source.recovery(),
      commits: { total: this.commits, latencyAvgMs: round(this.#commitLatency.value) },
      sends: { total: this.messagesSent, errors: this.sendErrors, latencyAvgMs: round(this.#sendLatency.value) },
      assignments: { completed: this.assignmentsCompleted, failed: this.assignmentsFailed, latencyAvgMs: round(this.#assignmentLatency.value) },
      rebalances: { total: this.rebalances, endAvgMs: round(this.#rebalanceEnd.value), recent: [...this.#rebalances].reverse().map((r) => ({ ...r, at: new Date(r.at).toISOString() })) },
      http: { byStatus: Object.fromEntries(this.#http), latencyAvgMs: round(this.#httpLatency.value) },
      history: this.history.map((s) => ({ ...s })),
    }
  }
}

export interface MonitorSnapshot {
  worker: { id: string; url: string | undefined; state: string; ready: boolean; pid: number; startedAt: string; uptimeSeconds: number }
  messages: { received: number; active: number; sent: number; sendErrors: number; receivedPerSecond: number; sentPerSecond: number; byTopic: Record<string, TopicCounts> }
  events: { total: number; active: number; perSecond: number; runtimeAvgMs: number; byStream: Record<string, { total: number; runtimeAvgMs: number }> }
  agents: ReturnType<MonitorSource['agents']>
  partitions: Array<{ topic: string; partition: number; committed: number | null; read: number | null; end: number | null; lag: number | null; bufferFull: number }>
  tables: Array<ReturnType<MonitorSource['tables']>[number] & { reads: number; writes: number; deletes: number }>
  recovery: ReturnType<MonitorSource['recovery']>
  commits: { total: number; latencyAvgMs: number }
  sends: { total: number; errors: number; latencyAvgMs: number }
  assignments: { completed: number; failed: number; latencyAvgMs: number }
  rebalances: { total: number; endAvgMs: number; recent: Array<Omit<RebalanceRecord, 'at'> & { at: string }> }
  http: { byStatus: Record<string, number>; latencyAvgMs: number }
  history: Sample[]
}
