import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { storeContract } from './contract.ts'
import { createStore } from './index.ts'
import { parseRocksDBUrl, RocksDBStore } from './rocksdb.ts'

storeContract('rocksdb', (path) => new RocksDBStore('rocksdb://', path), { persistent: true })
// Without a cache every key's previous existence is unknown: size() and the stored count take the slow paths.
storeContract('rocksdb (no cache, chunks of 7)', (path) => new RocksDBStore('rocksdb://?cache=0&batch=7', path), {
  persistent: true,
})

const b = (s: string) => Buffer.from(s)
const key = (i: number) => b(`key-${String(i).padStart(6, '0')}`)

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'faust-rocksdb-'))
  try {
    return await fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A store holding key-000000 … key-(n-1) = v<i>, flushed, closed and reopened with a cold cache. */
async function loaded(dir: string, n: number, url = 'rocksdb://'): Promise<RocksDBStore> {
  const path = join(dir, 'tbl-0')
  const first = new RocksDBStore(url, path)
  await first.open()
  for (let i = 0; i < n; i++) first.set(key(i), b(`v${i}`))
  first.setPersistedOffset(n - 1)
  await first.close()
  const store = new RocksDBStore(url, path)
  await store.open()
  return store
}

describe('rocksdb store', () => {
  test('URL options: defaults, cache/batch/timeout, bad values', () => {
    assert.deepEqual(parseRocksDBUrl('rocksdb://'), { cache: 100_000, batch: 1000, timeoutMs: 30_000 })
    assert.deepEqual(parseRocksDBUrl('rocksdb://?cache=0&batch=10&timeout=250'), { cache: 0, batch: 10, timeoutMs: 250 })
    assert.throws(() => parseRocksDBUrl('rocksdb://?cache=-1'), /cache must be an integer/)
    assert.throws(() => parseRocksDBUrl('rocksdb://?batch=0'), /batch must be an integer/)
    assert.throws(() => parseRocksDBUrl('rocksdb://?colour=red'), /unknown option colour/)
  })

  test('createStore("rocksdb://") opens a RocksDBStore', () =>
    withDir(async (dir) => {
      const store = await createStore({ url: 'rocksdb://?cache=10', path: join(dir, 't-1'), table: 't', partition: 1 })
      assert.ok(store instanceof RocksDBStore)
      await store.open()
      store.set(b('a'), b('1'))
      await store.close()
    }))

  test('a get that misses blocks on the worker and returns the stored value; the next get is a cache hit', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 100)
      try {
        assert.equal(store.persistedOffset(), 99)
        assert.equal(store.size(), 100)
        const before = store.stats()
        const value = store.get(key(42)) // synchronous: no await between the call and the value
        assert.equal(value?.toString(), 'v42')
        assert.equal(store.stats().roundTrips, before.roundTrips + 1)
        assert.equal(store.get(key(42))?.toString(), 'v42')
        assert.equal(store.get(b('nope')), undefined)
        assert.equal(store.has(b('nope')), false, 'absent keys are cached too')
        const after = store.stats()
        assert.equal(after.roundTrips, before.roundTrips + 2)
        assert.equal(after.cacheHits, before.cacheHits + 2)
      } finally {
        await store.close()
      }
    }))

  test('after prefetch, gets are LRU hits and make no round trip to the worker', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 2000)
      try {
        const keys = Array.from({ length: 1000 }, (_, i) => key(i * 2))
        await store.prefetch([...keys, b('absent-1'), b('absent-2')])
        const before = store.stats()
        assert.equal(before.roundTrips, 0)
        for (let i = 0; i < keys.length; i++) assert.equal(store.get(keys[i]!)?.toString(), `v${i * 2}`)
        assert.equal(store.get(b('absent-1')), undefined)
        const after = store.stats()
        assert.equal(after.roundTrips, 0, 'no blocking call')
        assert.equal(after.cacheHits, before.cacheHits + 1001)
        assert.equal(after.prefetched, 1002)
        // Keys already cached are not asked for again.
        await store.prefetch(keys)
        assert.equal(store.stats().prefetched, 1002)
        // A key not prefetched still blocks once.
        assert.equal(store.get(key(1))?.toString(), 'v1')
        assert.equal(store.stats().roundTrips, 1)
      } finally {
        await store.close()
      }
    }))

  test('the LRU holds at most ?cache= entries and always keeps the cache/2 most recently used', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 50, 'rocksdb://?cache=10')
      try {
        for (let i = 0; i < 30; i++) store.get(key(i))
        assert.ok(store.stats().cached <= 10)
        const trips = store.stats().roundTrips
        for (let i = 25; i < 30; i++) assert.equal(store.get(key(i))?.toString(), `v${i}`)
        assert.equal(store.stats().roundTrips, trips, 'the 5 most recent are cached')
        assert.equal(store.get(key(0))?.toString(), 'v0')
        assert.equal(store.stats().roundTrips, trips + 1, 'an old one was evicted')
      } finally {
        await store.close()
      }
    }))

  test('the overlay is read before the cache: a delete hides a cached value at once, without a round trip', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 10)
      try {
        await store.prefetch([key(3)])
        assert.equal(store.get(key(3))?.toString(), 'v3')
        const before = store.stats()
        store.delete(key(3))
        assert.equal(store.get(key(3)), undefined)
        assert.equal(store.has(key(3)), false)
        store.set(key(4), b('new'))
        assert.equal(store.get(key(4))?.toString(), 'new')
        const after = store.stats()
        assert.equal(after.roundTrips, before.roundTrips)
        assert.equal(after.overlayHits, before.overlayHits + 3)
        assert.equal(store.size(), 9)
        await store.flush()
        assert.equal(store.get(key(3)), undefined)
        assert.equal([...store.entries()].length, 9)
      } finally {
        await store.close()
      }
      const again = new RocksDBStore('rocksdb://', join(dir, 'tbl-0'))
      await again.open()
      assert.equal(again.get(key(3)), undefined)
      assert.equal(again.get(key(4))?.toString(), 'new')
      assert.equal(again.size(), 9)
      await again.close()
    }))

  test('a write made while a prefetch is in flight is not overwritten by the prefetched value', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 10)
      try {
        const warming = store.prefetch([key(5), key(6)])
        store.set(key(5), b('written'))
        await store.flush()
        await warming
        assert.equal(store.get(key(5))?.toString(), 'written')
        assert.equal(store.get(key(6))?.toString(), 'v6')
      } finally {
        await store.close()
      }
    }))

  test('size() is exact when the previous existence of written keys is unknown (no cache), and the count persists', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 100, 'rocksdb://?cache=0&batch=16')
      try {
        for (let i = 50; i < 150; i++) store.set(key(i), b('x')) // 50 overwrites, 50 new
        for (let i = 0; i < 10; i++) store.delete(key(i)) // 10 deletes
        store.delete(b('never-existed'))
        assert.equal(store.size(), 140)
        const trips = store.stats().roundTrips
        assert.equal(store.size(), 140, 'existence learned by the first size() is kept')
        assert.equal(store.stats().roundTrips, trips)
        await store.flush()
        assert.equal(store.size(), 140)
        store.set(key(0), b('back'))
        assert.equal(store.size(), 141)
      } finally {
        await store.close()
      }
      const again = new RocksDBStore('rocksdb://?cache=0', join(dir, 'tbl-0'))
      await again.open()
      assert.equal(again.size(), 141)
      assert.equal([...again.entries()].length, 141)
      await again.close()
    }))

  test('entries() spans several chunks and values larger than the shared buffer', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 10_000)
      try {
        const big = Buffer.alloc(3 * 1024 * 1024, 7)
        store.set(key(5000), big)
        await store.flush()
        store.set(key(20_000), b('pending'))
        let n = 0
        let previous: Buffer | undefined
        for (const [k, v] of store.entries()) {
          if (previous !== undefined) assert.ok(Buffer.compare(previous, k) < 0, 'key order')
          previous = k
          if (k.equals(key(5000))) assert.ok(v.equals(big))
          n += 1
        }
        assert.equal(n, 10_001)
        assert.ok(store.stats().roundTrips >= 3)
        const cold = new RocksDBStore('rocksdb://', join(dir, 'tbl-0'))
        await store.close()
        await cold.open()
        assert.ok(cold.get(key(5000))?.equals(big), 'a miss returns a value larger than the initial 1 MiB buffer')
        await cold.close()
      } finally {
        await store.close()
      }
    }))

  test('two stores share the worker and stay independent', () =>
    withDir(async (dir) => {
      const one = new RocksDBStore('rocksdb://', join(dir, 'a'))
      const two = new RocksDBStore('rocksdb://', join(dir, 'b'))
      await Promise.all([one.open(), two.open()])
      one.set(b('k'), b('1'))
      two.set(b('k'), b('2'))
      await Promise.all([one.flush(), two.flush()])
      await one.close()
      assert.equal(two.get(b('k'))?.toString(), '2')
      assert.equal(two.size(), 1)
      await two.close()
    }))

  test('the worker dying during a blocking call is an error, not a hang', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 10)
      const started = Date.now()
      assert.throws(() => store.injectWorkerFault('crash'), /rocksdb worker exited.*crash requested by a test/)
      assert.ok(Date.now() - started < 5000)
      assert.throws(() => store.get(key(1)), /rocksdb worker exited/)
      await assert.rejects(store.flush(), /rocksdb worker exited/)
      await store.close() // nothing unflushed: closing a failed store is quiet
      // A new store gets a new worker.
      const next = new RocksDBStore('rocksdb://', join(dir, 'tbl-0'))
      await next.open()
      assert.equal(next.get(key(1))?.toString(), 'v1')
      await next.close()
    }))

  test('a worker that stops answering fails the call after ?timeout=, and unflushed writes make close() reject', () =>
    withDir(async (dir) => {
      const store = await loaded(dir, 10, 'rocksdb://?timeout=200')
      store.set(b('unflushed'), b('x'))
      const started = Date.now()
      assert.throws(() => store.injectWorkerFault('hang', 2000), /did not answer within 200 ms/)
      const waited = Date.now() - started
      assert.ok(waited >= 190 && waited < 1500, `waited ${waited} ms`)
      assert.throws(() => store.get(key(1)), /did not answer/)
      await assert.rejects(store.close(), /did not answer/)
    }))
})
