/**
 * Kafka's default key partitioner: murmur2 as in the Java client's `Utils.murmur2`, seed
 * 0x9747b28c, and `toPositive(hash) % partitions`. aiokafka (Python Faust), librdkafka's
 * `murmur2_random` and the Java producer all place a key on the same partition with it.
 * @module
 */

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** The 32-bit signed murmur2 hash of `data`, exactly as Kafka computes it. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M)
    h ^= k
  }
  const tail = length4 * 4
  const rest = length % 4
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8
  if (rest >= 1) {
    h ^= data[tail]! & 0xff
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Kafka's `Utils.toPositive`: clear the sign bit. */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function keyPartition(key: Uint8Array, partitions: number): number {
  return toPositive(murmur2(key)) % partitions
}
