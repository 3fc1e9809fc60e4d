/**
 * The contract every table store meets, run against each store by its own test file:
 * `storeContract('lmdb', (path) => new LmdbStore('lmdb://', path), { persistent: true })`.
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { StoreT } from '../types/stores.ts'

const b = (s: string) => Buffer.from(s)
const str = (v: Buffer | undefined) => v?.toString()

export function storeContract(name: string, create: (path: string) => StoreT, options: { persistent: boolean }): void {
  describe(`store contract: ${name}`, () => {
    async function withStore<T>(fn: (store: StoreT, path: string) => Promise<T>): Promise<T> {
      const dir = mkdtempSync(join(tmpdir(), `faust-store-${name}-`))
      const store = create(join(dir, 'tbl-0'))
      await store.open()
      try {
        return await fn(store, join(dir, 'tbl-0'))
      } finally {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }

    test('get/set/delete/has are synchronous and read their own writes', () =>
      withStore(async (store) => {
        assert.equal(store.get(b('k')), undefined)
        assert.equal(store.has(b('k')), false)
        store.set(b('k'), b('v1'))
        assert.equal(str(store.get(b('k'))), 'v1')
        assert.equal(store.has(b('k')), true)
        store.set(b('k'), b('v2'))
        assert.equal(str(store.get(b('k'))), 'v2')
        store.delete(b('k'))
        assert.equal(store.get(b('k')), undefined)
        assert.equal(store.size(), 0)
      }))

    test('binary keys and values round-trip exactly (any byte)', () =>
      withStore(async (store) => {
        const key = Buffer.from([0, 255, 128, 10, 0])
        const value = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256))
        store.set(key, value)
        await store.flush()
        assert.ok(store.get(key)?.equals(value))
        assert.equal(store.get(Buffer.from([0, 255, 128, 10])), undefined)
      }))

    test('entries() are in key byte order and include unflushed writes; size() counts them', () =>
      withStore(async (store) => {
        for (const k of ['b', 'a', 'd']) store.set(b(k), b(`v-${k}`))
        await store.flush()
        store.set(b('c'), b('v-c'))
        store.delete(b('d'))
        assert.deepEqual([...store.entries()].map(([k, v]) => [k.toString(), v.toString()]), [
          ['a', 'v-a'],
          ['b', 'v-b'],
          ['c', 'v-c'],
        ])
        assert.equal(store.size(), 3)
      }))

    test('applyChangelog applies sets and tombstones in order and advances the persisted offset', () =>
      withStore(async (store) => {
        assert.equal(store.persistedOffset(), undefined)
        store.applyChangelog([
          { key: b('x'), value: b('1'), offset: 10 },
          { key: b('y'), value: b('2'), offset: 11 },
          { key: b('x'), value: null, offset: 12 },
          { key: b('y'), value: b('3'), offset: 13 },
        ])
        assert.equal(store.get(b('x')), undefined)
        assert.equal(str(store.get(b('y'))), '3')
        assert.equal(store.persistedOffset(), 13)
        store.setPersistedOffset(5)
        assert.equal(store.persistedOffset(), 13, 'the offset never goes back')
      }))

    test('reset() removes every key and the offset', () =>
      withStore(async (store) => {
        store.applyChangelog([{ key: b('x'), value: b('1'), offset: 3 }])
        await store.flush()
        await store.reset()
        assert.equal(store.size(), 0)
        assert.equal(store.persistedOffset(), undefined)
        assert.equal(store.get(b('x')), undefined)
      }))

    test('10,000 keys: sets, overwrites and deletes agree with a Map', () =>
      withStore(async (store) => {
        const model = new Map<string, string>()
        let seed = 7
        const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff)
        for (let i = 0; i < 10_000; i++) {
          const k = `key-${rand() % 3000}`
          if (rand() % 5 === 0) {
            store.delete(b(k))
            model.delete(k)
          } else {
            store.set(b(k), b(`v${i}`))
            model.set(k, `v${i}`)
          }
          if (i % 2500 === 0) await store.flush()
        }
        await store.flush()
        assert.equal(store.size(), model.size)
        for (const [k, v] of model) assert.equal(str(store.get(b(k))), v)
      }))

    if (options.persistent) {
      test('data and the persisted offset survive close and reopen; unflushed writes are flushed by close', async () => {
        const dir = mkdtempSync(join(tmpdir(), `faust-store-${name}-`))
        try {
          const path = join(dir, 'tbl-3')
          const first = create(path)
          await first.open()
          first.applyChangelog([
            { key: b('a'), value: b('1'), offset: 0 },
            { key: b('b'), value: b('2'), offset: 1 },
          ])
          await first.flush()
          first.set(b('c'), b('3'))
          first.setPersistedOffset(2)
          await first.close()
          const second = create(path)
          await second.open()
          assert.equal(second.persistedOffset(), 2)
          assert.deepEqual([...second.entries()].map(([k, v]) => `${k}=${v}`), ['a=1', 'b=2', 'c=3'])
          await second.close()
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
      })
    }
  })
}
