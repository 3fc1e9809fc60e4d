/**
 * Table stores by URL scheme. Stores load lazily, so an app on `memory://` never loads LMDB or RocksDB.
 * @module
 */
import { ImproperlyConfigured } from '../errors.ts'
import type { StoreOptions, StoreT } from '../types/stores.ts'

export const storeSchemes = ['memory', 'lmdb', 'rocksdb'] as const

export function storeScheme(url: string): string {
  const i = url.indexOf('://')
  return i < 0 ? url : url.slice(0, i)
}

/** Whether a store keeps its data (and persisted offset) across restarts. */
export function isPersistent(url: string): boolean {
  return storeScheme(url) !== 'memory'
}

export async function createStore(options: StoreOptions): Promise<StoreT> {
  switch (storeScheme(options.url)) {
    case 'memory': {
      const { MemoryStore } = await import('./memory.ts')
      return new MemoryStore(options.url)
    }
    case 'lmdb': {
      const { LmdbStore } = await import('./lmdb.ts')
      return new LmdbStore(options.url, options.path)
    }
    case 'rocksdb': {
      const { RocksDBStore } = await import('./rocksdb.ts')
      return new RocksDBStore(options.url, options.path)
    }
    default:
      throw new ImproperlyConfigured(`unknown table store ${options.url}: use memory://, lmdb:// or rocksdb://`)
  }
}
