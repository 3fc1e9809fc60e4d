import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { settle, sleep, systemClock, VirtualClock } from './time.ts'

describe('sleep', () => {
  test('resolves true after the delay', async () => {
    const t0 = performance.now()
    assert.equal(await sleep(20), true)
    assert.ok(performance.now() - t0 >= 15)
  })

  test('resolves false at once with an already-aborted signal', async () => {
    const t0 = performance.now()
    assert.equal(await sleep(10_000, AbortSignal.abort()), false)
    assert.ok(performance.now() - t0 < 1000)
  })

  test('resolves false (never rejects) when aborted while sleeping', async () => {
    const ac = new AbortController()
    const t0 = performance.now()
    setTimeout(() => ac.abort(new Error('custom reason')), 10)
    assert.equal(await sleep(10_000, ac.signal), false)
    assert.ok(performance.now() - t0 < 1000)
  })

  test('a negative delay is treated as zero', async () => {
    assert.equal(await sleep(-50), true)
  })
})

describe('systemClock', () => {
  test('reads the wall clock and sleeps for real', async () => {
    const before = Date.now()
    const now = systemClock.now()
    assert.ok(now >= before && now <= Date.now())
    assert.equal(await systemClock.sleep(1), true)
  })
})

describe('VirtualClock', () => {
  test('starts where told and moves only when advanced', async () => {
    const clock = new VirtualClock(5000)
    assert.equal(clock.now(), 5000)
    await sleep(5)
    assert.equal(clock.now(), 5000)
    await clock.advance(250)
    assert.equal(clock.now(), 5250)
    assert.equal(new VirtualClock().now(), 0)
  })

  test('a sleeper wakes (true) only when its time is reached', async () => {
    const clock = new VirtualClock()
    let woke: boolean | undefined
    void clock.sleep(100).then((v) => {
      woke = v
    })
    await clock.advance(99)
    assert.equal(woke, undefined)
    await clock.advance(1)
    assert.equal(woke, true)
  })

  test('sleepers wake in time order, each seeing its own wake time, before the next wakes', async () => {
    const clock = new VirtualClock()
    const seen: Array<[string, number]> = []
    const sleeper = async (name: string, ms: number) => {
      await clock.sleep(ms)
      seen.push([name, clock.now()])
    }
    void sleeper('c', 300)
    void sleeper('a', 100)
    void sleeper('b', 200)
    void sleeper('a2', 100)
    await clock.advance(1000)
    assert.deepEqual(seen, [
      ['a', 100],
      ['a2', 100],
      ['b', 200],
      ['c', 300],
    ])
    assert.equal(clock.now(), 1000)
  })

  test('a sleeper that sleeps again within the same advance is woken too', async () => {
    const clock = new VirtualClock()
    const ticks: number[] = []
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100)
        ticks.push(clock.now())
      }
    })()
    await clock.advance(250)
    assert.deepEqual(ticks, [100, 200])
    await clock.advance(50)
    assert.deepEqual(ticks, [100, 200, 300])
  })

  test('sleep(0) and negative sleeps wake on the next advance, even advance(0)', async () => {
    const clock = new VirtualClock(10)
    const results: boolean[] = []
    void clock.sleep(0).then((v) => results.push(v))
    void clock.sleep(-5).then((v) => results.push(v))
    await settle()
    assert.deepEqual(results, [], 'a virtual sleep never resolves on its own')
    await clock.advance(0)
    assert.deepEqual(results, [true, true])
    assert.equal(clock.now(), 10)
  })

  test('abort resolves the sleeper false, removes it, and later advances do not touch it', async () => {
    const clock = new VirtualClock()
    const ac = new AbortController()
    const results: boolean[] = []
    void clock.sleep(100, ac.signal).then((v) => results.push(v))
    ac.abort()
    await settle()
    assert.deepEqual(results, [false])
    await clock.advance(200)
    assert.deepEqual(results, [false])
    assert.equal(await clock.sleep(100, AbortSignal.abort()), false)
  })

  test('set() jumps to an absolute time and never goes backwards', async () => {
    const clock = new VirtualClock(1000)
    let woke = false
    void clock.sleep(500).then(() => {
      woke = true
    })
    await clock.set(1500)
    assert.equal(woke, true)
    assert.equal(clock.now(), 1500)
    await clock.set(100)
    assert.equal(clock.now(), 1500)
  })
})

describe('settle', () => {
  test('lets promise chains and setImmediate callbacks run', async () => {
    let done = false
    setImmediate(() => {
      void Promise.resolve().then(() => {
        done = true
      })
    })
    await settle(1)
    assert.equal(done, true)
  })
})
