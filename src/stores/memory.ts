/**
 * `memory://`: a table partition in a Map. Nothing survives the process, so after a restart (or
 * when the partition comes back to this worker) the table is rebuilt from its changelog, as with
 * Faust's memory store.
 * @module
 */
import type { ChangelogEntry, StoreT } from '../types/stores.ts'

export class MemoryStore implements StoreT {
  readonly url: string
  #data = new Map<string, Buffer>()
  #offset: number | undefined

  constructor(url = 'memory://') {
    this.url = url
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  get(key: Buffer): Buffer | undefined {
    return this.#data.get(key.toString('latin1'))
  }

  has(key: Buffer): boolean {
    return this.#data.has(key.toString('latin1'))
  }

  set(key: Buffer, value: Buffer): void {
    this.#data.set(key.toString('latin1'), value)
  }

  delete(key: Buffer): void {
    this.#data.delete(key.toString('latin1'))
  }

  *entries(): IterableIterator<[Buffer, Buffer]> {
    const keys = [...this.#data.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')))
    for (const k of keys) yield [Buffer.from(k, 'latin1'), this.#data.get(k)!]
  }

  size(): number {
    return this.#data.size
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

  async flush(): Promise<void> {}

  async reset(): Promise<void> {
    this.#data.clear()
    this.#offset = undefined
  }
}
