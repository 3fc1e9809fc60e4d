import assert from 'node:assert/strict'
import { test } from 'node:test'
import { keyPartition, murmur2, toPositive } from './murmur2.ts'

// Vectors from Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (testMurmur2).
const vectors: Array<[Uint8Array, number]> = [
  [Buffer.from('21'), -973932308],
  [Buffer.from('foobar'), -790332482],
  [Buffer.from('a-little-bit-long-string'), -985981536],
  [Buffer.from('a-little-bit-longer-string'), -1486304829],
  [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
  [Buffer.from([0x61, 0x62, 0x63]), 479470107],
]

test('murmur2 matches the Java client on its own test vectors', () => {
  for (const [data, expected] of vectors) assert.equal(murmur2(data), expected, Buffer.from(data).toString())
})

test('toPositive clears the sign bit and keyPartition stays in range', () => {
  assert.equal(toPositive(-973932308), -973932308 & 0x7fffffff)
  assert.equal(toPositive(5), 5)
  for (const [data] of vectors) {
    const p = keyPartition(data, 8)
    assert.ok(p >= 0 && p < 8)
    assert.equal(p, toPositive(murmur2(data)) % 8)
  }
})

test('murmur2 handles empty input and every tail length', () => {
  assert.equal(typeof murmur2(new Uint8Array(0)), 'number')
  const seen = new Set<number>()
  for (let n = 0; n < 9; n++) seen.add(murmur2(Buffer.alloc(n, 7)))
  assert.equal(seen.size, 9)
})
