import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MinHeap } from './heap.ts'

test('MinHeap pops in priority order', () => {
  const heap = new MinHeap<string>()
  const values = Array.from({ length: 200 }, (_, i) => (i * 7919) % 211)
  for (const v of values) heap.push(v, `v${v}`)
  assert.equal(heap.size, 200)
  assert.equal(heap.peek()?.at, Math.min(...values))
  const out: number[] = []
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push(e.at)
  assert.deepEqual(out, [...values].sort((a, b) => a - b))
  assert.equal(heap.size, 0)
})
