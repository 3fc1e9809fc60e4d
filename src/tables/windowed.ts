/**
 * Windowed tables (Faust's WindowWrapper and WindowSet), with windows that really close.
 *
 * ```ts
 * const views = app.table('views', { default: () => 0 }).hopping(60, 10, { expires: 3600 })
 * app.agent(pageViews, async (stream) => {
 *   for await (const view of stream) views.update(view.page, (n) => n + 1) // every window of the event's time
 * })
 * views.get('home').value()     // the current window (relative to the event's time)
 * views.get('home').delta(30)   // the window 30 s earlier
 * ```
 *
 * Storage is Faust's: the store and changelog key of a windowed value is the JSON `[key,[start,end]]`
 * (byte for byte as Python Faust writes it), the changelog is `compact,delete`.
 *
 * Closing. Every table partition keeps an index of its open windows (which keys each holds) and a
 * heap of them by closing time, rebuilt from the store when a partition arrives and kept current by
 * writes and changelog records (so windows restored from the changelog close too). A partition's
 * time is the latest event time seen on it, moved on by the wall clock while no newer event
 * arrives, so an idle partition's windows still close. A window closes once that time reaches its
 * end plus `grace`: onWindowClose fires with the final value, the result goes to `emitTo` and the
 * `closed()` channel, and later events for it are late. It is removed from the store and tombstoned
 * in the changelog at its end plus `expires` (at once when expires is not longer than grace).
 * @module
 */
import { Channel } from '../channels/channel.ts'
import { describeError, ImproperlyConfigured, LateEvent, TableOutsideStream, ValidationError } from '../errors.ts'
import { pythonFloat, pythonJson, pythonString } from '../serializers/pyjson.ts'
import { type FieldRef, isFieldRef } from '../models/record.ts'
import { currentEvent } from '../streams/context.ts'
import type { Event } from '../streams/event.ts'
import type { SendTargetT } from '../types/channels.ts'
import type { ClockT } from '../types/clock.ts'
import type { StoreT } from '../types/stores.ts'
import { MinHeap } from '../utils/heap.ts'
import type { SessionWindow, WindowRange, WindowT } from '../windows/windows.ts'
import type { ChangelogRecord, Table } from './table.ts'

/** Changelog header: when (wall clock, ms) the change was made; the record's timestamp is its event's time. */
const WRITTEN_AT = 'faust-ts-written-at'

/** A closed window's result, as emitted to `emitTo` and the `closed()` channel. Times in seconds. */
export interface ClosedWindow<K, V> {
  key: K
  start: number
  end: number
  value: V
}

export interface WindowOptions<K, V> {
  /** Seconds a window is kept after it ends, readable with delta() (Faust's expires). */
  expires?: number | undefined
  /** Seconds after a window ends that late events still update it (default: expires, else 0). */
  grace?: number | undefined
  /** Called once per key when its window closes, with the final value. */
  onWindowClose?: ((key: K, value: V, window: WindowRange) => void | Promise<void>) | undefined
  /** Events that only fall into closed windows: dropped and counted (default), or also dead-lettered. */
  lateEvents?: 'drop' | 'dlq' | undefined
  /** Dead-letter topic for late events (default `<source topic>-dlq`). */
  lateTopic?: string | undefined
  /** Send each closed window's result here (a topic: key = the table key, value = ClosedWindow). */
  emitTo?: SendTargetT<K, ClosedWindow<K, V>> | undefined
  /** Close windows of idle partitions by the wall clock too (default true). */
  closeOnWallClock?: boolean | undefined
}

export interface SessionWindowOptions<K, V> extends WindowOptions<K, V> {
  /** Combine the values of two sessions an event joins into one. */
  merge: (a: V, b: V) => V
}

/** One window of a partition: for session windows, one key's session. */
interface WindowEntry {
  readonly id: string
  readonly range: WindowRange
  /** `[start,end]` as Faust writes it: the tail of every store key in this window. */
  readonly rangeJson: string
  /** Keys (as Python JSON) with a value in this window. */
  readonly keys: Set<string>
  readonly closeAt: number
  readonly expireAt: number
  closed: boolean
}

class PartitionWindows {
  readonly windows = new Map<string, WindowEntry>()
  readonly heap = new MinHeap<WindowEntry>()
  /** Session windows only: each key's sessions. */
  readonly sessions = new Map<string, WindowEntry[]>()
  active = false
  /** Latest event time seen (seconds), and when (wall-clock ms) it last moved. */
  streamTime: number | undefined
  advancedAt = 0
  /** Set when the partition becomes active: its time starts from its windows, running from then. */
  needsTime = true
  activatedAt = 0
  /** From changelog records applied here: the latest record time and when it was applied, and the
   * greatest (event time - wall time of the write) of the records that say when they were written. */
  recordTime: number | undefined
  recordSeenAt = 0
  recordLead: number | undefined
  /** Everything closing at or before this time is closed. */
  watermark = -Infinity
}

/** How a view finds the time of an operation (seconds). */
type TimeOf = (event: Event | undefined) => number

export interface WindowStats {
  open: number
  closed: number
  expired: number
  late: number
  lateWindows: number
  callbackErrors: number
}

/** The windowing of one table: its windows, indexes and closing. Views share it. */
export class Windowing<K, V> {
  readonly table: Table<K, V>
  readonly window: WindowT
  readonly grace: number
  readonly expires: number | undefined
  readonly #keep: number
  readonly #options: WindowOptions<K, V>
  readonly #merge: ((a: V, b: V) => V) | undefined
  readonly #partitions = new Map<number, PartitionWindows>()
  readonly #pending = new Set<Promise<unknown>>()
  readonly #rangeText = new Map<number, string>()
  #writtenAt: [string, Buffer] = [WRITTEN_AT, Buffer.alloc(0)]
  #writtenAtMs = -1
  #closed: Channel<K, ClosedWindow<K, V>> | undefined
  readonly stats: WindowStats = { open: 0, closed: 0, expired: 0, late: 0, lateWindows: 0, callbackErrors: 0 }

  constructor(table: Table<K, V>, window: WindowT, options: WindowOptions<K, V> & { merge?: (a: V, b: V) => V }) {
    if (table.schema.key.codec.name !== 'json') {
      throw new ImproperlyConfigured(`windowed table ${table.name}: keys must use the json serializer (the changelog key is the JSON [key, [start, end]])`, { table: table.name })
    }
    if (window.kind === 'session' && options.merge === undefined) {
      throw new ImproperlyConfigured(`session-windowed table ${table.name} needs a merge function (two sessions an event joins become one)`, { table: table.name })
    }
    if (window.kind === 'session' && table.usePartitioner) {
      throw new ImproperlyConfigured(`session-windowed table ${table.name} cannot use usePartitioner (a session's key changes as it grows)`, { table: table.name })
    }
    for (const [name, v] of [['expires', options.expires], ['grace', options.grace]] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new ImproperlyConfigured(`windowed table ${table.name}: ${name} must be seconds >= 0, got ${v}`, { table: table.name })
    }
    this.table = table
    this.window = window
    this.expires = options.expires
    this.grace = options.grace ?? options.expires ?? 0
    this.#keep = Math.max(this.grace, options.expires ?? 0)
    this.#options = options
    this.#merge = options.merge
    // Faust's windowed changelog: compacted and deleted. Windows are tombstoned when they expire;
    // retention is the backstop, so it must outlive a window's last write: at least span + keep,
    // and Faust's `expires` when that is longer (plus a day without expires, as Kafka Streams does).
    const config = table.changelog.config
    if (config['cleanup.policy'] === 'compact') config['cleanup.policy'] = 'compact,delete'
    if (config['retention.ms'] === undefined) {
      const needed = (this.#span() + this.#keep) * 1000
      const retention = options.expires === undefined ? needed + 86_400_000 : Math.max(options.expires * 1000, needed)
      config['retention.ms'] = String(Math.ceil(retention))
    }
  }

  #span(): number {
    const w = this.window as unknown as { size?: number; before?: number; after?: number; gap?: number }
    return w.size ?? w.gap ?? (w.before ?? 0) + (w.after ?? 0)
  }

  /** The channel closed windows are sent to (consume it with an agent). */
  closed(): Channel<K, ClosedWindow<K, V>> {
    this.#closed ??= new Channel<K, ClosedWindow<K, V>>(this.table.app, { name: `${this.table.name}-closed` })
    return this.#closed
  }

  describe(): string {
    const w = this.window as unknown as { size?: number; step?: number; before?: number; after?: number; gap?: number }
    const shape =
      this.window.kind === 'hopping'
        ? `hopping ${w.size}s every ${w.step}s`
        : this.window.kind === 'tumbling'
          ? `tumbling ${w.size}s`
          : this.window.kind === 'sliding'
            ? `sliding -${w.before}s/+${w.after}s`
            : `session gap ${w.gap}s`
    return `${shape}, grace ${this.grace}s` + (this.expires === undefined ? '' : `, expires ${this.expires}s`)
  }

  // --- keys ------------------------------------------------------------------------------------

  /** The key as Python's json.dumps writes it. */
  keyJson(key: K): string {
    if (typeof key === 'string') return pythonString(key)
    if (typeof key === 'number') return pythonJson(key)
    return pythonJson(JSON.parse(this.table.encodeKey(key).toString('utf8')))
  }

  decodeKey(keyJson: string): K {
    return this.table.schema.loadsKey(Buffer.from(keyJson, 'utf8'))
  }

  storeKey(keyJson: string, rangeJson: string): Buffer {
    return Buffer.from(`[${keyJson},${rangeJson}]`, 'utf8')
  }

  rangeJson(range: WindowRange): string {
    // Every update formats each of its windows; hopping and tumbling windows are few and known by
    // their start, so their text is kept.
    const fixed = this.window.kind === 'hopping' || this.window.kind === 'tumbling'
    if (fixed) {
      const known = this.#rangeText.get(range[0])
      if (known !== undefined) return known
    }
    const text = `[${pythonFloat(range[0])},${pythonFloat(range[1])}]`
    if (fixed) {
      if (this.#rangeText.size >= 4096) this.#rangeText.clear()
      this.#rangeText.set(range[0], text)
    }
    return text
  }

  /** `[key, [start, end]]` back to its parts (undefined for a key that is not a window key). */
  #parse(bytes: Buffer): { keyJson: string; range: WindowRange } | undefined {
    let parsed: unknown
    try {
      parsed = JSON.parse(bytes.toString('utf8'))
    } catch {
      return undefined
    }
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined
    const range: unknown = parsed[1]
    if (!Array.isArray(range) || range.length !== 2 || typeof range[0] !== 'number' || typeof range[1] !== 'number') return undefined
    return { keyJson: pythonJson(parsed[0]), range: [range[0], range[1]] }
  }

  // --- the index -------------------------------------------------------------------------------

  #entry(state: PartitionWindows, keyJson: string, range: WindowRange): WindowEntry {
    const rangeJson = this.rangeJson(range)
    const id = this.window.kind === 'session' ? `${keyJson} ${rangeJson}` : rangeJson
    let entry = state.windows.get(id)
    if (entry === undefined) {
      const end = this.window.endOf(range)
      entry = { id, range, rangeJson, keys: new Set(), closeAt: end + this.grace, expireAt: end + this.#keep, closed: false }
      state.windows.set(id, entry)
      state.heap.push(entry.closeAt, entry)
      if (this.window.kind === 'session') {
        const sessions = state.sessions.get(keyJson)
        if (sessions === undefined) state.sessions.set(keyJson, [entry])
        else sessions.push(entry)
      }
    }
    return entry
  }

  #forget(state: PartitionWindows, entry: WindowEntry, keyJson: string): void {
    entry.keys.delete(keyJson)
    if (entry.keys.size > 0) return
    state.windows.delete(entry.id)
    if (this.window.kind === 'session') {
      const sessions = state.sessions.get(keyJson)?.filter((s) => s !== entry)
      if (sessions === undefined || sessions.length === 0) state.sessions.delete(keyJson)
      else state.sessions.set(keyJson, sessions)
    }
  }

  #index(state: PartitionWindows, bytes: Buffer, present: boolean): void {
    const parsed = this.#parse(bytes)
    if (parsed === undefined) return
    if (present) {
      this.#entry(state, parsed.keyJson, parsed.range).keys.add(parsed.keyJson)
      return
    }
    const rangeJson = this.rangeJson(parsed.range)
    const entry = state.windows.get(this.window.kind === 'session' ? `${parsed.keyJson} ${rangeJson}` : rangeJson)
    if (entry !== undefined) this.#forget(state, entry, parsed.keyJson)
  }

  /** A store was attached (fresh: newly opened, so its windows are indexed from its contents). */
  attached(partition: number, store: StoreT, role: 'active' | 'standby', fresh: boolean): void {
    let state = this.#partitions.get(partition)
    if (state === undefined || fresh) {
      state = new PartitionWindows()
      this.#partitions.set(partition, state)
      for (const [key] of store.entries()) this.#index(state, key, true)
    }
    if (role === 'active' && !state.active) {
      state.needsTime = true
      state.streamTime = undefined
      state.activatedAt = this.#now()
    }
    state.active = role === 'active'
  }

  detached(partition: number): void {
    this.#partitions.delete(partition)
  }

  /** Changelog records applied to a partition's store (recovery, standbys): keep the index current. */
  applied(partition: number, records: readonly ChangelogRecord[]): void {
    const state = this.#partitions.get(partition)
    if (state === undefined) return
    let latest = state.recordTime
    for (const r of records) {
      if (r.key !== null) this.#index(state, r.key, r.value !== null)
      if (r.timestamp === undefined) continue
      if (latest === undefined || r.timestamp / 1000 > latest) latest = r.timestamp / 1000
      const written = r.headers?.find(([name]) => name === WRITTEN_AT)?.[1]
      if (written === undefined) continue
      const lead = (r.timestamp - Number(written.toString('latin1'))) / 1000
      if (Number.isFinite(lead) && (state.recordLead === undefined || lead > state.recordLead)) state.recordLead = lead
    }
    if (latest !== state.recordTime) {
      state.recordTime = latest
      state.recordSeenAt = this.#now()
    }
  }

  // --- time and closing --------------------------------------------------------------------------

  #now(): number {
    return this.table.app.clock.now()
  }

  /** The time windows close by: the partition's event time, moved on by the wall clock since it last moved. */
  #effective(state: PartitionWindows): number {
    if (state.needsTime) this.#startTime(state)
    if (state.streamTime === undefined) return state.watermark
    const idle = this.#options.closeOnWallClock === false ? 0 : (this.#now() - state.advancedAt) / 1000
    return Math.max(state.watermark, state.streamTime + idle)
  }

  /**
   * A partition that just became active has not seen an event here. How far had its time got?
   * Each changelog record carries the time of the event that wrote it and the wall-clock time of
   * the write, so the writer's time, run on by the wall clock since, is known: a restart or a
   * failover closes windows when the old worker would have. Records without the wall time (written
   * by Python Faust) give their time, run on since they were applied here; a store opened with its
   * data and nothing to replay only has its windows (the latest event was at least at the latest
   * window's start), run on since the partition arrived. None closes a window before its events
   * could have reached it.
   */
  #startTime(state: PartitionWindows): void {
    state.needsTime = false
    const now = this.#now()
    const candidates: Array<[time: number, since: number]> = []
    if (state.recordLead !== undefined && this.#options.closeOnWallClock !== false) candidates.push([now / 1000 + state.recordLead, now])
    if (state.recordTime !== undefined) candidates.push([state.recordTime, state.recordSeenAt])
    let lower: number | undefined
    for (const entry of state.windows.values()) {
      const t = this.#eventTimeIn(entry.range)
      if (lower === undefined || t > lower) lower = t
    }
    if (lower !== undefined) candidates.push([lower, state.activatedAt])
    for (const [time, since] of candidates) {
      const current = state.streamTime === undefined ? -Infinity : state.streamTime + (now - state.advancedAt) / 1000
      if (time + (now - since) / 1000 > current) {
        state.streamTime = time
        state.advancedAt = since
      }
    }
  }

  /** The latest time an event in this window is known to have had at least. */
  #eventTimeIn(range: WindowRange): number {
    switch (this.window.kind) {
      case 'session':
        return range[1]
      case 'sliding':
        return range[0] + (this.window as unknown as { before: number }).before
      default:
        return range[0]
    }
  }

  #advance(state: PartitionWindows, partition: number, t: number): void {
    if (state.needsTime) this.#startTime(state)
    if (state.streamTime === undefined || t > state.streamTime) {
      state.streamTime = t
      state.advancedAt = this.#now()
    }
    this.#sweepPartition(partition, state)
  }

  /** Close and expire what is due in every active partition (the table manager's timer calls this). */
  sweep(): void {
    for (const [partition, state] of this.#partitions) if (state.active) this.#sweepPartition(partition, state)
  }

  #sweepPartition(partition: number, state: PartitionWindows): void {
    state.watermark = this.#effective(state)
    for (let top = state.heap.peek(); top !== undefined && top.at <= state.watermark; top = state.heap.peek()) {
      state.heap.pop()
      const entry = top.item
      // Entries merged away, emptied or already handled leave stale heap items behind.
      if (state.windows.get(entry.id) !== entry) continue
      if (!entry.closed && top.at === entry.closeAt) this.#close(partition, state, entry)
      else if (entry.closed && top.at === entry.expireAt) this.#expire(partition, state, entry)
    }
  }

  #close(partition: number, state: PartitionWindows, entry: WindowEntry): void {
    entry.closed = true
    const store = this.table.stores().get(partition)
    for (const keyJson of [...entry.keys]) {
      const bytes = store?.get(this.storeKey(keyJson, entry.rangeJson))
      if (bytes === undefined) {
        this.#forget(state, entry, keyJson)
        continue
      }
      this.stats.closed += 1
      this.#emit(this.decodeKey(keyJson), this.table.decodeValue(bytes), entry.range, partition)
    }
    if (entry.expireAt <= entry.closeAt) this.#expire(partition, state, entry)
    else if (state.windows.get(entry.id) === entry) state.heap.push(entry.expireAt, entry)
  }

  /** Write to the store and the changelog; the changelog record carries the time of the change (as Kafka Streams' do). */
  #write(partition: number, keyBytes: Buffer, value: Buffer | null, t: number): void {
    const now = this.#now()
    if (now !== this.#writtenAtMs) {
      this.#writtenAtMs = now
      this.#writtenAt = [WRITTEN_AT, Buffer.from(String(now), 'latin1')]
    }
    this.table.writeBytes(partition, keyBytes, value, { key: keyBytes, value, timestamp: Math.max(0, Math.round(t * 1000)), headers: [this.#writtenAt] })
  }

  #expire(partition: number, state: PartitionWindows, entry: WindowEntry): void {
    for (const keyJson of [...entry.keys]) {
      this.#write(partition, this.storeKey(keyJson, entry.rangeJson), null, state.watermark)
      this.stats.expired += 1
      this.#forget(state, entry, keyJson)
    }
    state.windows.delete(entry.id)
  }

  #emit(key: K, value: V, range: WindowRange, partition: number): void {
    const onClose = this.#options.onWindowClose
    if (onClose !== undefined) {
      try {
        const result = onClose(key, value, range)
        if (result instanceof Promise) this.#track(result, 'onWindowClose', partition)
      } catch (err) {
        this.#callbackFailed('onWindowClose', err, partition)
      }
    }
    const result: ClosedWindow<K, V> = { key, start: range[0], end: range[1], value }
    const timestamp = Math.round(this.window.endOf(range) * 1000)
    if (this.#options.emitTo !== undefined) this.#track(this.#options.emitTo.send({ key, value: result, timestamp }), 'emitTo', partition)
    if (this.#closed !== undefined) this.#track(this.#closed.send({ key, value: result, timestamp }), 'closed()', partition)
  }

  #track(promise: Promise<unknown>, what: string, partition: number): void {
    const tracked = promise.then(
      () => {},
      (err: unknown) => this.#callbackFailed(what, err, partition),
    )
    this.#pending.add(tracked)
    void tracked.finally(() => this.#pending.delete(tracked))
  }

  #callbackFailed(what: string, err: unknown, partition: number): void {
    this.stats.callbackErrors += 1
    this.table.app.log.error({ err, table: this.table.name, partition }, `windowed table ${this.table.name}[${partition}]: ${what} failed: ${describeError(err)}`)
  }

  /** Wait for close callbacks, emits and late-event dead-letters in flight (before each commit). */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending])
  }

  countOpen(): number {
    let n = 0
    for (const state of this.#partitions.values()) if (state.active) for (const e of state.windows.values()) if (!e.closed) n += 1
    return n
  }

  // --- updates ---------------------------------------------------------------------------------

  #state(partition: number): PartitionWindows {
    const state = this.#partitions.get(partition)
    if (state === undefined || !state.active) {
      throw new TableOutsideStream(`table ${this.table.name}: partition ${partition} is not active on this worker`, { table: this.table.name, partition })
    }
    return state
  }

  #isClosed(state: PartitionWindows, range: WindowRange): boolean {
    return this.window.endOf(range) + this.grace <= state.watermark
  }

  /** Apply fn to the key's value in every window containing time t; returns the value of the latest one. */
  update(key: K, t: number, fn: (current: V | undefined) => V | undefined): V | undefined {
    if (this.window.kind === 'session') return this.#updateSession(key, t, fn)
    const keyJson = this.keyJson(key)
    const ranges = this.window.ranges(t)
    let last: V | undefined
    let applied = 0
    const advanced = new Set<number>()
    for (const range of ranges) {
      const rangeJson = this.rangeJson(range)
      const keyBytes = this.storeKey(keyJson, rangeJson)
      const partition = this.table.partitionForWrite(keyBytes)
      const state = this.#state(partition)
      if (!advanced.has(partition)) {
        advanced.add(partition)
        this.#advance(state, partition, t)
      }
      if (this.#isClosed(state, range)) {
        this.stats.lateWindows += 1
        continue
      }
      applied += 1
      const bytes = this.table.stores().get(partition)?.get(keyBytes)
      const next = fn(bytes === undefined ? undefined : this.table.decodeValue(bytes))
      last = next
      const entry = this.#entry(state, keyJson, range)
      if (next === undefined) {
        this.#write(partition, keyBytes, null, t)
        this.#forget(state, entry, keyJson)
      } else {
        this.#write(partition, keyBytes, this.table.encodeValue(next), t)
        entry.keys.add(keyJson)
      }
    }
    if (applied === 0 && ranges.length > 0) this.#late(key, t)
    return last
  }

  #updateSession(key: K, t: number, fn: (current: V | undefined) => V | undefined): V | undefined {
    const gap = (this.window as SessionWindow).gap
    const keyJson = this.keyJson(key)
    const probe = this.storeKey(keyJson, this.rangeJson([t, t]))
    const partition = this.table.partitionForWrite(probe)
    const state = this.#state(partition)
    this.#advance(state, partition, t)
    if (this.#isClosed(state, [t, t])) {
      this.#late(key, t)
      return undefined
    }
    const store = this.table.stores().get(partition)
    let start = t
    let end = t
    let merged: V | undefined
    for (const session of [...(state.sessions.get(keyJson) ?? [])]) {
      if (session.closed || !(session.range[0] - gap < t && t < session.range[1] + gap)) continue
      const keyBytes = this.storeKey(keyJson, session.rangeJson)
      const bytes = store?.get(keyBytes)
      if (bytes !== undefined) {
        const value = this.table.decodeValue(bytes)
        merged = merged === undefined ? value : this.#merge!(merged, value)
      }
      start = Math.min(start, session.range[0])
      end = Math.max(end, session.range[1])
      this.#write(partition, keyBytes, null, t)
      this.#forget(state, session, keyJson)
    }
    const next = fn(merged)
    if (next === undefined) return undefined
    const entry = this.#entry(state, keyJson, [start, end])
    this.#write(partition, this.storeKey(keyJson, entry.rangeJson), this.table.encodeValue(next), t)
    entry.keys.add(keyJson)
    return next
  }

  #late(key: K, t: number): void {
    this.stats.late += 1
    const event = currentEvent()
    const where = event === undefined ? {} : { topic: event.topic, partition: event.partition, offset: event.offset }
    const error = new LateEvent(
      `table ${this.table.name}: event at ${new Date(t * 1000).toISOString()} for key ${this.keyJson(key)} is past its windows' grace (${this.grace} s)`,
      { table: this.table.name, ...where },
    )
    const log = this.table.app.log
    // Every late event is counted; the log says so for the first and then every 1000th.
    if (this.stats.late === 1 || this.stats.late % 1000 === 0) log.warn({ ...error.context(), late: this.stats.late }, `${error.message} (${this.stats.late} late so far)`)
    if (this.#options.lateEvents === 'dlq' && event !== undefined) {
      this.#track(this.table.app.deadLetter(event.message, error, this.#options.lateTopic, event.value), 'dead-lettering a late event', event.partition)
    }
  }

  // --- reads -----------------------------------------------------------------------------------

  /** The value of key in the window `range` (undefined when it has none). */
  read(key: K, range: WindowRange): V | undefined {
    const bytes = this.table.lookup(this.storeKey(this.keyJson(key), this.rangeJson(range)))
    return bytes === undefined ? undefined : this.table.decodeValue(bytes)
  }

  /**
   * The value of key in the window of time t: for fixed windows the latest window containing t
   * (or the earliest: Faust's now()), for sessions the session containing t.
   */
  readAt(key: K, t: number, pick: 'current' | 'earliest' = 'current'): V | undefined {
    if (this.window.kind !== 'session') return this.read(key, pick === 'current' ? this.window.current(t) : this.window.earliest(t))
    const keyJson = this.keyJson(key)
    const gap = (this.window as SessionWindow).gap
    for (const [, state] of this.#readable()) {
      const session = state.sessions.get(keyJson)?.find((s) => s.range[0] <= t && t < s.range[1] + gap)
      if (session !== undefined) return this.read(key, session.range)
    }
    return undefined
  }

  /** Partitions to read: the current event's when inside an agent (co-partitioned), else every active one. */
  *#readable(): Iterable<[number, PartitionWindows]> {
    const event = currentEvent()
    const own = event === undefined || this.table.usePartitioner ? undefined : this.#partitions.get(event.partition)
    if (own !== undefined) {
      yield [event!.partition, own]
      return
    }
    for (const [p, state] of [...this.#partitions].sort((a, b) => a[0] - b[0])) if (state.active) yield [p, state]
  }

  /** Every key with a value in the window of time t (picked as in readAt), and the value. */
  *itemsAt(t: number, pick: 'current' | 'earliest' = 'current'): IterableIterator<[K, V]> {
    const gap = this.window.kind === 'session' ? (this.window as SessionWindow).gap : 0
    const wanted = this.window.kind === 'session' ? undefined : this.rangeJson(pick === 'current' ? this.window.current(t) : this.window.earliest(t))
    for (const [p, state] of this.#readable()) {
      const store = this.table.stores().get(p)
      if (store === undefined) continue
      const entries =
        wanted === undefined
          ? [...state.windows.values()].filter((e) => e.range[0] <= t && t < e.range[1] + gap)
          : [state.windows.get(wanted)].filter((e) => e !== undefined)
      for (const entry of entries) {
        for (const keyJson of entry.keys) {
          const bytes = store.get(this.storeKey(keyJson, entry.rangeJson))
          if (bytes !== undefined) yield [this.decodeKey(keyJson), this.table.decodeValue(bytes)]
        }
      }
    }
  }

  /** The key's values in every window a partition holds (active or standby), oldest first. */
  windowsOf(key: K, partition: number): Array<{ start: number; end: number; value: V; closed: boolean }> {
    const state = this.#partitions.get(partition)
    const store = this.table.stores().get(partition)
    if (state === undefined || store === undefined) return []
    const keyJson = this.keyJson(key)
    const out: Array<{ start: number; end: number; value: V; closed: boolean }> = []
    for (const entry of state.windows.values()) {
      if (!entry.keys.has(keyJson)) continue
      const bytes = store.get(this.storeKey(keyJson, entry.rangeJson))
      if (bytes !== undefined) out.push({ start: entry.range[0], end: entry.range[1], value: this.table.decodeValue(bytes), closed: entry.closed })
    }
    return out.sort((a, b) => a.start - b.start || a.end - b.end)
  }

  /** The windows held in the active partitions, oldest first. */
  windows(): Array<{ start: number; end: number; keys: number; closed: boolean }> {
    const out = new Map<string, { start: number; end: number; keys: number; closed: boolean }>()
    for (const state of this.#partitions.values()) {
      if (!state.active) continue
      for (const entry of state.windows.values()) {
        const seen = out.get(entry.rangeJson)
        if (seen === undefined) out.set(entry.rangeJson, { start: entry.range[0], end: entry.range[1], keys: entry.keys.size, closed: entry.closed })
        else seen.keys += entry.keys.size
      }
    }
    return [...out.values()].sort((a, b) => a.start - b.start || a.end - b.end)
  }

  /** Store keys an incoming record will touch (for async stores' prefetch). */
  prefetchKeys(key: K, timestampMs: number): Buffer[] {
    if (this.window.kind === 'session') return []
    const keyJson = this.keyJson(key)
    return this.window.ranges(timestampMs / 1000).map((r) => this.storeKey(keyJson, this.rangeJson(r)))
  }
}

/** Seconds of an event's time reference value (a Date, seconds since the epoch, or an ISO string). */
function secondsOf(value: unknown, what: string): number {
  if (value instanceof Date) return value.getTime() / 1000
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string') {
    const ms = Date.parse(value)
    if (Number.isFinite(ms)) return ms / 1000
  }
  throw new ValidationError(`${what} is not a time (a Date, seconds since the epoch or an ISO 8601 string): ${JSON.stringify(value)}`, [])
}

/**
 * A windowed table as the agent uses it: Faust's WindowWrapper. Its time reference (the event's
 * time by default) decides which windows an update or a read means.
 */
export class WindowedTable<K = unknown, V = unknown> {
  readonly windowing: Windowing<K, V>
  readonly #timeOf: TimeOf

  constructor(windowing: Windowing<K, V>, timeOf?: TimeOf) {
    this.windowing = windowing
    this.#timeOf = timeOf ?? ((event) => streamTime(this.windowing.table.app.clock, event))
  }

  get name(): string {
    return this.windowing.table.name
  }

  get table(): Table<K, V> {
    return this.windowing.table
  }

  get stats(): WindowStats {
    return { ...this.windowing.stats, open: this.windowing.countOpen() }
  }

  /** The time (seconds) this view uses now: the current event's (or the wall clock outside agents). */
  timestamp(event: Event | undefined = currentEvent()): number {
    return this.#timeOf(event)
  }

  /** Windows follow the event's timestamp (the default). */
  relativeToStream(): WindowedTable<K, V> {
    return new WindowedTable(this.windowing)
  }

  /** Windows follow the wall clock (the app's clock). */
  relativeToNow(): WindowedTable<K, V> {
    return new WindowedTable(this.windowing, () => this.windowing.table.app.clock.now() / 1000)
  }

  /**
   * Windows follow a field of the event's value: a record field (`PageView.field('at')`), a field
   * name, or a function of the value. The field holds a Date, seconds since the epoch (as in Faust)
   * or an ISO 8601 string.
   */
  relativeToField(field: string | FieldRef | ((value: unknown) => unknown)): WindowedTable<K, V> {
    const read =
      typeof field === 'string'
        ? (value: unknown) => (value as Record<string, unknown> | null)?.[field]
        : isFieldRef(field)
          ? (value: unknown) => field.get(value as never)
          : field
    const label = typeof field === 'string' ? `field ${field}` : isFieldRef(field) ? `field ${field.label}` : 'the time field'
    return new WindowedTable(this.windowing, (event) => {
      if (event === undefined) {
        throw new TableOutsideStream(`table ${this.name}: a window relative to a field needs an event (use it inside an agent)`, { table: this.name })
      }
      return secondsOf(read(event.value), `${label} of ${event.topic}[${event.partition}]@${event.offset}`)
    })
  }

  /** The key's windows (Faust's WindowSet). */
  get(key: K): WindowSet<K, V> {
    return new WindowSet(this, key)
  }

  /** Set the key's value in every window containing the current time. */
  set(key: K, value: V): void {
    this.windowing.update(key, this.timestamp(), () => value)
  }

  /** Apply fn to the key's value (or the default) in every window containing the current time; returns the latest window's new value. */
  update(key: K, fn: (current: V) => V): V {
    return this.windowing.update(key, this.timestamp(), (current) => fn(current ?? this.#default())) as V
  }

  /** Remove the key from every window containing the current time. */
  delete(key: K): void {
    this.windowing.update(key, this.timestamp(), () => undefined)
  }

  #default(): V {
    return this.windowing.table.defaultValue()
  }

  /** The key's value in the latest window containing time t (seconds), or the default. */
  valueAt(key: K, t: number): V {
    return this.windowing.readAt(key, t) ?? this.#default()
  }

  /** Keys and values of the current window. */
  items(): IterableIterator<[K, V]> {
    return this.windowing.itemsAt(this.timestamp())
  }

  keys(): K[] {
    return [...this.items()].map(([k]) => k)
  }

  /** Keys and values of the earliest window containing the wall clock's time (as Faust's items().now()). */
  itemsNow(): IterableIterator<[K, V]> {
    return this.windowing.itemsAt(this.windowing.table.app.clock.now() / 1000, 'earliest')
  }

  /** Keys and values of the window `d` seconds before the event's time (the clock's outside agents). */
  itemsDelta(d: number): IterableIterator<[K, V]> {
    return this.windowing.itemsAt(streamTime(this.windowing.table.app.clock, currentEvent()) - d)
  }

  /** The windows held here (active partitions), oldest first. */
  windows(): Array<{ start: number; end: number; keys: number; closed: boolean }> {
    return this.windowing.windows()
  }

  /** A channel receiving every closed window's result; consume it with an agent (emit-final). */
  closed(): Channel<K, ClosedWindow<K, V>> {
    return this.windowing.closed()
  }
}

/** The event's time in seconds (the wall clock outside agents). */
function streamTime(clock: ClockT, event: Event | undefined): number {
  return event === undefined ? clock.now() / 1000 : event.timestamp / 1000
}

/** One key of a windowed table (Faust's WindowSet). */
export class WindowSet<K, V> {
  readonly view: WindowedTable<K, V>
  readonly key: K

  constructor(view: WindowedTable<K, V>, key: K) {
    this.view = view
    this.key = key
  }

  /** The value in the window of the view's time (the event's, by default). */
  value(event?: Event): V {
    return this.view.valueAt(this.key, this.view.timestamp(event ?? currentEvent()))
  }

  /** The value in the window of the event's own time (stream time), whatever the view's reference. */
  current(event?: Event): V {
    return this.view.valueAt(this.key, streamTime(this.view.table.app.clock, event ?? currentEvent()))
  }

  /** The value in the earliest window containing the wall clock's time (as Faust: for hopping windows, the one that began longest ago). */
  now(): V {
    return this.view.windowing.readAt(this.key, this.view.table.app.clock.now() / 1000, 'earliest') ?? this.view.table.defaultValue()
  }

  /** The value in the window `d` seconds before the event's time (stream time). */
  delta(d: number, event?: Event): V {
    return this.view.valueAt(this.key, streamTime(this.view.table.app.clock, event ?? currentEvent()) - d)
  }

  /** Apply fn in every window containing the view's time. */
  update(fn: (current: V) => V): V {
    return this.view.update(this.key, fn)
  }

  set(value: V): void {
    this.view.set(this.key, value)
  }
}
