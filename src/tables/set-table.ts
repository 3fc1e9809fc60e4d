/**
 * SetTable: a table whose values are sets (Faust's SetTable).
 *
 * The changelog is Faust's operation log, so Python Faust and faust-ts replay each other's:
 * key `[op, key]` (JSON) with op 1 = add (value: the member), 2 = discard (value: the member),
 * 15 = update (value: `[added, removed]`). It is an op log, so it is not compacted; faust-ts
 * creates it with unlimited retention so old operations are never deleted under the state. The
 * store keeps each key's current set (a JSON list).
 *
 * ```ts
 * const tags = app.setTable<string, string>('tags')
 * app.agent(posts, async (stream) => {
 *   for await (const post of stream) for (const t of post.tags) tags.add(post.user, t)
 * })
 * ```
 * @module
 */
import type { Topic } from '../channels/topic.ts'
import { json } from '../serializers/codecs.ts'
import type { AppT } from '../types/app.ts'
import { Collection, type TableOptions } from './table.ts'

export const SetOperations = { ADD: 1, DISCARD: 2, UPDATE: 15 } as const

export type SetTableOptions<K, M> = Omit<TableOptions<K, M[]>, 'default' | 'valueType'>

export class SetTable<K = unknown, M = unknown> extends Collection<K, M[]> {
  constructor(
    app: AppT,
    name: string,
    options: SetTableOptions<K, M>,
    makeTopic: (name: string, options: { partitions: number; config: Record<string, string> }) => Topic<Buffer | null, Buffer | null>,
  ) {
    super(app, name, 'set', options, makeTopic, { 'cleanup.policy': 'delete', 'retention.ms': '-1' })
    // An operation log: every operation must reach the changelog, in order.
    this.bufferChangelog = false
  }

  /** The members of a key's set (a copy; empty when missing). */
  get(key: K): Set<M> {
    const bytes = this.lookup(this.encodeKey(key))
    return new Set(bytes === undefined ? [] : this.decodeValue(bytes))
  }

  has(key: K, member?: M): boolean {
    const set = this.get(key)
    return member === undefined ? set.size > 0 : containsMember(set, member)
  }

  add(key: K, member: M): void {
    this.#change(key, SetOperations.ADD, member, [member], [])
  }

  discard(key: K, member: M): void {
    this.#change(key, SetOperations.DISCARD, member, [], [member])
  }

  /** Add and remove several members in one operation. */
  update(key: K, added: Iterable<M>, removed: Iterable<M> = []): void {
    const a = [...added]
    const r = [...removed]
    this.#change(key, SetOperations.UPDATE, [a, r], a, r)
  }

  clear(key: K): void {
    this.update(key, [], this.get(key))
  }

  *entries(): IterableIterator<[K, Set<M>]> {
    for (const [k, v] of this.rawEntries()) yield [this.schema.loadsKey(k), new Set(this.decodeValue(v))]
  }

  #change(key: K, op: number, opValue: unknown, added: M[], removed: M[]): void {
    const keyBytes = this.encodeKey(key)
    const partition = this.partitionForWrite(keyBytes)
    const store = this.stores().get(partition)
    const current = store?.get(keyBytes)
    const next = applySet(current === undefined ? [] : (this.decodeValue(current) as unknown[]), added, removed)
    const changelog = { key: json.dumps([op, JSON.parse(keyBytes.toString('utf8'))]), value: json.dumps(opValue) }
    this.writeBytes(partition, keyBytes, next.length === 0 ? null : json.dumps(next), changelog)
  }

  /** Replay Faust set operations into the stored sets. */
  override applyChangelog(partition: number, records: Array<{ key: Buffer | null; value: Buffer | null; offset: number }>): void {
    const store = this.stores().get(partition)
    if (store === undefined) return
    for (const r of records) {
      if (r.key === null) continue
      const [op, rawKey] = json.loads(r.key) as [number, unknown]
      const keyBytes = json.dumps(rawKey)
      const current = store.get(keyBytes)
      const members = current === undefined ? [] : (json.loads(current) as unknown[])
      const value = r.value === null ? null : json.loads(r.value)
      let next: unknown[]
      if (op === SetOperations.ADD) next = applySet(members, [value], [])
      else if (op === SetOperations.DISCARD) next = applySet(members, [], [value])
      else if (op === SetOperations.UPDATE) {
        const [added, removed] = value as [unknown[], unknown[]]
        next = applySet(members, added, removed)
      } else continue
      store.applyChangelog([{ key: keyBytes, value: next.length === 0 ? null : json.dumps(next), offset: r.offset }])
    }
  }
}

/** Set semantics on JSON values (members compare by their JSON). */
function applySet<T>(members: T[], added: T[], removed: T[]): T[] {
  const byJson = new Map(members.map((m) => [JSON.stringify(m), m]))
  for (const m of added) byJson.set(JSON.stringify(m), m)
  for (const m of removed) byJson.delete(JSON.stringify(m))
  return [...byJson.values()]
}

function containsMember<M>(set: Set<M>, member: M): boolean {
  if (set.has(member)) return true
  const wanted = JSON.stringify(member)
  for (const m of set) if (JSON.stringify(m) === wanted) return true
  return false
}
