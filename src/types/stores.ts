/**
 * Table stores: one store per table partition, keys and values as bytes (the table encodes).
 * `memory://`, `lmdb://` and `rocksdb://` implement it; the contract suite in
 * src/stores/contract.ts runs against each.
 * @module
 */

/** One changelog record to apply (a null value deletes the key). */
export interface ChangelogEntry {
  key: Buffer
  value: Buffer | null
  offset: number
}

export interface StoreT {
  /** The store URL it was opened from (`memory://`, `lmdb://`, `rocksdb://`). */
  readonly url: string
  /** Open (or create) the store. */
  open(): Promise<void>
  /** Flush and close. Idempotent. */
  close(): Promise<void>
  /** Synchronous read (the table API is synchronous, as Faust's dict-like tables). */
  get(key: Buffer): Buffer | undefined
  has(key: Buffer): boolean
  /** Buffered until flush(); visible to get() at once. */
  set(key: Buffer, value: Buffer): void
  delete(key: Buffer): void
  /** Every entry (including unflushed writes), in key byte order. */
  entries(): IterableIterator<[Buffer, Buffer]>
  /** Number of keys (including unflushed writes). */
  size(): number
  /** Offset of the last changelog record reflected in the store; undefined when none. */
  persistedOffset(): number | undefined
  /** Remember the changelog offset the writes so far correspond to (persisted with the next flush). */
  setPersistedOffset(offset: number): void
  /** Apply changelog records in order (recovery and standbys) and advance the persisted offset. */
  applyChangelog(entries: ChangelogEntry[]): void
  /** Make buffered writes and the persisted offset durable, atomically (one transaction). */
  flush(): Promise<void>
  /** Delete every key and the persisted offset (the store is rebuilt from the changelog). */
  reset(): Promise<void>
  /** Warm these keys so the next get() of them does not block (only stores with async reads need it). */
  prefetch?(keys: Buffer[]): Promise<void>
}

export interface StoreOptions {
  /** Store URL: `memory://`, `lmdb://`, `rocksdb://` (path options may follow the scheme). */
  url: string
  /** Directory for this store's files: `<datadir>/tables/<table>-<partition>`. */
  path: string
  table: string
  partition: number
}
