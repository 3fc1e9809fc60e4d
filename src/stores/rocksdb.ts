/**
 * `rocksdb://`: a table partition in RocksDB (rocksdb-native), behind the same synchronous
 * `StoreT` API as `lmdb://`. The design and its measured cost are in
 * docs/decisions/0005-rocksdb-store.md; in short:
 *
 * rocksdb-native is async only, so a worker thread (src/stores/rocksdb-worker.ts, one per
 * thread that opens stores, shared by its stores) owns the databases, and a `get()` reads, in order:
 *
 * 1. the **write-behind overlay**: every write not yet committed (the current cycle, then the
 *    cycles being committed), so a table reads its own writes and deletes;
 * 2. an **LRU** of values (and of "absent"), `?cache=N` entries (default 100,000, 0 disables it;
 *    approximate, in two generations: the N/2 most recently used are always kept);
 * 3. a **blocking round trip** to the worker: the request goes through a SharedArrayBuffer and the
 *    main thread waits in `Atomics.wait` (with a timeout, `?timeout=ms`, default 30 s) until the
 *    worker answers through the same memory. ~75–90 µs on a 2-vCPU VM, against ~2 µs for lmdb.
 *
 * `prefetch(keys)` reads every key not in the overlay or the LRU in one batched, awaited read and
 * fills the LRU, so a table can warm a fetched batch's keys before the agent runs.
 *
 * Writes go into the overlay and are staged to the worker in chunks of `?batch=N` (default 1000)
 * into an open RocksDB write batch; nothing reaches the database until `flush()`, which commits the
 * staged writes, the rest of the overlay, the persisted changelog offset and the exact key count
 * in one atomic RocksDB write batch. So, as with lmdb, the data on disk and its offset always agree.
 * Durability: rocksdb-native writes the WAL without fsync (like `lmdb://` with `noSync`), so a
 * commit survives a process crash but maybe not a power loss; the changelog is the durable copy.
 *
 * `size()` is exact: the count is stored with each commit (counted by iterating once at open only
 * when a database has no stored count) and adjusted by each commit; a key whose previous existence
 * the store does not know (not cached) is checked by the worker, off the main thread, at commit.
 * @module
 */
import { Worker } from 'node:worker_threads'
import { ImproperlyConfigured } from '../errors.ts'
import type { ChangelogEntry, StoreT } from '../types/stores.ts'
import {
  CTL,
  DATA_INITIAL_BYTES,
  DATA_MAX_BYTES,
  DATA_PREFIX,
  ERROR_BYTES,
  EXISTED_NO,
  EXISTED_UNKNOWN,
  EXISTED_YES,
  FLAG_TOMBSTONE,
  OP,
  STATE,
  type WorkerData,
  type WorkerReply,
  type WorkerRequest,
} from './rocksdb-worker.ts'

const TOMBSTONE: unique symbol = Symbol('faust.store.tombstone')
type Tombstone = typeof TOMBSTONE

/** Entries fetched per blocking round trip by `entries()` (also bounded by the 1 MiB+ shared buffer). */
const ITER_CHUNK = 4096

export interface RocksDBOptions {
  /** LRU size in entries (0: no cache). */
  cache: number
  /** Writes per chunk staged to the worker. */
  batch: number
  /** How long a blocking read waits for the worker before the store fails, in ms. */
  timeoutMs: number
}

/** Options from the URL's query: `rocksdb://?cache=100000&batch=1000&timeout=30000`. */
export function parseRocksDBUrl(url: string): RocksDBOptions {
  const options: RocksDBOptions = { cache: 100_000, batch: 1000, timeoutMs: 30_000 }
  const q = url.indexOf('?')
  if (q < 0) return options
  for (const [name, raw] of new URLSearchParams(url.slice(q + 1))) {
    if (name !== 'cache' && name !== 'batch' && name !== 'timeout') {
      throw new ImproperlyConfigured(`${url}: unknown option ${name} (cache, batch, timeout)`)
    }
    const n = Number(raw)
    const valid = raw !== '' && Number.isInteger(n) && n >= (name === 'cache' ? 0 : 1)
    if (!valid) throw new ImproperlyConfigured(`${url}: ${name} must be an integer${name === 'cache' ? ' ≥ 0' : ' ≥ 1'}, got ${raw}`)
    if (name === 'cache') options.cache = n
    else if (name === 'batch') options.batch = n
    else options.timeoutMs = n
  }
  return options
}

/** The worker and its shared memory; one per thread, shared by the stores that thread opens. */
class Bridge {
  static #current: Bridge | undefined

  static acquire(): Bridge {
    if (Bridge.#current === undefined || Bridge.#current.dead !== undefined) Bridge.#current = new Bridge()
    Bridge.#current.#refs += 1
    return Bridge.#current
  }

  readonly ctl: Int32Array
  readonly dataBuffer: SharedArrayBuffer
  /** Length-tracking view of the shared data area (follows grow()). */
  readonly data: Uint8Array
  readonly #err: SharedArrayBuffer
  readonly #worker: Worker
  readonly #pending = new Map<number, { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void }>()
  #nextId = 0
  #nextStore = 0
  #refs = 0
  dead: Error | undefined

  private constructor() {
    const ctl = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * CTL.SIZE)
    this.ctl = new Int32Array(ctl)
    this.dataBuffer = new SharedArrayBuffer(DATA_INITIAL_BYTES, { maxByteLength: DATA_MAX_BYTES })
    this.data = new Uint8Array(this.dataBuffer)
    this.#err = new SharedArrayBuffer(ERROR_BYTES)
    // Run as .ts from the sources (Node strips the types) and as .js from the build.
    const file = import.meta.url.endsWith('.ts') ? './rocksdb-worker.ts' : './rocksdb-worker.js'
    const workerData: WorkerData = { faustRocksdb: true, ctl, data: this.dataBuffer, err: this.#err }
    this.#worker = new Worker(new URL(file, import.meta.url), { workerData, name: 'faust-rocksdb' })
    this.#worker.unref() // referenced only while an async request is pending
    this.#worker.on('message', (reply: WorkerReply) => this.#settle(reply))
    this.#worker.on('error', (err) => this.#kill(new Error(`rocksdb worker failed: ${err.message}`, { cause: err })))
    this.#worker.on('exit', (code) => this.#kill(new Error(`rocksdb worker exited (code ${code})`)))
  }

  newStoreId(): number {
    return ++this.#nextStore
  }

  /** Grow the shared data area to at least `bytes`. */
  ensure(bytes: number): void {
    if (bytes <= this.dataBuffer.byteLength) return
    if (bytes > DATA_MAX_BYTES) throw new Error(`rocksdb store: a request of ${bytes} bytes exceeds ${DATA_MAX_BYTES}`)
    this.dataBuffer.grow(Math.min(DATA_MAX_BYTES, Math.max(bytes, this.dataBuffer.byteLength * 2)))
  }

  /**
   * A blocking call: the request is already in `data`. Returns `STATUS`. The worker answers
   * through the shared memory only; if it dies meanwhile its exit handler sets `DEAD`, and if it
   * stops answering the timeout ends the wait (the worker is then terminated).
   */
  call(op: number, store: number, len: number, aux: number, timeoutMs: number): number {
    if (this.dead !== undefined) throw this.dead
    const ctl = this.ctl
    Atomics.store(ctl, CTL.OP, op)
    Atomics.store(ctl, CTL.STORE, store)
    Atomics.store(ctl, CTL.LEN, len)
    Atomics.store(ctl, CTL.AUX, aux)
    if (Atomics.compareExchange(ctl, CTL.STATE, STATE.IDLE, STATE.REQ) !== STATE.IDLE) {
      throw this.#kill(new Error(this.#errorText() || 'rocksdb worker is gone'))
    }
    Atomics.add(ctl, CTL.WAKE, 1)
    Atomics.notify(ctl, CTL.WAKE)
    const deadline = Date.now() + timeoutMs
    let state: number
    while ((state = Atomics.load(ctl, CTL.STATE)) === STATE.REQ) {
      const left = deadline - Date.now()
      if (left <= 0) throw this.#kill(new Error(`rocksdb worker did not answer within ${timeoutMs} ms`))
      Atomics.wait(ctl, CTL.STATE, STATE.REQ, left)
    }
    if (state === STATE.DONE) {
      const status = Atomics.load(ctl, CTL.STATUS)
      Atomics.store(ctl, CTL.STATE, STATE.IDLE)
      return status
    }
    if (state === STATE.ERROR) {
      const message = this.#errorText()
      Atomics.store(ctl, CTL.STATE, STATE.IDLE)
      throw new Error(`rocksdb: ${message}`)
    }
    throw this.#kill(new Error(this.#errorText() || 'rocksdb worker exited'))
  }

  /** An async request answered by postMessage. */
  request(build: (id: number) => WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply & { ok: true }> {
    if (this.dead !== undefined) return Promise.reject(this.dead)
    const id = ++this.#nextId
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      if (this.#pending.size === 1) this.#worker.ref()
      this.#worker.postMessage(build(id), transfer)
    })
  }

  /** A message without an answer (staged writes; a failure surfaces at the next commit). */
  post(message: WorkerRequest, transfer: ArrayBuffer[]): void {
    if (this.dead === undefined) this.#worker.postMessage(message, transfer)
  }

  /** Drop a reference; the last one terminates the worker (every store has closed its database). */
  async release(): Promise<void> {
    this.#refs -= 1
    if (this.#refs > 0) return
    if (Bridge.#current === this) Bridge.#current = undefined
    this.dead ??= new Error('rocksdb worker was stopped')
    await this.#worker.terminate()
  }

  /** Tests: make the worker crash or stop answering. */
  fault(kind: 'crash' | 'hang', ms: number, timeoutMs: number): void {
    this.call(kind === 'crash' ? OP.CRASH : OP.HANG, 0, 0, ms, timeoutMs)
  }

  #settle(reply: WorkerReply): void {
    const pending = this.#pending.get(reply.id)
    if (pending === undefined) return
    this.#pending.delete(reply.id)
    if (this.#pending.size === 0) this.#worker.unref()
    if (reply.ok) pending.resolve(reply)
    else pending.reject(new Error(`rocksdb: ${reply.error}`))
  }

  #errorText(): string {
    const len = Math.min(ERROR_BYTES, Atomics.load(this.ctl, CTL.ERRLEN))
    return Buffer.from(this.#err, 0, len).toString('utf8')
  }

  /** Mark the bridge dead (first error wins), fail pending requests, stop the worker. */
  #kill(err: Error): Error {
    this.dead ??= err
    if (Bridge.#current === this) Bridge.#current = undefined
    for (const { reject } of this.#pending.values()) reject(this.dead)
    this.#pending.clear()
    this.#worker.terminate().catch(() => {})
    return this.dead
  }
}

/**
 * An approximate LRU in two generations (as quick-lru): entries go into `young`; when it holds
 * max/2, it becomes `old` and the previous `old` is dropped; a hit in `old` moves the entry back
 * to `young`. So the max/2 most recently used entries are always kept, at most `max` are held, and
 * nothing is ever iterated (a Map used as an LRU, evicting with `keys().next()`, slows down as
 * deleted slots pile up at its front: 11 µs per set was measured here with 100k entries).
 */
class Lru<V> {
  readonly max: number
  readonly #generation: number
  #young = new Map<string, V>()
  #old = new Map<string, V>()

  constructor(max: number) {
    this.max = max
    this.#generation = Math.max(1, Math.ceil(max / 2))
  }

  get size(): number {
    return this.#young.size + this.#old.size
  }

  get(key: string): V | undefined {
    const v = this.#young.get(key)
    if (v !== undefined) return v
    const old = this.#old.get(key)
    if (old !== undefined) {
      this.#old.delete(key)
      this.#add(key, old)
    }
    return old
  }

  peek(key: string): V | undefined {
    return this.#young.get(key) ?? this.#old.get(key)
  }

  set(key: string, value: V): void {
    if (this.max === 0) return
    if (this.#young.has(key)) this.#young.set(key, value)
    else {
      this.#old.delete(key)
      this.#add(key, value)
    }
  }

  clear(): void {
    this.#young = new Map()
    this.#old = new Map()
  }

  #add(key: string, value: V): void {
    this.#young.set(key, value)
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young
      this.#young = new Map()
    }
  }
}

/** A write not committed yet, and whether its key existed in the database before the cycle. */
interface PendingWrite {
  value: Buffer | Tombstone
  existed: number
}

/** A cycle of writes sent for commit, kept for reads until the worker has applied it. */
interface Committing {
  map: Map<string, PendingWrite>
  /** Count change, when every key's previous existence is known. */
  delta: number | undefined
}

export interface RocksDBStats {
  /** Blocking round trips to the worker (reads that missed, entries() chunks, size()). */
  roundTrips: number
  cacheHits: number
  overlayHits: number
  /** Keys read by prefetch(). */
  prefetched: number
  cached: number
}

export class RocksDBStore implements StoreT {
  readonly url: string
  readonly path: string
  readonly options: RocksDBOptions
  #bridge: Bridge | undefined
  #id = 0
  /** Writes since the last flush (latin1 key → write). */
  #cycle = new Map<string, PendingWrite>()
  /** Keys of the cycle written since the last chunk was staged. */
  #unstaged = new Set<string>()
  #cycleUnknown = 0
  #committing: Committing[] = []
  #cache: Lru<Buffer | Tombstone>
  #offset: number | undefined
  #sentOffset: number | undefined
  #committedCount = 0
  #opSeq = 0
  #epoch = 0
  #lastCommit: Promise<void> = Promise.resolve()
  #prefetching = 0
  /** Keys written while a prefetch is in flight (its answer for them may be stale). */
  #touched: Set<string> | undefined
  #failure: Error | undefined
  #stats = { roundTrips: 0, cacheHits: 0, overlayHits: 0, prefetched: 0 }

  constructor(url: string, path: string) {
    this.url = url
    this.path = path
    this.options = parseRocksDBUrl(url)
    this.#cache = new Lru(this.options.cache)
  }

  stats(): RocksDBStats {
    return { ...this.#stats, cached: this.#cache.size }
  }

  async open(): Promise<void> {
    if (this.#bridge !== undefined) return
    const bridge = Bridge.acquire()
    const id = bridge.newStoreId()
    try {
      const reply = await bridge.request((rid) => ({ op: 'open', id: rid, store: id, path: this.path }))
      this.#offset = reply.offset ?? undefined
      this.#sentOffset = this.#offset
      this.#committedCount = reply.count ?? 0
    } catch (err) {
      await bridge.release()
      throw err
    }
    this.#bridge = bridge
    this.#id = id
    this.#failure = undefined
  }

  async close(): Promise<void> {
    const bridge = this.#bridge
    if (bridge === undefined) return
    const dirty = this.#cycle.size > 0 || this.#committing.length > 0 || this.#offset !== this.#sentOffset
    let error: unknown
    try {
      await this.flush()
    } catch (err) {
      if (dirty) error = err // writes are lost: say so; otherwise closing a failed store is quiet
    }
    if (bridge.dead === undefined) {
      try {
        await bridge.request((id) => ({ op: 'close', id, store: this.#id }))
      } catch (err) {
        error ??= err
      }
    }
    this.#bridge = undefined
    this.#epoch += 1
    this.#cycle = new Map()
    this.#unstaged.clear()
    this.#cycleUnknown = 0
    this.#committing = []
    this.#cache.clear()
    await bridge.release()
    if (error !== undefined) throw error
  }

  get(key: Buffer): Buffer | undefined {
    const s = key.toString('latin1')
    const pending = this.#pendingValue(s)
    if (pending !== undefined) {
      this.#stats.overlayHits += 1
      return pending === TOMBSTONE ? undefined : pending
    }
    const cached = this.#cache.get(s)
    if (cached !== undefined) {
      this.#stats.cacheHits += 1
      return cached === TOMBSTONE ? undefined : cached
    }
    return this.#read(key, s)
  }

  has(key: Buffer): boolean {
    return this.get(key) !== undefined
  }

  set(key: Buffer, value: Buffer): void {
    this.#write(key.toString('latin1'), value)
  }

  delete(key: Buffer): void {
    this.#write(key.toString('latin1'), TOMBSTONE)
  }

  *entries(): IterableIterator<[Buffer, Buffer]> {
    this.#live()
    // The overlay as of now, in key order, merged into the database's ordered range.
    const overlay = new Map<string, Buffer | Tombstone>()
    for (const c of this.#committing) for (const [k, w] of c.map) overlay.set(k, w.value)
    for (const [k, w] of this.#cycle) overlay.set(k, w.value)
    const pending = [...overlay.keys()].map((k) => Buffer.from(k, 'latin1')).sort((a, b) => Buffer.compare(a, b))
    let i = 0
    const pendingEntry = (key: Buffer): [Buffer, Buffer] | undefined => {
      const v = overlay.get(key.toString('latin1'))
      return v === undefined || v === TOMBSTONE ? undefined : [key, v]
    }
    for (const [key, value] of this.#databaseEntries()) {
      let cmp = -1
      while (i < pending.length && (cmp = Buffer.compare(pending[i]!, key)) < 0) {
        const e = pendingEntry(pending[i++]!)
        if (e !== undefined) yield e
      }
      if (i < pending.length && cmp === 0) {
        const e = pendingEntry(pending[i++]!)
        if (e !== undefined) yield e
        continue
      }
      yield [key, value]
    }
    while (i < pending.length) {
      const e = pendingEntry(pending[i++]!)
      if (e !== undefined) yield e
    }
  }

  size(): number {
    const bridge = this.#live()
    if (this.#cycleUnknown === 0 && this.#committing.every((c) => c.delta !== undefined)) {
      let n = this.#committedCount + this.#cycleDelta()
      for (const c of this.#committing) n += c.delta!
      return n
    }
    // Some key's previous existence is unknown: one blocking round trip, after the worker has
    // applied every commit sent, returns the committed count and whether those keys exist.
    const unknown = [...this.#cycle].filter(([, w]) => w.existed === EXISTED_UNKNOWN)
    let bytes = 4
    for (const [k] of unknown) bytes += 5 + k.length
    bridge.ensure(bytes)
    const view = Buffer.from(bridge.dataBuffer, 0, bridge.dataBuffer.byteLength)
    view.writeUInt32LE(unknown.length, 0)
    let o = 4
    for (const [k] of unknown) {
      view.writeUInt32LE(k.length + 1, o)
      view[o + 4] = DATA_PREFIX
      o += 5 + view.write(k, o + 5, 'latin1')
    }
    const count = this.#call(OP.SIZE, o, this.#opSeq)
    unknown.forEach(([, w], i) => (w.existed = bridge.data[i] === 1 ? EXISTED_YES : EXISTED_NO))
    this.#cycleUnknown = 0
    return count + this.#cycleDelta()
  }

  persistedOffset(): number | undefined {
    return this.#offset
  }

  setPersistedOffset(offset: number): void {
    if (this.#offset === undefined || offset > this.#offset) this.#offset = offset
  }

  applyChangelog(entries: ChangelogEntry[]): void {
    for (const e of entries) {
      if (e.value === null) this.delete(e.key)
      else this.set(e.key, e.value)
      this.setPersistedOffset(e.offset)
    }
  }

  async flush(): Promise<void> {
    if (this.#bridge === undefined) return
    const bridge = this.#live()
    if (this.#cycle.size === 0 && this.#offset === this.#sentOffset) {
      await this.#lastCommit
      if (this.#failure !== undefined) throw this.#failure
      return
    }
    const map = this.#cycle
    const committing: Committing = { map, delta: this.#cycleUnknown === 0 ? this.#cycleDelta() : undefined }
    const chunk = this.#encodeChunk()
    const offset = this.#offset
    this.#cycle = new Map()
    this.#cycleUnknown = 0
    this.#sentOffset = offset
    this.#committing.push(committing)
    const seq = ++this.#opSeq
    const epoch = this.#epoch
    const done = bridge
      .request((id) => ({ op: 'commit', id, store: this.#id, seq, buf: chunk, offset: offset ?? null }), [chunk])
      .then(
        (reply) => {
          if (epoch !== this.#epoch) return
          this.#committedCount = reply.count ?? this.#committedCount
          this.#committing = this.#committing.filter((c) => c !== committing)
        },
        (err: unknown) => {
          // The cycle stays in the overlay (reads stay right), but the store cannot go on.
          this.#failure ??= err instanceof Error ? err : new Error(String(err))
          throw this.#failure
        },
      )
    this.#lastCommit = done.catch(() => {})
    await done
  }

  async reset(): Promise<void> {
    this.#epoch += 1
    this.#cycle = new Map()
    this.#unstaged.clear()
    this.#cycleUnknown = 0
    this.#committing = []
    this.#cache.clear()
    this.#offset = undefined
    this.#sentOffset = undefined
    this.#committedCount = 0
    const bridge = this.#bridge
    if (bridge === undefined) return
    const seq = ++this.#opSeq
    await bridge.request((id) => ({ op: 'reset', id, store: this.#id, seq }))
    this.#cache.clear() // anything read while the reset was in flight may predate it
    this.#failure = undefined
  }

  async prefetch(keys: Buffer[]): Promise<void> {
    const bridge = this.#live()
    const wanted: string[] = []
    const seen = new Set<string>()
    let bytes = 0
    for (const key of keys) {
      const s = key.toString('latin1')
      if (seen.has(s) || this.#pendingValue(s) !== undefined || this.#cache.peek(s) !== undefined) continue
      seen.add(s)
      wanted.push(s)
      bytes += 5 + key.length
    }
    if (wanted.length === 0) return
    const buf = Buffer.from(new ArrayBuffer(bytes))
    let o = 0
    for (const s of wanted) {
      buf.writeUInt32LE(s.length + 1, o)
      buf[o + 4] = DATA_PREFIX
      o += 5 + buf.write(s, o + 5, 'latin1')
    }
    const epoch = this.#epoch
    this.#prefetching += 1
    this.#touched ??= new Set()
    try {
      const reply = await bridge.request(
        (id) => ({ op: 'prefetch', id, store: this.#id, buf: buf.buffer as ArrayBuffer, n: wanted.length }),
        [buf.buffer as ArrayBuffer],
      )
      if (epoch !== this.#epoch || reply.buf === undefined) return
      const values = Buffer.from(reply.buf)
      const touched = this.#touched
      o = 0
      for (const s of wanted) {
        const len = values.readInt32LE(o)
        o += 4
        const value = len < 0 ? TOMBSTONE : Buffer.copyBytesFrom(values, o, len)
        if (len > 0) o += len
        // Skip keys written since the request left (the answer may predate the write) or cached since.
        if (touched?.has(s) === true || this.#pendingValue(s) !== undefined || this.#cache.peek(s) !== undefined) continue
        this.#cache.set(s, value)
      }
      this.#stats.prefetched += wanted.length
    } finally {
      this.#prefetching -= 1
      if (this.#prefetching === 0) this.#touched = undefined
    }
  }

  /** Tests: make the worker crash, or stop answering for `ms`, during a blocking call. */
  injectWorkerFault(kind: 'crash' | 'hang', ms = 0): void {
    this.#live().fault(kind, ms, this.options.timeoutMs)
  }

  // --- internals -----------------------------------------------------------------------------

  #live(): Bridge {
    if (this.#failure !== undefined) throw this.#failure
    const bridge = this.#bridge
    if (bridge === undefined) throw new Error(`rocksdb store ${this.path} is not open`)
    if (bridge.dead !== undefined) throw (this.#failure = bridge.dead)
    return bridge
  }

  #call(op: number, len: number, aux: number): number {
    const bridge = this.#live()
    this.#stats.roundTrips += 1
    try {
      return bridge.call(op, this.#id, len, aux, this.options.timeoutMs)
    } catch (err) {
      if (bridge.dead !== undefined) this.#failure ??= bridge.dead
      throw err
    }
  }

  /** The uncommitted value of a key: the current cycle, then the cycles being committed. */
  #pendingValue(s: string): Buffer | Tombstone | undefined {
    const w = this.#cycle.get(s)
    if (w !== undefined) return w.value
    for (let i = this.#committing.length - 1; i >= 0; i--) {
      const c = this.#committing[i]!.map.get(s)
      if (c !== undefined) return c.value
    }
    return undefined
  }

  /** A read that missed the overlay and the cache: block on the worker. */
  #read(key: Buffer, s: string): Buffer | undefined {
    const bridge = this.#live()
    bridge.ensure(key.length + 1)
    const data = bridge.data
    data[0] = DATA_PREFIX
    data.set(key, 1)
    const len = this.#call(OP.GET, key.length + 1, 0)
    const value = len < 0 ? undefined : Buffer.copyBytesFrom(bridge.data, 0, len)
    this.#cache.set(s, value ?? TOMBSTONE)
    return value
  }

  #write(s: string, value: Buffer | Tombstone): void {
    const w = this.#cycle.get(s)
    if (w === undefined) {
      const existed = this.#existedBefore(s)
      if (existed === EXISTED_UNKNOWN) this.#cycleUnknown += 1
      this.#cycle.set(s, { value, existed })
    } else w.value = value
    this.#cache.set(s, value)
    this.#touched?.add(s)
    this.#unstaged.add(s)
    if (this.#unstaged.size >= this.options.batch && this.#bridge !== undefined) {
      const chunk = this.#encodeChunk()
      this.#bridge.post({ op: 'stage', store: this.#id, buf: chunk }, [chunk])
    }
  }

  /** Whether a key not in the current cycle exists in the database once the pending commits land. */
  #existedBefore(s: string): number {
    for (let i = this.#committing.length - 1; i >= 0; i--) {
      const c = this.#committing[i]!.map.get(s)
      if (c !== undefined) return c.value === TOMBSTONE ? EXISTED_NO : EXISTED_YES
    }
    const cached = this.#cache.peek(s)
    if (cached === undefined) return EXISTED_UNKNOWN
    return cached === TOMBSTONE ? EXISTED_NO : EXISTED_YES
  }

  #cycleDelta(): number {
    let d = 0
    for (const w of this.#cycle.values()) d += (w.value === TOMBSTONE ? 0 : 1) - w.existed
    return d
  }

  /** Serialize the unstaged writes: [u8 flags][u32 len][0x01‖key][u32 len][value]… */
  #encodeChunk(): ArrayBuffer {
    let bytes = 0
    for (const s of this.#unstaged) {
      const w = this.#cycle.get(s)!
      bytes += 10 + s.length + (w.value === TOMBSTONE ? 0 : w.value.length)
    }
    const buf = Buffer.from(new ArrayBuffer(bytes))
    let o = 0
    for (const s of this.#unstaged) {
      const w = this.#cycle.get(s)!
      buf[o] = (w.value === TOMBSTONE ? FLAG_TOMBSTONE : 0) | (w.existed << 1)
      buf.writeUInt32LE(s.length + 1, o + 1)
      buf[o + 5] = DATA_PREFIX
      o += 6 + buf.write(s, o + 6, 'latin1')
      if (w.value === TOMBSTONE) {
        buf.writeUInt32LE(0, o)
        o += 4
      } else {
        buf.writeUInt32LE(w.value.length, o)
        o += 4 + w.value.copy(buf, o + 4)
      }
    }
    this.#unstaged.clear()
    return buf.buffer as ArrayBuffer
  }

  /** The database's entries in key order, fetched in chunks (one blocking round trip each). */
  *#databaseEntries(): Generator<[Buffer, Buffer]> {
    let cursor: Buffer | undefined
    for (;;) {
      const bridge = this.#live()
      let len = 1
      if (cursor === undefined) bridge.data[0] = 0
      else {
        bridge.ensure(cursor.length + 2)
        bridge.data[0] = 1
        bridge.data[1] = DATA_PREFIX
        bridge.data.set(cursor, 2)
        len = cursor.length + 2
      }
      const n = this.#call(OP.ITER, len, ITER_CHUNK)
      const done = Atomics.load(bridge.ctl, CTL.AUX) === 1
      const view = Buffer.from(bridge.dataBuffer, 0, bridge.dataBuffer.byteLength)
      const chunk: Array<[Buffer, Buffer]> = []
      for (let i = 0, o = 0; i < n; i++) {
        const klen = view.readUInt32LE(o)
        const key = Buffer.copyBytesFrom(view, o + 4, klen)
        o += 4 + klen
        const vlen = view.readUInt32LE(o)
        chunk.push([key, Buffer.copyBytesFrom(view, o + 4, vlen)])
        o += 4 + vlen
      }
      // Copied out before yielding: the consumer may read other keys between two entries.
      yield* chunk
      const last = chunk.at(-1)
      if (done || last === undefined) return
      cursor = last[0]
    }
  }
}
