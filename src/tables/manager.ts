/**
 * TableManager: stores, changelog recovery and standby replicas for every table (Faust's
 * TableManager and Recovery).
 *
 * On every assignment:
 * 1. Work out which table partitions are active here and which are standbys (from the assignor's
 *    userData; without it, the partition numbers of the assigned source topics with the table's
 *    partition count are active and there are no standbys). Open their stores, close the others.
 * 2. For each active partition whose store is behind the changelog's end, hold the source
 *    partitions of that number in the consumer and restore the store from its persisted offset to
 *    the end with the reader (a separate, group-less consumer). Other partitions keep running.
 *    A store ahead of the changelog (it has an offset past the end) is wiped and rebuilt, with a
 *    warning. Progress is logged every 5 s: records remaining, rate, ETA.
 * 3. When a partition's tables are all restored, release its source partitions.
 * 4. Standby partitions, and every partition of a global table, are followed continuously, so a
 *    failover or a restart restores only the tail.
 *
 * A new assignment while a recovery runs simply replaces the plan: the reader is re-assigned, and
 * what was restored so far stays in the stores (their persisted offsets say how far they got).
 * @module
 */
import { join } from 'node:path'
import { describeError, PartitionsMismatch } from '../errors.ts'
import { Service } from '../services/service.ts'
import { createStore, isPersistent } from '../stores/index.ts'
import type { AssignedInfo, ReaderDriverT } from '../types/transport.ts'
import type { RawRecord, TP } from '../types/tuples.ts'
import type { StoreT } from '../types/stores.ts'
import { tp, tpString } from '../utils/tp.ts'
import type { TableT } from './table.ts'

/** What the manager needs from the app (kept narrow: tables never import the app). */
export interface TableHost {
  readonly datadir: string
  readonly assignment: () => TP[]
  /** Table partitions from the assignor (changelog topic → partitions), when it provides them. */
  readonly tableAssignment: () => { actives: Record<string, number[]>; standbys: Record<string, number[]> } | undefined
  /** Offset of the next record to be written, per changelog partition. */
  readonly endOffsets: (tps: TP[]) => Promise<Map<TP, number>>
  readonly beginningOffsets: (tps: TP[]) => Promise<Map<TP, number>>
  readonly createReader: (onRecords: (t: TP, records: RawRecord[]) => void) => ReaderDriverT
  /** Stop delivering these source partitions until released. */
  readonly hold: (tps: TP[]) => void
  readonly release: (tps: TP[]) => void
  readonly declare: (table: TableT) => Promise<void>
  readonly partitionsFor: (topic: string) => Promise<number>
  readonly knownPartitions: (topic: string) => number | undefined
  /** Seconds between sweeps closing and expiring windows. */
  readonly cleanupInterval: number
}

interface Restore {
  table: TableT
  partition: number
  tp: TP
  /** Offset of the next record to be written when recovery started: done when the store is there. */
  target: number
  started: number
  startOffset: number
}

export interface RecoveryStats {
  active: number
  remaining: number
  restored: number
  ratePerSecond: number
  etaSeconds: number | undefined
  finished: number
  lastDurationMs: number | undefined
}

export class TableManager extends Service {
  readonly tables = new Map<string, TableT>()
  readonly #host: TableHost
  #reader: ReaderDriverT | undefined
  /** Changelog partitions being restored (active) or followed (standby, global). */
  #restoring = new Map<TP, Restore>()
  #following = new Map<TP, { table: TableT; partition: number }>()
  /** Source partitions held until their table partitions are restored. */
  #held = new Map<number, TP[]>()
  #generation = 0
  #restoredTotal = 0
  #recoveryStarted = 0
  #ready = true
  #readyWaiters: Array<() => void> = []
  readonly stats: RecoveryStats = {
    active: 0,
    remaining: 0,
    restored: 0,
    ratePerSecond: 0,
    etaSeconds: undefined,
    finished: 0,
    lastDurationMs: undefined,
  }

  constructor(host: TableHost) {
    super({ name: 'TableManager' })
    this.#host = host
  }

  add(table: TableT): void {
    this.tables.set(table.name, table)
  }

  /** True when no recovery is pending (the worker is ready to serve). */
  get ready(): boolean {
    return this.#ready
  }

  /** Resolves when no recovery is pending (at once if none is). */
  whenReady(): Promise<void> {
    if (this.#ready) return Promise.resolve()
    return new Promise((resolve) => this.#readyWaiters.push(resolve))
  }

  protected override async onStart(): Promise<void> {
    for (const table of this.tables.values()) {
      await this.#host.declare(table)
      // Faust finds a mismatch at the first write; with `sources` we can say so before anything runs.
      for (const source of table.sources) {
        for (const name of source.topics) {
          const n = await this.#host.partitionsFor(name)
          if (n !== table.partitions) {
            throw new PartitionsMismatch(
              `table ${table.name}: source topic ${name} has ${n} partitions but the changelog ${table.changelog.topics[0]} has ${table.partitions}; give them the same count`,
              { table: table.name, topic: name },
            )
          }
        }
      }
    }
    if (this.tables.size === 0) return
    this.#reader = this.#host.createReader((t, records) => this.#onRecords(t, records))
    this.addTask('reader', (signal) => this.#reader!.run(signal))
    this.addTimer('recovery-progress', 5, () => this.#logProgress())
    // Windows close on the wall clock too, so idle partitions close theirs. Not while a recovery
    // runs: a half-restored window would close with a partial value.
    this.addTimer('window-sweep', this.#host.cleanupInterval, () => {
      if (!this.#ready) return
      for (const table of this.tables.values()) {
        try {
          table.sweep()
        } catch (err) {
          this.crash(err)
        }
      }
    })
    // Standbys have no commit to ride on: flush them on the same cadence.
    this.addTimer('standby-flush', 5, async () => {
      for (const { table, partition } of this.#following.values()) await table.stores().get(partition)?.flush()
    })
  }

  protected override async onShutdown(): Promise<void> {
    await this.#reader?.close()
    this.#reader = undefined
    for (const table of this.tables.values()) {
      for (const p of [...table.stores().keys()]) await table.detachStore(p)?.close()
    }
  }

  /** Warm async stores for a batch about to be delivered; undefined when no table needs it. */
  prefetch(t: TP, records: RawRecord[]): Promise<void> | undefined {
    let pending: Array<Promise<void>> | undefined
    for (const table of this.tables.values()) {
      if (table.partitions !== this.#partitionCount(t.topic)) continue
      const warming = table.prefetch(t.partition, records)
      if (warming !== undefined) (pending ??= []).push(warming)
    }
    return pending === undefined ? undefined : Promise.all(pending).then(() => {})
  }

  #partitionCount(topic: string): number | undefined {
    return this.#host.knownPartitions(topic)
  }

  /** Before each commit, first: wait for what tables started (window close callbacks and emits). */
  async settle(): Promise<void> {
    for (const table of this.tables.values()) await table.settle()
  }

  /** Before each commit, then: send the changelog changes buffered since the last one. */
  sendPendingChangelogs(): void {
    for (const table of this.tables.values()) table.sendPendingChangelog()
  }

  /** Before each commit, after the producer flushed: make store writes durable (with the changelog offsets they reflect). */
  async flush(): Promise<void> {
    for (const table of this.tables.values()) {
      for (const store of table.stores().values()) await store.flush()
    }
  }

  async onPartitionsRevoked(): Promise<void> {
    // Stores stay open: the next assignment usually gives most partitions back. (The consumer's
    // commit before this already sent the buffered changelog and flushed the stores.)
    await this.flush()
  }

  async onPartitionsAssigned(assigned: TP[], _info: AssignedInfo): Promise<void> {
    if (this.tables.size === 0) return
    const generation = ++this.#generation
    this.#restoring.clear()
    this.#following.clear()
    for (const held of this.#held.values()) this.#host.release(held)
    this.#held.clear()
    const plan = this.#plan(assigned)
    const positions = new Map<TP, number>()
    const changelogs = [...this.tables.values()].flatMap((t) => [...plan.get(t)!.actives, ...plan.get(t)!.standbys].map((p) => tp(t.changelog.topics[0]!, p)))
    const [ends, starts] = await Promise.all([this.#host.endOffsets(changelogs), this.#host.beginningOffsets(changelogs)])
    if (generation !== this.#generation) return
    const needs = new Set<number>()
    for (const table of this.tables.values()) {
      const { actives, standbys } = plan.get(table)!
      await this.#openStores(table, actives, standbys)
      for (const p of [...actives, ...standbys]) {
        const t = tp(table.changelog.topics[0]!, p)
        const store = table.stores().get(p)!
        const end = ends.get(t) ?? 0
        const first = starts.get(t) ?? 0
        let persisted = store.persistedOffset()
        if (persisted !== undefined && persisted >= end) {
          this.log.warn(
            { table: table.name, partition: p, persisted, end },
            `table ${table.name}[${p}]: the store is ahead of its changelog (offset ${persisted}, changelog ends at ${end}); rebuilding it`,
          )
          await store.reset()
          persisted = undefined
        }
        const from = Math.max(persisted === undefined ? first : persisted + 1, first)
        const isActive = actives.includes(p) && !table.isGlobal
        if (isActive) {
          if (from < end) {
            this.#restoring.set(t, { table, partition: p, tp: t, target: end, started: Date.now(), startOffset: from })
            positions.set(t, from)
            needs.add(p)
          }
        } else {
          // Standbys and global tables follow the changelog for as long as they are held.
          this.#following.set(t, { table, partition: p })
          positions.set(t, from)
          if (table.isGlobal && from < end) {
            this.#restoring.set(t, { table, partition: p, tp: t, target: end, started: Date.now(), startOffset: from })
            needs.add(-1)
          }
        }
      }
    }
    // Hold the source partitions whose table partitions are behind (all of them while a global table recovers).
    for (const p of needs) {
      const held = assigned.filter((t) => p === -1 || t.partition === p)
      if (held.length === 0) continue
      this.#held.set(p, held)
      this.#host.hold(held)
    }
    this.#ready = this.#restoring.size === 0
    this.#recoveryStarted = Date.now()
    this.#restoredTotal = 0
    this.stats.restored = 0
    this.stats.ratePerSecond = 0
    this.stats.etaSeconds = undefined
    this.stats.active = this.#restoring.size
    this.stats.remaining = this.#remaining()
    if (this.#restoring.size > 0) {
      this.log.info(
        { partitions: this.#restoring.size, records: this.stats.remaining },
        `restoring ${this.#restoring.size} table partition(s): ${this.stats.remaining} changelog records`,
      )
    }
    this.#reader?.assign(positions)
    if (this.#restoring.size === 0) await this.#finished()
  }

  /** Which table partitions are active and standby here. */
  #plan(assigned: TP[]): Map<TableT, { actives: number[]; standbys: number[] }> {
    const fromAssignor = this.#host.tableAssignment()
    const out = new Map<TableT, { actives: number[]; standbys: number[] }>()
    for (const table of this.tables.values()) {
      const changelog = table.changelog.topics[0]!
      if (table.isGlobal) {
        out.set(table, { actives: Array.from({ length: table.partitions }, (_, p) => p), standbys: [] })
        continue
      }
      if (fromAssignor !== undefined) {
        out.set(table, {
          actives: [...(fromAssignor.actives[changelog] ?? [])].sort((a, b) => a - b),
          standbys: [...(fromAssignor.standbys[changelog] ?? [])].sort((a, b) => a - b),
        })
        continue
      }
      const numbers = new Set<number>()
      for (const t of assigned) if (t.partition < table.partitions) numbers.add(t.partition)
      out.set(table, { actives: [...numbers].sort((a, b) => a - b), standbys: [] })
    }
    return out
  }

  async #openStores(table: TableT, actives: number[], standbys: number[]): Promise<void> {
    const keep = new Set([...actives, ...standbys])
    for (const p of [...table.stores().keys()]) {
      if (keep.has(p)) continue
      const store = table.detachStore(p)
      await store?.close()
    }
    for (const p of keep) {
      const role = actives.includes(p) ? 'active' : 'standby'
      const existing = table.stores().get(p)
      if (existing !== undefined) {
        table.attachStore(p, existing, role)
        continue
      }
      const store: StoreT = await createStore({
        url: table.storeUrl,
        path: join(this.#host.datadir, 'tables', `${table.name}-${p}`),
        table: table.name,
        partition: p,
      })
      await store.open()
      table.attachStore(p, store, role)
    }
  }

  #onRecords(t: TP, records: RawRecord[]): void {
    const restore = this.#restoring.get(t)
    const follow = this.#following.get(t)
    const owner = restore ?? follow
    if (owner === undefined) return
    try {
      owner.table.applyChangelog(owner.partition, records)
    } catch (err) {
      this.crash(err)
      return
    }
    if (restore === undefined) return
    this.#restoredTotal += records.length
    const last = records[records.length - 1]!
    if (last.offset + 1 >= restore.target) void this.#partitionRestored(restore)
  }

  async #partitionRestored(restore: Restore): Promise<void> {
    const generation = this.#generation
    this.#restoring.delete(restore.tp)
    const store = restore.table.stores().get(restore.partition)
    await store?.flush()
    if (!restore.table.isGlobal) {
      // An active partition is written by this worker from now on: stop reading its changelog.
      const positions = this.#reader?.positions() ?? new Map<TP, number>()
      positions.delete(restore.tp)
      if (generation === this.#generation) this.#reader?.assign(positions)
    }
    this.log.debug(
      { table: restore.table.name, partition: restore.partition, records: restore.target - restore.startOffset, ms: Date.now() - restore.started },
      `restored ${tpString(restore.tp)}`,
    )
    if (generation !== this.#generation) return
    const pending = new Set([...this.#restoring.values()].map((r) => (r.table.isGlobal ? -1 : r.partition)))
    for (const [p, held] of [...this.#held]) {
      if (pending.has(p) || (p !== -1 && pending.has(-1))) continue
      this.#held.delete(p)
      this.#host.release(held)
    }
    if (this.#restoring.size === 0) await this.#finished()
  }

  async #finished(): Promise<void> {
    const ms = Date.now() - this.#recoveryStarted
    if (this.#restoredTotal > 0) {
      this.log.info({ records: this.#restoredTotal, ms }, `table recovery finished: ${this.#restoredTotal} records in ${ms} ms`)
      this.stats.lastDurationMs = ms
    }
    this.stats.finished += 1
    this.stats.active = 0
    this.stats.remaining = 0
    this.stats.restored = this.#restoredTotal
    this.stats.ratePerSecond = ms > 0 ? Math.round((this.#restoredTotal * 1000) / ms) : 0
    this.stats.etaSeconds = undefined
    this.#ready = true
    for (const w of this.#readyWaiters.splice(0)) w()
    for (const table of this.tables.values()) {
      try {
        await table.onRecovered()
      } catch (err) {
        this.log.error({ err, table: table.name }, `onRecover of table ${table.name} failed: ${describeError(err)}`)
      }
    }
  }

  #remaining(): number {
    const positions = this.#reader?.positions() ?? new Map<TP, number>()
    let n = 0
    for (const r of this.#restoring.values()) n += Math.max(0, r.target - (positions.get(r.tp) ?? r.startOffset))
    return n
  }

  /** The stats, brought up to date now (the monitor reads this; the log line comes every 5 s). */
  progress(): RecoveryStats {
    if (this.#restoring.size === 0) return { ...this.stats }
    const seconds = (Date.now() - this.#recoveryStarted) / 1000
    const rate = seconds > 0 ? this.#restoredTotal / seconds : 0
    const remaining = this.#remaining()
    const eta = rate > 0 ? Math.round(remaining / rate) : undefined
    Object.assign(this.stats, { active: this.#restoring.size, remaining, restored: this.#restoredTotal, ratePerSecond: Math.round(rate), etaSeconds: eta })
    return { ...this.stats }
  }

  #logProgress(): void {
    if (this.#restoring.size === 0) return
    const { remaining, ratePerSecond: rate, etaSeconds: eta } = this.progress()
    this.log.info(
      { partitions: this.#restoring.size, remaining, rate: Math.round(rate), eta: eta === undefined ? undefined : Math.round(eta) },
      `table recovery: ${remaining} records to go in ${this.#restoring.size} partition(s), ${Math.round(rate)} records/s` +
        (eta === undefined ? '' : `, about ${Math.round(eta)} s left`),
    )
  }

  /** Partitions held because their tables are being restored. */
  heldPartitions(): TP[] {
    return [...this.#held.values()].flat()
  }

  isPersistent(table: TableT): boolean {
    return isPersistent(table.storeUrl)
  }
}
