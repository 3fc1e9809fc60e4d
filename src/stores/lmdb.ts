/**
 * `lmdb://`: a table partition in LMDB (lmdb-js): persistent, with synchronous reads.
 *
 * Writes go to an overlay that reads see at once, and reach LMDB in one transaction per flush
 * (the consumer flushes tables before each commit), together with the changelog offset they
 * correspond to, kept in a separate sub-database. So the data and the offset on disk always
 * agree, and a restart replays only the changelog after that offset.
 * @module
 */
import { mkdirSync } from 'node:fs'
import { type Database, open, type RootDatabase } from 'lmdb'
import type { ChangelogEntry, StoreT } from '../types/stores.ts'

const OFFSET_KEY = 'changelog-offset'
const TOMBSTONE: unique symbol = Symbol('faust.store.tombstone')

export class LmdbStore implements StoreT {
  readonly url: string
  readonly path: string
  #env: RootDatabase | undefined
  #data: Database<Buffer, Buffer> | undefined
  #meta: Database<number, string> | undefined
  /** Writes not flushed yet (latin1 key string → value or tombstone). */
  #overlay = new Map<string, Buffer | typeof TOMBSTONE>()
  #offset: number | undefined
  #flushedOffset: number | undefined

  constructor(url: string, path: string) {
    this.url = url
    this.path = path
  }

  get #db(): Database<Buffer, Buffer> {
    if (this.#data === undefined) throw new Error(`lmdb store ${this.path} is not open`)
    return this.#data
  }

  async open(): Promise<void> {
    if (this.#env !== undefined) return
    mkdirSync(this.path, { recursive: true })
    // noSync: the changelog on Kafka is the durable copy; LMDB commits stay atomic, so the data and
    // the offset stored with them agree after a crash even if the last commits are lost.
    // Data and metadata are two named databases (named databases live as keys of the root one).
    this.#env = open({ path: this.path, noSync: true, maxDbs: 4 })
    this.#data = this.#env.openDB<Buffer, Buffer>({ name: 'faust-data', encoding: 'binary', keyEncoding: 'binary' })
    this.#meta = this.#env.openDB<number, string>({ name: 'faust-meta', encoding: 'ordered-binary', keyEncoding: 'ordered-binary' })
    this.#offset = this.#meta.get(OFFSET_KEY)
    this.#flushedOffset = this.#offset
  }

  async close(): Promise<void> {
    if (this.#env === undefined) return
    await this.flush()
    await this.#env.close()
    this.#env = undefined
    this.#data = undefined
    this.#meta = undefined
  }

  get(key: Buffer): Buffer | undefined {
    const pending = this.#overlay.get(key.toString('latin1'))
    if (pending !== undefined) return pending === TOMBSTONE ? undefined : pending
    return this.#db.getBinary(key) ?? undefined
  }

  has(key: Buffer): boolean {
    return this.get(key) !== undefined
  }

  set(key: Buffer, value: Buffer): void {
    this.#overlay.set(key.toString('latin1'), value)
  }

  delete(key: Buffer): void {
    this.#overlay.set(key.toString('latin1'), TOMBSTONE)
  }

  *entries(): IterableIterator<[Buffer, Buffer]> {
    if (this.#overlay.size === 0) {
      for (const { key, value } of this.#db.getRange({})) yield [Buffer.from(key), Buffer.from(value)]
      return
    }
    // Merge the overlay into the ordered range.
    const merged = new Map<string, Buffer>()
    for (const { key, value } of this.#db.getRange({})) merged.set(Buffer.from(key).toString('latin1'), Buffer.from(value))
    for (const [k, v] of this.#overlay) {
      if (v === TOMBSTONE) merged.delete(k)
      else merged.set(k, v)
    }
    const keys = [...merged.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')))
    for (const k of keys) yield [Buffer.from(k, 'latin1'), merged.get(k)!]
  }

  size(): number {
    if (this.#overlay.size === 0) return this.#db.getCount()
    let n = this.#db.getCount()
    for (const [k, v] of this.#overlay) {
      const onDisk = this.#db.doesExist(Buffer.from(k, 'latin1'))
      if (v === TOMBSTONE && onDisk) n -= 1
      else if (v !== TOMBSTONE && !onDisk) n += 1
    }
    return n
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
    if (this.#env === undefined) return
    if (this.#overlay.size === 0 && this.#offset === this.#flushedOffset) return
    const db = this.#db
    const meta = this.#meta!
    const overlay = this.#overlay
    const offset = this.#offset
    this.#overlay = new Map()
    this.#env.transactionSync(() => {
      for (const [k, v] of overlay) {
        const key = Buffer.from(k, 'latin1')
        if (v === TOMBSTONE) db.removeSync(key)
        else db.putSync(key, v)
      }
      if (offset !== undefined) meta.putSync(OFFSET_KEY, offset)
    })
    this.#flushedOffset = offset
  }

  async reset(): Promise<void> {
    this.#overlay.clear()
    this.#offset = undefined
    this.#flushedOffset = undefined
    if (this.#env === undefined) return
    const db = this.#db
    const meta = this.#meta!
    this.#env.transactionSync(() => {
      db.clearSync()
      meta.clearSync()
    })
  }
}
