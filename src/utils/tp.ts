/**
 * Interned topic-partitions, so TPs can be Map keys and compared with `===`.
 * @module
 */
import type { Header, HeadersInput, TP } from '../types/tuples.ts'

const interned = new Map<string, TP[]>()

/** The one TP object for (topic, partition). */
export function tp(topic: string, partition: number): TP {
  let byPartition = interned.get(topic)
  if (byPartition === undefined) {
    byPartition = []
    interned.set(topic, byPartition)
  }
  let found = byPartition[partition]
  if (found === undefined) {
    found = Object.freeze({ topic, partition })
    byPartition[partition] = found
  }
  return found
}

export function tpString(t: TP): string {
  return `${t.topic}[${t.partition}]`
}

/** Sort TPs by topic, then partition: stable output for logs and tables. */
export function sortTPs(tps: Iterable<TP>): TP[] {
  return [...tps].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
}

/** Group TPs by topic: `{topic: [partitions]}`. */
export function tpsByTopic(tps: Iterable<TP>): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const t of tps) {
    const list = out.get(t.topic)
    if (list === undefined) out.set(t.topic, [t.partition])
    else list.push(t.partition)
  }
  return out
}

/** Normalise user headers to the wire list. */
export function toHeaderList(headers: HeadersInput | Header[] | undefined): Header[] {
  if (headers === undefined) return []
  const entries = Array.isArray(headers) ? headers : Object.entries(headers)
  return entries.map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v])
}
