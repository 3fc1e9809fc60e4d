import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { BoundedQueue, TIMEOUT } from './queue.ts'
import { settle } from './time.ts'

/** A queue whose hooks count their calls. */
function counted<T>(maxsize: number): { q: BoundedQueue<T>; full: () => number; drained: () => number } {
  let full = 0
  let drained = 0
  const q = new BoundedQueue<T>(maxsize, {
    onFull: () => {
      full += 1
    },
    onDrain: () => {
      drained += 1
    },
  })
  return { q, full: () => full, drained: () => drained }
}

describe('BoundedQueue putNowait and hooks', () => {
  test('putNowait returns false exactly when the put fills the queue', () => {
    const { q, full } = counted<number>(3)
    assert.equal(q.putNowait(1), true)
    assert.equal(q.putNowait(2), true)
    assert.equal(q.isFull, false)
    assert.equal(full(), 0)
    assert.equal(q.putNowait(3), false)
    assert.equal(q.isFull, true)
    assert.equal(q.size, 3)
    assert.equal(full(), 1)
  })

  test('putNowait never drops: past maxsize it keeps buffering, and onFull fires once', () => {
    const { q, full } = counted<number>(2)
    q.putNowait(1)
    q.putNowait(2)
    assert.equal(q.putNowait(3), false)
    assert.equal(q.putNowait(4), false)
    assert.equal(q.size, 4)
    assert.equal(full(), 1)
    assert.deepEqual([q.tryGet(), q.tryGet(), q.tryGet(), q.tryGet(), q.tryGet()], [1, 2, 3, 4, undefined])
  })

  test('onDrain fires once when the queue drains to half of maxsize', () => {
    const { q, full, drained } = counted<number>(4)
    for (let i = 0; i < 4; i++) q.putNowait(i)
    assert.equal(full(), 1)
    q.tryGet() // 3 left
    assert.equal(drained(), 0)
    q.tryGet() // 2 left = half
    assert.equal(drained(), 1)
    q.tryGet()
    q.tryGet()
    assert.equal(drained(), 1, 'only once per fill')
    // It can fill and drain again.
    for (let i = 0; i < 4; i++) q.putNowait(i)
    assert.equal(full(), 2)
    q.tryGet()
    q.tryGet()
    assert.equal(drained(), 2)
  })

  test('onDrain with an odd maxsize fires at or below half', () => {
    const { q, drained } = counted<number>(5)
    for (let i = 0; i < 5; i++) q.putNowait(i)
    q.tryGet()
    q.tryGet() // 3 left > 2.5
    assert.equal(drained(), 0)
    q.tryGet() // 2 left
    assert.equal(drained(), 1)
  })

  test('onDrain does not fire if the queue never filled', () => {
    const { q, drained } = counted<number>(4)
    q.putNowait(1)
    q.putNowait(2)
    q.tryGet()
    q.tryGet()
    assert.equal(drained(), 0)
  })

  test('hooks can be replaced after construction', () => {
    const q = new BoundedQueue<number>(1)
    let full = 0
    q.hooks = { onFull: () => (full += 1) }
    q.putNowait(1)
    assert.equal(full, 1)
  })

  test('a waiting getter takes the item directly; the queue stays empty', async () => {
    const { q, full } = counted<string>(1)
    const pending = q.get()
    assert.equal(q.putNowait('x'), true)
    assert.equal(q.size, 0)
    assert.equal(full(), 0)
    assert.equal(await pending, 'x')
  })

  test('FIFO order holds across the internal compaction', () => {
    const q = new BoundedQueue<number>(10_000)
    for (let i = 0; i < 3000; i++) q.putNowait(i)
    const out: number[] = []
    for (let i = 0; i < 1500; i++) out.push(q.tryGet() ?? -1)
    for (let i = 3000; i < 3500; i++) q.putNowait(i)
    let v: number | undefined
    while ((v = q.tryGet()) !== undefined) out.push(v)
    assert.deepEqual(
      out,
      Array.from({ length: 3500 }, (_, i) => i),
    )
  })
})

describe('BoundedQueue get', () => {
  test('get returns buffered items in order without waiting', async () => {
    const q = new BoundedQueue<number>(10)
    q.putNowait(1)
    q.putNowait(2)
    assert.equal(await q.get(), 1)
    assert.equal(await q.get(), 2)
  })

  test('get resolves TIMEOUT when the deadline passes first, and the late item stays queued', async () => {
    const q = new BoundedQueue<string>(10)
    const t0 = Date.now()
    const result = await q.get(undefined, t0 + 30)
    assert.equal(result, TIMEOUT)
    assert.ok(Date.now() - t0 >= 25, 'waited for the deadline')
    q.putNowait('late')
    assert.equal(q.size, 1, 'the timed-out getter did not swallow the item')
    assert.equal(await q.get(), 'late')
  })

  test('the deadline is measured with the given now()', async () => {
    const q = new BoundedQueue<string>(10)
    const t0 = Date.now()
    // now() says it is 1000, so a deadline of 1020 is 20ms away (not 1020ms after the epoch).
    assert.equal(await q.get(undefined, 1020, () => 1000), TIMEOUT)
    const waited = Date.now() - t0
    assert.ok(waited >= 15 && waited < 1000, `waited ${waited}ms`)
    // A deadline already in the past times out at once.
    assert.equal(await q.get(undefined, 0, () => 1000), TIMEOUT)
  })

  test('an item that arrives before the deadline wins', async () => {
    const q = new BoundedQueue<string>(10)
    const pending = q.get(undefined, Date.now() + 5000)
    setTimeout(() => q.putNowait('in time'), 5)
    assert.equal(await pending, 'in time')
  })

  test('an aborted signal resolves undefined and drops the getter', async () => {
    const q = new BoundedQueue<string>(10)
    const ac = new AbortController()
    const pending = q.get(ac.signal)
    ac.abort()
    assert.equal(await pending, undefined)
    q.putNowait('kept')
    assert.equal(q.size, 1)
    assert.equal(await q.get(AbortSignal.abort()), 'kept', 'a buffered item is still returned')
    assert.equal(await q.get(AbortSignal.abort()), undefined)
  })
})

describe('BoundedQueue put', () => {
  test('put waits for room and resolves true once an item is taken', async () => {
    const q = new BoundedQueue<number>(1)
    assert.equal(await q.put(1), true)
    let done = false
    const pending = q.put(2).then((v) => {
      done = true
      return v
    })
    await settle()
    assert.equal(done, false, 'waiting for room')
    assert.equal(q.tryGet(), 1)
    assert.equal(await pending, true)
    assert.equal(q.tryGet(), 2)
  })

  test('put resolves false when aborted while waiting', async () => {
    const q = new BoundedQueue<number>(1)
    await q.put(1)
    const ac = new AbortController()
    const pending = q.put(2, ac.signal)
    ac.abort()
    assert.equal(await pending, false)
    assert.equal(q.size, 1)
  })
})

describe('BoundedQueue close and clear', () => {
  test('close wakes waiting getters and putters; later puts are ignored', async () => {
    const q = new BoundedQueue<number>(1)
    const getter = new BoundedQueue<number>(1)
    const waitingGet = getter.get()
    getter.close()
    assert.equal(await waitingGet, undefined)
    assert.equal(getter.closed, true)

    q.putNowait(1)
    const waitingPut = q.put(2)
    q.close()
    assert.equal(await waitingPut, false)
    assert.equal(q.putNowait(3), true, 'putNowait on a closed queue reports no back-pressure')
    assert.equal(await q.put(4), false)
    assert.equal(q.size, 1, 'nothing was added after close')
    assert.equal(await q.get(), 1, 'items buffered before close can still be read')
    assert.equal(await q.get(), undefined)
  })

  test('clear drops and returns the buffered items, firing onDrain and waking putters', async () => {
    const { q, drained } = counted<number>(2)
    q.putNowait(1)
    q.putNowait(2)
    const waitingPut = q.put(3)
    assert.deepEqual(q.clear(), [1, 2])
    assert.equal(q.size, 0)
    assert.equal(drained(), 1)
    assert.equal(await waitingPut, true)
    assert.deepEqual(q.clear(), [3])
  })

  test('clear after partial reads returns only the unread items', () => {
    const q = new BoundedQueue<number>(10)
    for (const i of [1, 2, 3]) q.putNowait(i)
    q.tryGet()
    assert.deepEqual(q.clear(), [2, 3])
    assert.equal(q.tryGet(), undefined)
  })
})

describe('BoundedQueue readable', () => {
  test('resolves at once when items are buffered or the queue is closed', async () => {
    const q = new BoundedQueue<number>(4)
    q.putNowait(1)
    await q.readable()
    assert.equal(q.size, 1, 'readable() does not take the item')
    const closed = new BoundedQueue<number>(4)
    closed.close()
    await closed.readable()
  })

  test('waits for an item and leaves it for the next get', async () => {
    const q = new BoundedQueue<string>(4)
    let ready = false
    const pending = q.readable().then(() => {
      ready = true
    })
    await settle()
    assert.equal(ready, false)
    q.putNowait('a')
    q.putNowait('b')
    await pending
    assert.equal(q.size, 2)
    assert.equal(await q.get(), 'a', 'the peeked item is first')
    assert.equal(await q.get(), 'b')
  })

  test('resolves when closed or aborted while waiting', async () => {
    const q = new BoundedQueue<string>(4)
    const byClose = q.readable()
    q.close()
    await byClose
    const r = new BoundedQueue<string>(4)
    const ac = new AbortController()
    const byAbort = r.readable(ac.signal)
    ac.abort()
    await byAbort
    r.putNowait('x')
    assert.equal(r.size, 1, 'the aborted waiter no longer intercepts puts')
    assert.equal(r.tryGet(), 'x')
  })
})

describe('BoundedQueue with several readable() waiters', () => {
  // Stream#takeMerged calls readable() on every idle lane each time it waits, so an idle queue
  // collects several readable() waiters before its next items arrive.
  test(
    'items put while several readable() waiters are pending keep FIFO order',
    async () => {
      const q = new BoundedQueue<string>(10)
      const waits = [q.readable(), q.readable(), q.readable()]
      q.putNowait('a')
      q.putNowait('b')
      q.putNowait('c')
      await Promise.all(waits)
      assert.deepEqual([q.tryGet(), q.tryGet(), q.tryGet()], ['a', 'b', 'c'])
    },
  )

  test(
    'readable() waiters do not bypass back-pressure',
    async () => {
      const { q, full } = counted<string>(2)
      const waits = [q.readable(), q.readable(), q.readable()]
      const results = [q.putNowait('a'), q.putNowait('b'), q.putNowait('c')]
      await Promise.all(waits)
      assert.equal(q.size, 3)
      assert.deepEqual(results, [true, false, false])
      assert.equal(full(), 1)
    },
  )
})
