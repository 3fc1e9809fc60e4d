/**
 * The worker thread of the `rocksdb://` store (see src/stores/rocksdb.ts and
 * docs/decisions/0005-rocksdb-store.md). rocksdb-native is async only, so this thread owns every
 * RocksDB handle of the process and the main thread talks to it in two ways:
 *
 * - **synchronous calls** (a read that missed the cache, a chunk of `entries()`, `size()`): the
 *   main thread writes the request into a SharedArrayBuffer, bumps `WAKE` and blocks in
 *   `Atomics.wait` on `STATE`; this thread wakes through `Atomics.waitAsync`, does the work and
 *   answers **through the shared memory only** (`STATE` = DONE / ERROR / DEAD). It never needs the
 *   main thread's event loop, which is blocked: a reply by `postMessage` would deadlock.
 * - **asynchronous messages** (open, staged write chunks, commit, prefetch, reset, close) by
 *   `postMessage`, answered by `postMessage` with the request id.
 *
 * This module is also imported by the main thread for the protocol constants below; it only
 * starts serving when it runs as the store's worker (`workerData.faustRocksdb`).
 *
 * On disk, one RocksDB per store (table partition), default column family. User keys are stored
 * as `0x01 ‖ key`; the metadata (persisted changelog offset, exact key count) lives under
 * `0x00 ‖ name`, which no user key can produce. A separate column family would be neater, but
 * rocksdb-native binds a write batch to one column family, and the offset must be written in the
 * same atomic batch as the data.
 * @module
 */
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'

// ---------------------------------------------------------------------------------------------
// Protocol (shared with rocksdb.ts)

/** Slots of the control Int32Array. */
export const CTL = {
  STATE: 0,
  OP: 1,
  STORE: 2,
  LEN: 3,
  AUX: 4,
  STATUS: 5,
  WAKE: 6,
  ERRLEN: 7,
  SIZE: 8,
} as const

/** Values of `CTL.STATE`. */
export const STATE = { IDLE: 0, REQ: 1, DONE: 2, ERROR: 3, DEAD: 4 } as const

/** Synchronous operations. */
export const OP = {
  /** data = 0x01‖key (LEN bytes) → STATUS = value length or -1; data = value. */
  GET: 1,
  /** data = [u8 hasCursor][0x01‖cursor], AUX = max entries → STATUS = n, AUX = 1 when done; data = n × [u32 klen][key][u32 vlen][value]. */
  ITER: 2,
  /** AUX = op seq to wait for, data = [u32 n] n × [u32 len][0x01‖key] → STATUS = exact committed count; data = n existence bytes. */
  SIZE: 3,
  /** Tests: block this thread for AUX ms before answering. */
  HANG: 8,
  /** Tests: die with an uncaught error. */
  CRASH: 9,
} as const

export const DATA_INITIAL_BYTES = 1 << 20
export const DATA_MAX_BYTES = 1 << 28
export const ERROR_BYTES = 4096

/** Staged-entry flags: bit 0 = tombstone, bits 1–2 = whether the key existed before this cycle. */
export const FLAG_TOMBSTONE = 1
export const EXISTED_NO = 0
export const EXISTED_YES = 1
export const EXISTED_UNKNOWN = 2

export const DATA_PREFIX = 0x01
const LOW = Buffer.from([DATA_PREFIX])
const HIGH = Buffer.from([DATA_PREFIX + 1])
const META_OFFSET = Buffer.from([0x00, 0x6f]) // 0x00 'o'
const META_COUNT = Buffer.from([0x00, 0x63]) // 0x00 'c'

/** Messages from the main thread. Ops with `seq` run in order, one after the other, per store. */
export type WorkerRequest =
  | { op: 'open'; id: number; store: number; path: string }
  | { op: 'stage'; store: number; buf: ArrayBuffer }
  | { op: 'commit'; id: number; store: number; seq: number; buf: ArrayBuffer; offset: number | null }
  | { op: 'prefetch'; id: number; store: number; buf: ArrayBuffer; n: number }
  | { op: 'reset'; id: number; store: number; seq: number }
  | { op: 'close'; id: number; store: number }

export type WorkerReply =
  | { id: number; ok: true; offset?: number | null; count?: number; buf?: ArrayBuffer }
  | { id: number; ok: false; error: string }

export interface WorkerData {
  faustRocksdb: true
  ctl: SharedArrayBuffer
  data: SharedArrayBuffer
  err: SharedArrayBuffer
}

// ---------------------------------------------------------------------------------------------
// rocksdb-native (CommonJS, untyped): the part of its API used here

interface RocksReadBatch {
  get(key: Buffer): Promise<Buffer | null>
  tryFlush(): void
}
interface RocksWriteBatch {
  tryPut(key: Buffer, value: Buffer): void
  tryDelete(key: Buffer): void
  tryDeleteRange(start: Buffer, end: Buffer): void
  flush(): Promise<void>
  destroy(): void
}
interface RocksDB {
  ready(): Promise<void>
  close(): Promise<void>
  get(key: Buffer): Promise<Buffer | null>
  read(opts?: { capacity?: number; autoDestroy?: boolean }): RocksReadBatch
  write(opts?: { capacity?: number; autoDestroy?: boolean }): RocksWriteBatch
  iterator(
    range: { gt?: Buffer; gte?: Buffer; lt?: Buffer },
    opts?: { capacity?: number; limit?: number; values?: boolean },
  ): AsyncIterable<{ key: Buffer; value: Buffer | null }>
}
type RocksDBConstructor = new (path: string, opts?: Record<string, unknown>) => RocksDB

// ---------------------------------------------------------------------------------------------
// The worker

interface CycleKey {
  key: Buffer
  existed: number
  present: boolean
}

interface WorkerStore {
  db: RocksDB
  /** The open write batch of the current cycle (staged writes, committed by the next commit). */
  batch: RocksWriteBatch | null
  /** Every key written in the current cycle (latin1) → prefixed key, existed-before flag, final presence. */
  keys: Map<string, CycleKey>
  /** Exact number of user keys committed. */
  count: number
  /** Ordered ops (commit, reset) run one after the other. */
  chain: Promise<void>
  /** Seq of the last ordered op finished. */
  settled: number
  waiters: Array<() => void>
  failed: Error | undefined
}

function encodeNumber(n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeDoubleBE(n)
  return b
}

function decodeNumber(b: Buffer | null): number | null {
  return b === null || b.length !== 8 ? null : b.readDoubleBE(0)
}

function startWorker(init: WorkerData): void {
  const port = parentPort!
  const require = createRequire(import.meta.url)
  const RocksDBClass = require('rocksdb-native') as RocksDBConstructor
  const ctl = new Int32Array(init.ctl)
  const data = new Uint8Array(init.data) // length-tracking: follows grow()
  const dataBuffer = init.data
  const errBytes = new Uint8Array(init.err)
  const stores = new Map<number, WorkerStore>()
  let deathReason: string | undefined

  // Dying is reported through the shared memory: the main thread may be blocked in Atomics.wait,
  // and its 'exit'/'error' events cannot fire until it wakes up.
  process.on('uncaughtExceptionMonitor', (err) => {
    deathReason = err instanceof Error ? err.message : String(err)
  })
  process.on('exit', (code) => {
    writeError(`rocksdb worker exited (code ${code})${deathReason === undefined ? '' : `: ${deathReason}`}`)
    Atomics.store(ctl, CTL.STATE, STATE.DEAD)
    Atomics.notify(ctl, CTL.STATE)
  })

  function writeError(message: string): void {
    const { written } = new TextEncoder().encodeInto(message, errBytes)
    Atomics.store(ctl, CTL.ERRLEN, written)
  }

  function ensureData(bytes: number): void {
    if (bytes <= dataBuffer.byteLength) return
    if (bytes > DATA_MAX_BYTES) throw new Error(`rocksdb store: a reply of ${bytes} bytes exceeds ${DATA_MAX_BYTES}`)
    dataBuffer.grow(Math.min(DATA_MAX_BYTES, Math.max(bytes, dataBuffer.byteLength * 2)))
  }

  function storeOf(id: number): WorkerStore {
    const st = stores.get(id)
    if (st === undefined) throw new Error(`rocksdb store #${id} is not open in the worker`)
    return st
  }

  function reply(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
    port.postMessage(msg, transfer)
  }

  // --- synchronous calls -------------------------------------------------------------------

  function answer(status: number): void {
    Atomics.store(ctl, CTL.STATUS, status)
    Atomics.store(ctl, CTL.STATE, STATE.DONE)
    Atomics.notify(ctl, CTL.STATE)
  }

  function answerError(err: unknown): void {
    writeError(err instanceof Error ? err.message : String(err))
    Atomics.store(ctl, CTL.STATE, STATE.ERROR)
    Atomics.notify(ctl, CTL.STATE)
  }

  async function get(st: WorkerStore, len: number): Promise<void> {
    const key = Buffer.from(data.subarray(0, len))
    const value = await st.db.get(key)
    if (value === null) return answer(-1)
    ensureData(value.length)
    data.set(value, 0)
    answer(value.length)
  }

  async function iterate(st: WorkerStore, len: number, max: number): Promise<void> {
    const range = data[0] === 1 ? { gt: Buffer.from(data.subarray(1, len)), lt: HIGH } : { gte: LOW, lt: HIGH }
    let offset = 0
    let n = 0
    let done = true
    let view = Buffer.from(dataBuffer, 0, dataBuffer.byteLength)
    for await (const { key, value } of st.db.iterator(range, { capacity: max, limit: max })) {
      const v = value ?? Buffer.alloc(0)
      const need = 8 + key.length - 1 + v.length
      if (offset + need > view.length) {
        if (n > 0) {
          done = false
          break
        }
        ensureData(offset + need)
        view = Buffer.from(dataBuffer, 0, dataBuffer.byteLength)
      }
      view.writeUInt32LE(key.length - 1, offset)
      view.set(key.subarray(1), offset + 4)
      offset += 4 + key.length - 1
      view.writeUInt32LE(v.length, offset)
      view.set(v, offset + 4)
      offset += 4 + v.length
      n += 1
    }
    if (n >= max) done = false
    Atomics.store(ctl, CTL.AUX, done ? 1 : 0)
    answer(n)
  }

  async function size(st: WorkerStore, waitFor: number): Promise<void> {
    while (st.settled < waitFor && st.failed === undefined) await new Promise<void>((r) => st.waiters.push(r))
    if (st.failed !== undefined) throw st.failed
    const view = Buffer.from(dataBuffer, 0, dataBuffer.byteLength)
    const n = view.readUInt32LE(0)
    const keys: Buffer[] = []
    for (let i = 0, o = 4; i < n; i++) {
      const len = view.readUInt32LE(o)
      keys.push(Buffer.from(view.subarray(o + 4, o + 4 + len)))
      o += 4 + len
    }
    const exists = await existence(st, keys)
    ensureData(n)
    for (let i = 0; i < n; i++) data[i] = exists[i] ? 1 : 0
    answer(st.count)
  }

  async function dispatch(): Promise<void> {
    const op = Atomics.load(ctl, CTL.OP)
    const len = Atomics.load(ctl, CTL.LEN)
    const aux = Atomics.load(ctl, CTL.AUX)
    switch (op) {
      case OP.GET:
        return get(storeOf(Atomics.load(ctl, CTL.STORE)), len)
      case OP.ITER:
        return iterate(storeOf(Atomics.load(ctl, CTL.STORE)), len, aux)
      case OP.SIZE:
        return size(storeOf(Atomics.load(ctl, CTL.STORE)), aux)
      case OP.HANG:
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, aux)
        return answer(0)
      case OP.CRASH:
        setImmediate(() => {
          throw new Error('rocksdb worker crash requested by a test')
        })
        return
      default:
        throw new Error(`rocksdb worker: unknown op ${op}`)
    }
  }

  async function serve(): Promise<void> {
    let seen = Atomics.load(ctl, CTL.WAKE)
    for (;;) {
      const wait = Atomics.waitAsync(ctl, CTL.WAKE, seen)
      if (wait.async) await wait.value
      seen = Atomics.load(ctl, CTL.WAKE)
      if (Atomics.load(ctl, CTL.STATE) !== STATE.REQ) continue
      try {
        await dispatch()
      } catch (err) {
        answerError(err)
      }
    }
  }

  // --- asynchronous messages ---------------------------------------------------------------

  /** Whether each key exists, in one read batch. */
  async function existence(st: WorkerStore, keys: Buffer[]): Promise<boolean[]> {
    if (keys.length === 0) return []
    if (st.count === 0) return keys.map(() => false)
    const batch = st.db.read({ capacity: keys.length, autoDestroy: true })
    const reads = keys.map((k) => batch.get(k))
    batch.tryFlush()
    return (await Promise.all(reads)).map((v) => v !== null)
  }

  async function open(store: number, path: string): Promise<WorkerReply & { ok: true }> {
    mkdirSync(path, { recursive: true })
    const db = new RocksDBClass(path)
    await db.ready()
    const batch = db.read({ capacity: 2, autoDestroy: true })
    const offsetRead = batch.get(META_OFFSET)
    const countRead = batch.get(META_COUNT)
    batch.tryFlush()
    const offset = decodeNumber(await offsetRead)
    let count = decodeNumber(await countRead)
    if (count === null) {
      // No stored count (a database this store did not write): count once by iterating the keys.
      count = 0
      for await (const _ of db.iterator({ gte: LOW, lt: HIGH }, { values: false, capacity: 1024 })) count += 1
    }
    stores.set(store, { db, batch: null, keys: new Map(), count, chain: Promise.resolve(), settled: 0, waiters: [], failed: undefined })
    return { id: 0, ok: true, offset, count }
  }

  /** Add a staged chunk of writes to the store's open write batch. */
  function stage(st: WorkerStore, buf: ArrayBuffer): void {
    const view = Buffer.from(buf)
    st.batch ??= st.db.write({ capacity: 1024 })
    for (let o = 0; o < view.length; ) {
      const flags = view[o]!
      const klen = view.readUInt32LE(o + 1)
      const key = view.subarray(o + 5, o + 5 + klen)
      o += 5 + klen
      const vlen = view.readUInt32LE(o)
      const tombstone = (flags & FLAG_TOMBSTONE) !== 0
      if (tombstone) st.batch.tryDelete(key)
      else st.batch.tryPut(key, view.subarray(o + 4, o + 4 + vlen))
      o += 4 + vlen
      const name = key.toString('latin1')
      const seen = st.keys.get(name)
      if (seen === undefined) st.keys.set(name, { key, existed: flags >> 1, present: !tombstone })
      else seen.present = !tombstone
    }
  }

  /** Run an ordered op after the ones before it; record it as settled (wakes size() calls). */
  function ordered<T>(st: WorkerStore, seq: number, fn: () => Promise<T>): Promise<T> {
    const result = st.chain.then(fn)
    st.chain = result.then(
      () => {
        st.settled = seq
        for (const w of st.waiters.splice(0)) w()
      },
      (err: unknown) => {
        st.failed ??= err instanceof Error ? err : new Error(String(err))
        for (const w of st.waiters.splice(0)) w()
      },
    )
    return result
  }

  function commit(st: WorkerStore, seq: number, buf: ArrayBuffer, offset: number | null): Promise<number> {
    stage(st, buf)
    const batch = st.batch ?? st.db.write({ capacity: 2 })
    const keys = st.keys
    st.batch = null
    st.keys = new Map()
    return ordered(st, seq, async () => {
      try {
        if (st.failed !== undefined) throw st.failed
        // The exact count: keys whose previous existence the main thread did not know are read
        // now, before this batch is applied (one read batch; none when the store is empty).
        let delta = 0
        const unknown: CycleKey[] = []
        for (const k of keys.values()) {
          if (k.existed === EXISTED_UNKNOWN) unknown.push(k)
          else delta += (k.present ? 1 : 0) - k.existed
        }
        const exists = await existence(
          st,
          unknown.map((k) => k.key),
        )
        unknown.forEach((k, i) => (delta += (k.present ? 1 : 0) - (exists[i] ? 1 : 0)))
        const count = st.count + delta
        if (offset !== null) batch.tryPut(META_OFFSET, encodeNumber(offset))
        batch.tryPut(META_COUNT, encodeNumber(count))
        await batch.flush() // one atomic RocksDB write batch: the data, the offset and the count
        st.count = count
        return count
      } finally {
        batch.destroy()
      }
    })
  }

  function reset(st: WorkerStore, seq: number): Promise<void> {
    // The main thread dropped the cycle being staged: discard it.
    st.batch?.destroy()
    st.batch = null
    st.keys = new Map()
    return ordered(st, seq, async () => {
      const batch = st.db.write({ capacity: 4 })
      try {
        batch.tryDeleteRange(LOW, HIGH)
        batch.tryDelete(META_OFFSET)
        batch.tryDelete(META_COUNT)
        await batch.flush()
        st.count = 0
        st.failed = undefined
      } finally {
        batch.destroy()
      }
    })
  }

  async function prefetch(st: WorkerStore, buf: ArrayBuffer, n: number): Promise<ArrayBuffer> {
    const view = Buffer.from(buf)
    const batch = st.db.read({ capacity: n, autoDestroy: true })
    const reads: Array<Promise<Buffer | null>> = []
    for (let o = 0; o < view.length; ) {
      const len = view.readUInt32LE(o)
      reads.push(batch.get(view.subarray(o + 4, o + 4 + len)))
      o += 4 + len
    }
    batch.tryFlush()
    const values = await Promise.all(reads)
    let bytes = 0
    for (const v of values) bytes += 4 + (v?.length ?? 0)
    const out = Buffer.from(new ArrayBuffer(bytes))
    let o = 0
    for (const v of values) {
      out.writeInt32LE(v === null ? -1 : v.length, o)
      o += 4
      if (v !== null) o += v.copy(out, o)
    }
    return out.buffer as ArrayBuffer
  }

  async function close(store: number): Promise<void> {
    const st = stores.get(store)
    if (st === undefined) return
    stores.delete(store)
    await st.chain
    st.batch?.destroy() // rocksdb-native's close() never resolves while a batch is alive
    st.batch = null
    await st.db.close()
  }

  async function handle(m: WorkerRequest): Promise<void> {
    switch (m.op) {
      case 'open':
        return reply({ ...(await open(m.store, m.path)), id: m.id })
      case 'stage':
        return stage(storeOf(m.store), m.buf)
      case 'commit':
        return reply({ id: m.id, ok: true, count: await commit(storeOf(m.store), m.seq, m.buf, m.offset) })
      case 'prefetch': {
        const buf = await prefetch(storeOf(m.store), m.buf, m.n)
        return reply({ id: m.id, ok: true, buf }, [buf])
      }
      case 'reset':
        await reset(storeOf(m.store), m.seq)
        return reply({ id: m.id, ok: true, count: 0 })
      case 'close':
        await close(m.store)
        return reply({ id: m.id, ok: true })
    }
  }

  port.on('message', (m: WorkerRequest) => {
    handle(m).catch((err: unknown) => {
      const error = err instanceof Error ? err.message : String(err)
      if ('id' in m) reply({ id: m.id, ok: false, error })
      else {
        // A staged chunk failed: the store's next commit reports it.
        const st = stores.get(m.store)
        if (st !== undefined) st.failed ??= new Error(error)
      }
    })
  })
  void serve()
}

const init = workerData as Partial<WorkerData> | null
if (parentPort !== null && init?.faustRocksdb === true) startWorker(init as WorkerData)
