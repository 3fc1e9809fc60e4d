/**
 * Consumer: subscriptions, acks and commits (Faust's Consumer). The Fetcher runs the driver's
 * fetch loop; records come back here (`onRecords`) and go to the Conductor.
 *
 * Commit rule (Faust's): per partition, the committed offset is the highest offset such that it
 * and every offset delivered before it were acked, plus one. Offsets are tracked in delivery
 * order, so gaps left by compaction or transaction markers need no special case. A commit runs
 * every `brokerCommitEvery` acks or `brokerCommitInterval` seconds, on revoke, and on shutdown;
 * only one is in flight at a time, and the producer is flushed first so that everything sent on
 * behalf of committed messages is on the broker before their offsets are.
 * @module
 */
import { CommitError, describeError } from '../errors.ts'
import { Service } from '../services/service.ts'
import type { TopicDeclT } from '../types/app.ts'
import type { SensorDelegateT } from '../types/sensors.ts'
import type { AssignedInfo, ConsumerDriverT, ConsumerHandlerT } from '../types/transport.ts'
import type { RawRecord, TP } from '../types/tuples.ts'
import { sortTPs, tpString } from '../utils/tp.ts'
import type { Conductor, ConductorConsumerT } from './conductor.ts'
import { type AckTracker, Message } from './message.ts'

/** Acks of one assigned partition, for one generation. */
export class PartitionState implements AckTracker {
  readonly tp: TP
  readonly generation: number
  /** Delivered messages not yet passed by the commit point, in offset order. */
  #pending: Message[] = []
  #head = 0
  /** Next offset to commit (highest contiguous acked + 1). */
  committable: number | undefined
  /** Last offset committed to the broker. */
  committed: number | undefined
  /** Highest offset delivered + 1. */
  position: number | undefined
  retired = false
  readonly #consumer: Consumer

  constructor(consumer: Consumer, tp: TP, generation: number) {
    this.#consumer = consumer
    this.tp = tp
    this.generation = generation
  }

  track(message: Message): void {
    this.#pending.push(message)
    this.position = message.offset + 1
  }

  onAck(message: Message): void {
    if (this.retired) return
    const pending = this.#pending
    // Only the head can move the commit point; acks further on wait until the gap before them closes.
    if (pending[this.#head] === message) {
      let head = this.#head
      while (head < pending.length && pending[head]!.acked) head += 1
      this.committable = pending[head - 1]!.offset + 1
      if (head > 4096 && head * 2 > pending.length) {
        this.#pending = pending.slice(head)
        head = 0
      }
      this.#head = head
    }
    // After moving the commit point, so a commit this ack triggers includes it.
    this.#consumer.acked(message)
    const sensors = this.#consumer.sensors
    if (sensors?.wantsMessages === true) sensors.onMessageOut(this.tp, message.offset, message)
  }

  /** Messages delivered but not yet acked or dropped. */
  unsettled(): number {
    let n = 0
    for (let i = this.#head; i < this.#pending.length; i++) if (!this.#pending[i]!.settled) n += 1
    return n
  }

  /** Messages past the commit point (in flight, buffered or blocked behind a gap). */
  get outstanding(): number {
    return this.#pending.length - this.#head
  }
}

/** Told about rebalances, in the order the app needs (tables recover on assign). */
export interface RebalanceListener {
  onPartitionsRevoked?(revoked: TP[]): Promise<void>
  onPartitionsAssigned?(assigned: TP[], info: AssignedInfo): Promise<void>
}

export interface ConsumerOptions {
  createDriver: (handler: ConsumerHandlerT) => ConsumerDriverT
  conductor: Conductor
  commitEvery: number
  commitInterval: number
  /** Upper bound for waiting on in-flight events at revoke and shutdown (seconds). */
  waitEmptyTimeout: number
  waitEmpty: boolean
  /** Flush the producer before committing. */
  flush: () => Promise<void>
  /** Create a topic the app owns before subscribing to it (repartition topics appear at runtime). */
  declare: (topic: TopicDeclT) => Promise<void>
  listener?: RebalanceListener
  /**
   * Warm up what a batch will read before it is delivered (tables on async stores). A returned
   * promise delays that partition's delivery until it settles; partitions stay in order.
   */
  prefetch?: (tp: TP, records: RawRecord[]) => Promise<void> | undefined
  /** The app's sensors (message in/out, buffer full, commits). */
  sensors?: SensorDelegateT | undefined
}

export class Consumer extends Service implements ConsumerHandlerT, ConductorConsumerT {
  readonly #options: ConsumerOptions
  readonly sensors: SensorDelegateT | undefined
  #driver: ConsumerDriverT | undefined
  #states = new Map<TP, PartitionState>()
  #generation = -1
  /** Between revoke and assign, and after shutdown began: fetched records are dropped. */
  #suspended = true
  #ackedSinceCommit = 0
  #commitRunning: Promise<void> | undefined
  #commitAgain = false
  #pausedFor = new Map<TP, Set<object>>()
  /** Partitions held back (table recovery): paused until released, whatever the buffers say. */
  #held = new Set<TP>()
  /** Batches waiting for their prefetch, per partition (the last one in the chain). */
  #prefetching = new Map<TP, Promise<void>>()
  #topics: string[] = []
  #resubscribe: Promise<void> | undefined
  /** Counters for sensors, tests and the CLI. */
  readonly stats = { commits: 0, acked: 0, delivered: 0, dropped: 0 }
  /** Messages delivered per topic (for the monitor). */
  readonly deliveredByTopic = new Map<string, number>()
  readonly #assignedWaiters = new Set<() => void>()

  constructor(options: ConsumerOptions) {
    super({ name: 'Consumer' })
    this.#options = options
    this.sensors = options.sensors
    options.conductor.attach(this)
  }

  /** The assigned partitions, their committed offsets and read positions (for the monitor). */
  partitionOffsets(): Array<{ tp: TP; committed: number | undefined; read: number | undefined }> {
    return [...this.#states.values()].map((s) => ({ tp: s.tp, committed: s.committed, read: s.position }))
  }

  get driver(): ConsumerDriverT {
    if (this.#driver === undefined) this.#driver = this.#options.createDriver(this)
    return this.#driver
  }

  get generation(): number {
    return this.#generation
  }

  assignment(): TP[] {
    return sortTPs(this.#states.keys())
  }

  partitionState(tp: TP): PartitionState | undefined {
    return this.#states.get(tp)
  }

  protected override async onStart(): Promise<void> {
    this.addTimer('commit', this.#options.commitInterval, () => this.#commitSoon())
  }

  protected override async onStarted(): Promise<void> {
    // Agents started before us, so the conductor knows every topic to subscribe to.
    if (this.#options.conductor.topicNames().length > 0) await this.subscribe()
  }

  /** Join the group with the conductor's topics (declaring the ones the app owns first). */
  async subscribe(): Promise<void> {
    const conductor = this.#options.conductor
    await Promise.all(conductor.topicDecls().map((t) => this.#options.declare(t)))
    this.#topics = conductor.topicNames()
    await this.driver.subscribe(this.#topics)
  }

  subscriptionChanged(): void {
    if (this.state !== 'running' || this.#resubscribe !== undefined) return
    // Batch the topics of several new streams into one re-join.
    this.#resubscribe = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        const topics = this.#options.conductor.topicNames()
        if (topics.join() === this.#topics.join()) return
        this.log.info({ topics }, 'subscription changed; rejoining the group')
        await this.subscribe()
      })
      .catch((err: unknown) => this.crash(err))
      .finally(() => {
        this.#resubscribe = undefined
      })
  }

  // ── driver callbacks ─────────────────────────────────────────────────────────────

  async onPartitionsRevoked(revoked: TP[]): Promise<void> {
    this.#suspended = true
    this.log.info({ partitions: revoked.length }, `partitions revoked (${revoked.length})`)
    const dropped = this.#options.conductor.clear()
    this.stats.dropped += dropped
    await this.#waitInFlight(revoked)
    await this.commit()
    for (const t of revoked) {
      const state = this.#states.get(t)
      if (state !== undefined) state.retired = true
      this.#states.delete(t)
    }
    this.#resumeAllPaused()
    await this.#options.listener?.onPartitionsRevoked?.(revoked)
  }

  async onPartitionsAssigned(assigned: TP[], info: AssignedInfo): Promise<void> {
    this.#generation = info.generation
    for (const state of this.#states.values()) state.retired = true
    this.#states = new Map(assigned.map((t) => [t, new PartitionState(this, t, info.generation)]))
    this.#resumeAllPaused()
    const committed = assigned.length === 0 ? new Map<TP, number | undefined>() : await this.driver.committed(assigned)
    for (const [t, offset] of committed) {
      const state = this.#states.get(t)
      if (state !== undefined && offset !== undefined) state.committed = offset
    }
    this.log.info(
      { generation: info.generation, partitions: assigned.length },
      `partitions assigned (${assigned.length}): ${sortTPs(assigned).map(tpString).join(' ') || 'none'}`,
    )
    await this.#options.listener?.onPartitionsAssigned?.(assigned, info)
    this.#suspended = false
    for (const w of this.#assignedWaiters) w()
    this.#assignedWaiters.clear()
  }

  onRecords(tp: TP, records: RawRecord[], generation: number): void {
    // Records fetched for an earlier generation, or while suspended, belong to whoever owns the partition now.
    if (this.#suspended || generation !== this.#generation || !this.#states.has(tp)) return
    const warming = this.#options.prefetch?.(tp, records)
    const queued = this.#prefetching.get(tp)
    if (warming === undefined && queued === undefined) {
      this.#deliver(tp, records, generation)
      return
    }
    // Keep the partition's order: this batch goes after the ones still warming up.
    const chain = (queued ?? Promise.resolve())
      .then(() => warming)
      .catch((err: unknown) => this.log.warn({ err }, `prefetch failed: ${describeError(err)}`))
      .then(() => {
        if (this.#prefetching.get(tp) === chain) this.#prefetching.delete(tp)
        if (!this.#suspended && generation === this.#generation && this.#states.has(tp)) this.#deliver(tp, records, generation)
      })
    this.#prefetching.set(tp, chain)
  }

  #deliver(tp: TP, records: RawRecord[], generation: number): void {
    this.stats.delivered += records.length
    this.deliveredByTopic.set(tp.topic, (this.deliveredByTopic.get(tp.topic) ?? 0) + records.length)
    const sensors = this.sensors
    if (sensors?.wantsMessages === true) for (const r of records) sensors.onMessageIn(tp, r.offset, r)
    this.#options.conductor.deliver(tp, records, generation)
  }

  // ── conductor callbacks ──────────────────────────────────────────────────────────

  track(tp: TP, record: RawRecord, generation: number): Message {
    const state = this.#states.get(tp)
    const message = Message.from(record, tp)
    message.tp = tp
    message.generation = generation
    message.tracker = state
    state?.track(message)
    return message
  }

  pauseForBuffer(tp: TP, buffer: object): void {
    this.sensors?.onTopicBufferFull(tp)
    let blockers = this.#pausedFor.get(tp)
    if (blockers === undefined) {
      blockers = new Set()
      this.#pausedFor.set(tp, blockers)
      this.driver.pause([tp])
      this.log.debug({ topic: tp.topic, partition: tp.partition }, `buffer full: paused ${tpString(tp)}`)
    }
    blockers.add(buffer)
  }

  resumeForBuffer(buffer: object): void {
    const resume: TP[] = []
    for (const [t, blockers] of this.#pausedFor) {
      if (blockers.delete(buffer) && blockers.size === 0) {
        this.#pausedFor.delete(t)
        if (!this.#held.has(t)) resume.push(t)
      }
    }
    if (resume.length > 0) this.driver.resume(resume)
  }

  /** Stop fetching these partitions (their tables are being restored) until release(). */
  hold(tps: TP[]): void {
    for (const t of tps) this.#held.add(t)
    if (tps.length > 0) this.driver.pause(tps)
  }

  release(tps: TP[]): void {
    const resume = tps.filter((t) => this.#held.delete(t) && !this.#pausedFor.has(t))
    if (resume.length > 0) this.driver.resume(resume)
  }

  /** Partitions held back for table recovery. */
  heldPartitions(): TP[] {
    return sortTPs(this.#held)
  }

  /**
   * Buffers were cleared (rebalance): resume what they paused. Some drivers (kafkajs) keep pause
   * state across a rebalance, so it must be undone explicitly.
   */
  #resumeAllPaused(): void {
    const paused = [...this.#pausedFor.keys(), ...this.#held]
    this.#pausedFor.clear()
    this.#held.clear()
    if (paused.length > 0) this.driver.resume(paused)
  }

  /** Partitions paused because a stream's buffer is full. */
  pausedPartitions(): TP[] {
    return sortTPs(this.#pausedFor.keys())
  }

  acked(_message: Message): void {
    this.stats.acked += 1
    this.#ackedSinceCommit += 1
    if (this.#ackedSinceCommit < this.#options.commitEvery) return
    // A commit already running runs once more when it finishes.
    if (this.#commitRunning !== undefined) this.#commitAgain = true
    else this.#commitSoon()
  }

  // ── commits ──────────────────────────────────────────────────────────────────────

  /** Offsets that would be committed now. */
  committableOffsets(): Map<TP, number> {
    const out = new Map<TP, number>()
    for (const state of this.#states.values()) {
      if (state.committable !== undefined && (state.committed === undefined || state.committable > state.committed)) {
        out.set(state.tp, state.committable)
      }
    }
    return out
  }

  /** A background commit: a failure is logged and the offsets are committed by the next one. */
  #commitSoon(): void {
    this.commit().catch((err: unknown) => {
      this.log.warn({ err }, `${describeError(err)}; will retry with the next commit`)
    })
  }

  /** Commit what is acked. Concurrent calls share the running commit and run one more after it. */
  async commit(): Promise<void> {
    if (this.#commitRunning !== undefined) {
      this.#commitAgain = true
      return this.#commitRunning
    }
    this.#commitRunning = (async () => {
      try {
        do {
          this.#commitAgain = false
          await this.#commitOnce()
        } while (this.#commitAgain)
      } finally {
        this.#commitRunning = undefined
      }
    })()
    return this.#commitRunning
  }

  async #commitOnce(): Promise<void> {
    this.#ackedSinceCommit = 0
    if (this.#driver === undefined) return
    // The offsets are taken before the flush: agents keep processing while it waits for the
    // broker, and the changes of events acked meanwhile are buffered for the next flush, so
    // committing their offsets now would let a crash lose them. Flush even with no new offsets:
    // tables may hold changes made outside agents (usePartitioner).
    const taken = [...this.committableOffsets()].map(([t, offset]) => ({ t, offset, owner: this.#states.get(t) }))
    await this.#options.flush()
    // A partition revoked while the flush ran belongs to another worker now: leave its offset to it.
    const offsets = new Map(taken.filter((o) => this.#states.get(o.t) === o.owner).map((o) => [o.t, o.offset]))
    if (offsets.size === 0) return
    const state = this.sensors?.onCommitInitiated()
    try {
      await this.#driver.commit(offsets)
    } catch (err) {
      throw new CommitError(`commit failed: ${describeError(err)}`, { cause: err })
    }
    this.sensors?.onCommitCompleted(state, offsets)
    this.stats.commits += 1
    for (const [t, offset] of offsets) {
      const state = this.#states.get(t)
      if (state === undefined) continue
      if (state.committed === undefined || offset > state.committed) state.committed = offset
    }
    this.log.debug({ partitions: offsets.size }, 'committed')
  }

  async #waitInFlight(tps: TP[]): Promise<void> {
    if (!this.#options.waitEmpty) return
    const states = tps.map((t) => this.#states.get(t)).filter((s) => s !== undefined)
    const deadline = this.clock.now() + this.#options.waitEmptyTimeout * 1000
    let logged = false
    for (;;) {
      const unsettled = states.reduce((n, s) => n + s.unsettled(), 0)
      if (unsettled === 0) return
      if (this.clock.now() >= deadline) {
        this.log.warn({ unsettled }, `gave up waiting for ${unsettled} in-flight event(s); they will be processed again`)
        return
      }
      if (!logged && unsettled > 0) {
        this.log.debug({ unsettled }, `waiting for ${unsettled} in-flight event(s) before committing`)
        logged = true
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  }

  /**
   * Graceful shutdown, before agents stop: drop buffered events, let in-flight ones finish,
   * commit. Events dropped here were never processed and will be fetched again on restart.
   */
  async drain(): Promise<void> {
    this.#suspended = true
    this.stats.dropped += this.#options.conductor.clear()
    await this.#waitInFlight([...this.#states.keys()])
    await this.commit()
  }

  /** Resolves once partitions have been assigned (or the signal aborts). */
  waitAssigned(signal?: AbortSignal): Promise<void> {
    if (!this.#suspended && this.#generation >= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        this.#assignedWaiters.delete(done)
        resolve()
      }
      signal?.addEventListener('abort', done, { once: true })
      this.#assignedWaiters.add(done)
    })
  }

  protected override async onShutdown(): Promise<void> {
    if (this.#driver !== undefined) {
      try {
        await this.#driver.close()
      } catch (err) {
        this.log.warn({ err }, `closing the consumer failed: ${describeError(err)}`)
      }
    }
    this.#driver = undefined
  }
}
