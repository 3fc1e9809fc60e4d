/**
 * store-micro: the table stores (`memory://`, `lmdb://`, `rocksdb://`) on their own, through the
 * synchronous StoreT API the tables use. On `--keys` keys (default 200,000; 16-byte keys, 100-byte
 * values), loaded in shuffled order and reopened so that caches start cold:
 *
 * - random get: `--gets` distinct random keys (default 100,000), one at a time. For rocksdb:
 *   cold (every get misses the LRU: a blocking round trip), and after prefetch (each 1000 keys are
 *   prefetched, awaited, then read: the rate counts the prefetch time, `getsOnly` does not);
 * - word count: `--ops` (default 200,000) `set(k, get(k) + 1)` on keys drawn from a 20,000-key
 *   hot set, flush every 1000 ops; for rocksdb also with each 1000 ops' keys prefetched first (what
 *   the table does for a fetched batch);
 * - changelog: `--changelog` (default 1,000,000) records (10% deletes) over the key space, applied
 *   with applyChangelog in batches of 1000, each followed by a flush, into a fresh store.
 *
 * Final JSON: per-store figures (ops/s), `reference` = lmdb's random-get rate, `rate` =
 * rocksdb's cold random-get rate and `ratio` = rate / reference.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LmdbStore } from '../src/stores/lmdb.ts'
import { MemoryStore } from '../src/stores/memory.ts'
import { RocksDBStore } from '../src/stores/rocksdb.ts'
import type { StoreT } from '../src/types/stores.ts'
import { arg, progress, round } from './_util.ts'

type Kind = 'memory' | 'lmdb' | 'rocksdb'
const BATCH = 1000
const HOT = 20_000

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function shuffled(n: number, rand: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

const keyOf = (i: number) => Buffer.from(`k${String(i).padStart(15, '0')}`)

function valueOf(i: number): Buffer {
  const v = Buffer.alloc(100, 0x61 + (i % 26))
  v.writeUInt32LE(0, 0)
  return v
}

function create(kind: Kind, path: string): StoreT {
  if (kind === 'memory') return new MemoryStore()
  if (kind === 'lmdb') return new LmdbStore('lmdb://', path)
  return new RocksDBStore('rocksdb://', path)
}

function rate(count: number, started: number): number {
  return count / ((performance.now() - started) / 1000)
}

async function reopen(kind: Kind, store: StoreT, path: string): Promise<StoreT> {
  if (kind === 'memory') return store // nothing to reopen: the Map is the store
  await store.close()
  const again = create(kind, path)
  await again.open()
  return again
}

async function bench(kind: Kind, dir: string, n: number, gets: number, ops: number, changelog: number) {
  const result: Record<string, number> = {}
  const path = join(dir, `${kind}-load`)
  const keys = Array.from({ length: n }, (_, i) => keyOf(i))
  const rand = rng(42)

  // Load.
  let store = create(kind, path)
  await store.open()
  let started = performance.now()
  for (const [j, i] of shuffled(n, rand).entries()) {
    store.set(keys[i]!, valueOf(i))
    if ((j + 1) % BATCH === 0) await store.flush()
  }
  await store.flush()
  result.load = round(rate(n, started))
  progress(`${kind}: loaded ${n} keys: ${result.load} sets/s (flush every ${BATCH})`)

  // Random get, cold.
  const order = shuffled(n, rand).slice(0, gets)
  store = await reopen(kind, store, path)
  started = performance.now()
  let bytes = 0
  for (const i of order) bytes += store.get(keys[i]!)!.length
  result.randomGet = round(rate(gets, started))
  if (bytes !== gets * 100) throw new Error(`${kind}: wrong values`)
  progress(`${kind}: random get${kind === 'rocksdb' ? ' (cold: every get a round trip)' : ''}: ${result.randomGet} gets/s`)

  if (kind === 'rocksdb') {
    store = await reopen(kind, store, path)
    let getTime = 0
    started = performance.now()
    for (let b = 0; b < order.length; b += BATCH) {
      const batch = order.slice(b, b + BATCH).map((i) => keys[i]!)
      await store.prefetch!(batch)
      const t = performance.now()
      for (const k of batch) bytes += store.get(k)!.length
      getTime += performance.now() - t
    }
    result.randomGetPrefetched = round(rate(gets, started))
    result.randomGetPrefetchedGetsOnly = round(gets / (getTime / 1000))
    const stats = (store as RocksDBStore).stats()
    progress(
      `${kind}: random get after prefetch of each ${BATCH}: ${result.randomGetPrefetched} gets/s incl. prefetch, ` +
        `${result.randomGetPrefetchedGetsOnly} gets/s for the gets alone (round trips: ${stats.roundTrips})`,
    )
  }

  // Word count: get + set on a hot set, flush every 1000.
  const hot = shuffled(n, rand).slice(0, HOT)
  const plan = Array.from({ length: ops }, () => hot[Math.floor(rand() * HOT)]!)
  const wordCount = async (prefetch: boolean): Promise<number> => {
    store = await reopen(kind, store, path)
    const t0 = performance.now()
    for (let b = 0; b < plan.length; b += BATCH) {
      const batch = plan.slice(b, b + BATCH)
      if (prefetch) await store.prefetch!(batch.map((i) => keys[i]!))
      for (const i of batch) {
        const k = keys[i]!
        const v = Buffer.from(store.get(k)!)
        v.writeUInt32LE(v.readUInt32LE(0) + 1, 0)
        store.set(k, v)
      }
      await store.flush()
    }
    return round(rate(plan.length, t0))
  }
  result.wordCount = await wordCount(false)
  progress(`${kind}: word count (${HOT} hot keys, flush every ${BATCH}): ${result.wordCount} ops/s`)
  if (kind === 'rocksdb') {
    result.wordCountPrefetched = await wordCount(true)
    progress(`${kind}: word count with each ${BATCH} ops' keys prefetched: ${result.wordCountPrefetched} ops/s`)
  }
  await store.close()

  // Bulk applyChangelog into a fresh store.
  const fresh = create(kind, join(dir, `${kind}-changelog`))
  await fresh.open()
  const value = valueOf(7)
  started = performance.now()
  for (let offset = 0; offset < changelog; ) {
    const batch = []
    for (let j = 0; j < BATCH && offset < changelog; j++, offset++) {
      batch.push({ key: keys[Math.floor(rand() * n)]!, value: rand() < 0.1 ? null : value, offset })
    }
    fresh.applyChangelog(batch)
    await fresh.flush()
  }
  result.changelog = round(rate(changelog, started))
  progress(`${kind}: applyChangelog ${changelog} records in batches of ${BATCH} + flush: ${result.changelog} records/s (size ${fresh.size()})`)
  await fresh.close()
  return result
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const keys = arg(args, 'keys', 200_000)
  const gets = Math.min(keys, arg(args, 'gets', 100_000))
  const ops = arg(args, 'ops', 200_000)
  const changelog = arg(args, 'changelog', 1_000_000)
  progress(`${keys} keys of 16 bytes, values of 100 bytes; ${gets} random gets, ${ops} word-count ops, ${changelog} changelog records`)
  const dir = mkdtempSync(join(tmpdir(), 'faust-store-micro-'))
  try {
    const figures: Record<string, Record<string, number>> = {}
    for (const kind of ['memory', 'lmdb', 'rocksdb'] as const) figures[kind] = await bench(kind, dir, keys, gets, ops, changelog)
    const reference = figures.lmdb!.randomGet!
    const rocks = figures.rocksdb!
    return {
      keys,
      gets,
      ops,
      changelog,
      ...figures,
      rate: rocks.randomGet,
      reference,
      ratio: round(rocks.randomGet! / reference, 3),
      ratioPrefetched: round(rocks.randomGetPrefetched! / reference, 3),
      ratioWordCount: round(rocks.wordCount! / figures.lmdb!.wordCount!, 3),
      ratioChangelog: round(rocks.changelog! / figures.lmdb!.changelog!, 3),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
