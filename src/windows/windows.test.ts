/**
 * Window arithmetic against golden values printed by Python Faust 0.15.3's own (Cython) windows,
 * so a window key written here is the one Faust writes.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ImproperlyConfigured } from '../errors.ts'
import { HoppingWindow, SessionWindow, SlidingWindow, TumblingWindow } from './windows.ts'

test('hopping(60, 10): ranges, current, earliest and delta as Faust computes them', () => {
  const h = new HoppingWindow(60, 10)
  const golden: Array<[number, Array<[number, number]>, [number, number], [number, number]]> = [
    [0, [[-50, 9.9], [-40, 19.9], [-30, 29.9], [-20, 39.9], [-10, 49.9], [0, 59.9]], [0, 59.9], [-30, 29.9]],
    [5, [[-50, 9.9], [-40, 19.9], [-30, 29.9], [-20, 39.9], [-10, 49.9], [0, 59.9]], [0, 59.9], [-30, 29.9]],
    [59.9, [[0, 59.9], [10, 69.9], [20, 79.9], [30, 89.9], [40, 99.9], [50, 109.9]], [50, 109.9], [20, 79.9]],
    [60, [[10, 69.9], [20, 79.9], [30, 89.9], [40, 99.9], [50, 109.9], [60, 119.9]], [60, 119.9], [30, 89.9]],
    [
      1700000005.123,
      [[1699999950, 1700000009.9], [1699999960, 1700000019.9], [1699999970, 1700000029.9], [1699999980, 1700000039.9], [1699999990, 1700000049.9], [1700000000, 1700000059.9]],
      [1700000000, 1700000059.9],
      [1699999970, 1700000029.9],
    ],
  ]
  for (const [t, ranges, current, delta30] of golden) {
    assert.deepEqual(h.ranges(t), ranges, `ranges(${t})`)
    assert.deepEqual(h.current(t), current, `current(${t})`)
    assert.deepEqual(h.earliest(t), ranges[0], `earliest(${t})`)
    assert.deepEqual(h.delta(t, 30), delta30, `delta(${t}, 30)`)
  }
  assert.equal(h.endOf([0, 59.9]), 60, 'a window ends (stops accepting) at start + size')
})

test('tumbling(10): one window per timestamp, the end is exclusive', () => {
  const w = new TumblingWindow(10)
  assert.deepEqual(w.ranges(0), [[0, 9.9]])
  assert.deepEqual(w.ranges(9.99), [[0, 9.9]])
  assert.deepEqual(w.ranges(10), [[10, 19.9]])
  assert.deepEqual(w.current(1700000005.5), [1700000000, 1700000009.9])
  assert.equal(w.kind, 'tumbling')
})

test('sliding(5, 2): one window [t - before, t + after] per event', () => {
  const w = new SlidingWindow(5, 2)
  assert.deepEqual(w.ranges(100.5), [[95.5, 102.5]])
  assert.equal(w.endOf([95.5, 102.5]), 102.5)
})

test('session(30): a lone event is a session [t, t], over once gap seconds pass after its last event', () => {
  const w = new SessionWindow(30)
  assert.deepEqual(w.ranges(100), [[100, 100]])
  assert.equal(w.endOf([100, 140]), 170)
})

test('bad window arguments are configuration errors', () => {
  assert.throws(() => new HoppingWindow(10, 20), ImproperlyConfigured)
  assert.throws(() => new TumblingWindow(0), ImproperlyConfigured)
  assert.throws(() => new SlidingWindow(0, 0), ImproperlyConfigured)
  assert.throws(() => new SessionWindow(-1), ImproperlyConfigured)
})
