/**
 * Acking and committing exactly as Faust does it: an event is acked when its stream asks for the
 * next one (or the loop breaks or throws); filtered and failed events are acked; a message read
 * by N streams is committable only when all N acked; the committed offset is the highest
 * contiguous acked offset + 1; commits run every brokerCommitEvery acks, every
 * brokerCommitInterval seconds, and at stop, and never include unprocessed events.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Skip } from '../../src/errors.ts'
import type { Event } from '../../src/streams/event.ts'
import { SKIP } from '../../src/streams/stream.ts'
import { VirtualClock } from '../../src/utils/time.ts'
import { commitNow, committable, committed, Gates, idle, newApp, waitFor } from './helpers.ts'

/**
 * No automatic commits: the tests watch what is acked through the consumer's committable offset
 * (highest contiguous acked + 1) and commit explicitly, as the commit timer would.
 */
const manualCommit = { brokerCommitEvery: 10_000, brokerCommitInterval: 1000 }

test('an event is acked when the agent asks for the next one, not before', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('acks', { partitions: 1 })
  const gates = new Gates<number>()
  const seen: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        seen.push(v as number)
        await gates.wait(v as number)
      }
    },
    { name: 'slow' },
  )
  try {
    await app.start()
    for (let i = 0; i < 3; i++) await topic.send({ value: i })
    await waitFor(() => seen.length === 1, 'event 0 delivered')
    await idle()
    // Event 0 is being processed: nothing acked, nothing committable.
    assert.equal(committable(app, 'acks'), undefined)
    assert.equal(app.consumer.stats.acked, 0)
    assert.equal(await commitNow(app, 'acks'), undefined)

    gates.open(0)
    await waitFor(() => seen.length === 2, 'event 1 delivered')
    await idle()
    assert.equal(committable(app, 'acks'), 1, 'event 1 is in progress: not acked')
    assert.equal(await commitNow(app, 'acks'), 1)

    gates.open(1)
    await waitFor(() => committable(app, 'acks') === 2, 'event 1 acked')
    gates.open(2)
    // The agent asks for a 4th event (none yet): that acks event 2.
    await waitFor(() => committable(app, 'acks') === 3, 'event 2 acked')
    assert.equal(await commitNow(app, 'acks'), 3)
    assert.deepEqual(seen, [0, 1, 2])
    assert.equal(app.consumer.stats.acked, 3)
  } finally {
    gates.openAll()
  }
})

test('breaking out of the loop acks the current event (and only it)', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('brk', { partitions: 1 })
  const seen: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        seen.push(v as number)
        if (v === 1) break
      }
    },
    { name: 'breaker' },
  )
  await app.start()
  for (let i = 0; i < 4; i++) await topic.send({ value: i })
  await waitFor(() => committable(app, 'brk') === 2, 'event 1 acked by the break')
  await idle()
  assert.deepEqual(seen, [0, 1])
  assert.equal(committable(app, 'brk'), 2, 'events 2 and 3 were never processed')
  assert.equal(await commitNow(app, 'brk'), 2)
})

test('an event whose processing throws is acked (an error is a skip, not a retry)', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('throws', { partitions: 1 })
  const seen: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        seen.push(v as number)
        if (v === 1) throw new Error('boom on 1')
      }
    },
    // Restarting is the supervisor's business (agents.test.ts); here only the ack matters.
    { name: 'thrower' },
  )
  await app.start()
  await topic.send({ value: 0 })
  await topic.send({ value: 1 })
  await waitFor(() => committable(app, 'throws') === 2, 'the failed event 1 is acked')
  assert.equal(await commitNow(app, 'throws'), 2)
  assert.deepEqual(seen, [0, 1])
})

test('filtered events are acked', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('filtered', { partitions: 1 })
  const seen: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream.filter((v) => (v as number) % 2 === 0)) seen.push(v as number)
    },
    { name: 'evens' },
  )
  await app.start()
  for (let i = 0; i < 6; i++) await topic.send({ value: i })
  // 5 is the last event and is filtered: only its ack can move the commit point to 6.
  await waitFor(() => committable(app, 'filtered') === 6, 'every event acked')
  assert.deepEqual(seen, [0, 2, 4])
  assert.equal(await commitNow(app, 'filtered'), 6)
})

test('events whose processor throws (or returns SKIP / throws Skip) are acked and skipped', async (t) => {
  const { app, logs } = newApp(t, manualCommit)
  const topic = app.topic('procs', { partitions: 1 })
  const seen: number[] = []
  app.agent(
    topic,
    async (stream) => {
      const processed = stream.addProcessor((v) => {
        const n = v as number
        if (n === 1) throw new Error('processor failed on 1')
        if (n === 2) return SKIP
        if (n === 3) throw new Skip()
        return n * 10
      })
      for await (const v of processed) seen.push(v)
    },
    { name: 'procs' },
  )
  await app.start()
  for (let i = 0; i < 5; i++) await topic.send({ value: i })
  await waitFor(() => committable(app, 'procs') === 5, 'every event acked')
  assert.deepEqual(seen, [0, 40])
  const errors = logs.filter((r) => r.level === 'error' && r.msg.includes('stream processor failed'))
  assert.equal(errors.length, 1, 'only the real error is logged, not SKIP or Skip')
  assert.match(errors[0]!.msg, /procs\[0\]@1/)
})

test('a message read by two agents commits only when both acked it', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('shared', { partitions: 1 })
  const gates = new Gates<number>()
  const fast: number[] = []
  const slow: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) fast.push(v as number)
    },
    { name: 'fast' },
  )
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        slow.push(v as number)
        await gates.wait(v as number)
      }
    },
    { name: 'slow' },
  )
  try {
    await app.start()
    for (let i = 0; i < 3; i++) await topic.send({ value: i })
    await waitFor(() => fast.length === 3 && slow.length === 1, 'fast done, slow blocked on 0')
    await idle()
    assert.equal(committable(app, 'shared'), undefined, 'slow still holds event 0')
    assert.equal(app.consumer.stats.acked, 0, 'no message had all its acks')
    assert.equal(await commitNow(app, 'shared'), undefined, 'nothing committed while one stream holds event 0')

    gates.open(0)
    await waitFor(() => committable(app, 'shared') === 1, 'event 0 acked by both')
    await idle()
    assert.equal(await commitNow(app, 'shared'), 1, 'slow holds event 1')

    gates.open(1)
    gates.open(2)
    await waitFor(() => committable(app, 'shared') === 3, 'all acked by both')
    assert.equal(await commitNow(app, 'shared'), 3)
    assert.deepEqual(fast, [0, 1, 2])
    assert.deepEqual(slow, [0, 1, 2])
  } finally {
    gates.openAll()
  }
})

test('noack stream acking out of order (2, 1, 0) commits only the contiguous prefix', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('manual', { partitions: 1 })
  const got: Event[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const event of stream.noack().events()) got.push(event)
    },
    { name: 'manual' },
  )
  await app.start()
  for (let i = 0; i < 3; i++) await topic.send({ value: i })
  await waitFor(() => got.length === 3, 'three events')
  await idle()
  assert.equal(committable(app, 'manual'), undefined, 'noack: moving on acks nothing')

  assert.equal(got[2]!.ack(), true)
  assert.equal(got[2]!.ack(), false, 'a second ack is a no-op')
  assert.equal(got[2]!.acked, true)
  assert.equal(committable(app, 'manual'), undefined)
  assert.deepEqual([...app.consumer.committableOffsets()], [])
  assert.equal(await commitNow(app, 'manual'), undefined)

  got[1]!.ack()
  assert.equal(committable(app, 'manual'), undefined, 'offset 0 is still a gap')
  assert.equal(await commitNow(app, 'manual'), undefined)

  got[0]!.ack()
  assert.equal(committable(app, 'manual'), 3, 'offset 0 closes the gap: 0, 1, 2 are contiguous')
  assert.equal(await commitNow(app, 'manual'), 3)
})

test('concurrency > 1 finishing out of order commits only the contiguous prefix', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('ooo', { partitions: 1 })
  const gates = new Gates<number>()
  const started: number[] = []
  const done: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        started.push(v as number)
        await gates.wait(v as number)
        done.push(v as number)
      }
    },
    { name: 'ooo', concurrency: 3 },
  )
  try {
    await app.start()
    for (let i = 0; i < 3; i++) await topic.send({ value: i })
    await waitFor(() => started.length === 3, 'all three in flight at once')

    gates.open(2)
    await waitFor(() => done.includes(2) && app.consumer.stats.acked === 1, '2 done and acked')
    assert.equal(committable(app, 'ooo'), undefined, '0 and 1 still in flight')
    assert.equal(await commitNow(app, 'ooo'), undefined)

    gates.open(1)
    await waitFor(() => done.includes(1) && app.consumer.stats.acked === 2, '1 done and acked')
    assert.equal(committable(app, 'ooo'), undefined, '0 still in flight')
    assert.equal(await commitNow(app, 'ooo'), undefined)

    gates.open(0)
    await waitFor(() => committable(app, 'ooo') === 3, 'all acked')
    assert.equal(await commitNow(app, 'ooo'), 3)
    assert.deepEqual(done, [2, 1, 0])
  } finally {
    gates.openAll()
  }
})


test('a commit happens after brokerCommitEvery acks', async (t) => {
  const { app } = newApp(t, { brokerCommitEvery: 3, brokerCommitInterval: 1000 })
  const topic = app.topic('every', { partitions: 1 })
  const seen: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) seen.push(v as number)
    },
    { name: 'every' },
  )
  await app.start()
  await topic.send({ value: 0 })
  await topic.send({ value: 1 })
  await waitFor(() => seen.length === 2, 'two processed')
  await idle()
  assert.equal(committed(app, 'every'), undefined, 'two acks < brokerCommitEvery')
  assert.equal(app.consumer.stats.commits, 0)

  await topic.send({ value: 2 })
  await waitFor(() => committed(app, 'every') === 3, 'third ack commits', 1000)
  assert.equal(app.consumer.stats.commits, 1)
})

test('acks that arrive while a commit is in flight are committed too (brokerCommitEvery=1)', async (t) => {
  const { app } = newApp(t, { brokerCommitEvery: 1, brokerCommitInterval: 1000 })
  const topic = app.topic('burst', { partitions: 1 })
  let n = 0
  app.agent(
    topic,
    async (stream) => {
      for await (const _ of stream) n += 1
    },
    { name: 'burst' },
  )
  await app.start()
  for (let i = 0; i < 50; i++) await topic.send({ value: i })
  await waitFor(() => n === 50, 'all processed')
  await waitFor(() => committed(app, 'burst') === 50, 'offset 50 committed without waiting for the interval', 1000)
})

test('a commit happens every brokerCommitInterval seconds (virtual clock)', async (t) => {
  const clock = new VirtualClock(Date.UTC(2024, 0, 1))
  const { app } = newApp(t, { brokerCommitEvery: 10_000, brokerCommitInterval: 2, clock })
  const topic = app.topic('interval', { partitions: 1 })
  const seen: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) seen.push(v as number)
    },
    { name: 'interval' },
  )
  await app.start()
  for (let i = 0; i < 3; i++) await topic.send({ value: i })
  await waitFor(() => seen.length === 3, 'processed')
  await clock.advance(1999)
  await idle()
  assert.equal(committed(app, 'interval'), undefined, 'interval not reached')
  await clock.advance(1)
  await waitFor(() => committed(app, 'interval') === 3, 'committed at 2 s')

  await topic.send({ value: 3 })
  await waitFor(() => seen.length === 4, 'processed')
  await clock.advance(1999)
  await idle()
  assert.equal(committed(app, 'interval'), 3)
  await clock.advance(1)
  await waitFor(() => committed(app, 'interval') === 4, 'committed at 4 s')
})

test('a commit happens every brokerCommitInterval seconds (real clock)', async (t) => {
  const { app } = newApp(t, { brokerCommitEvery: 10_000, brokerCommitInterval: 0.1 })
  const topic = app.topic('interval-rt', { partitions: 1 })
  app.agent(
    topic,
    async (stream) => {
      for await (const _ of stream);
    },
    { name: 'interval-rt' },
  )
  await app.start()
  for (let i = 0; i < 3; i++) await topic.send({ value: i })
  await waitFor(() => committed(app, 'interval-rt') === 3, 'committed by the timer', 2000)
})

test('app.stop() commits what was acked', async (t) => {
  const { app } = newApp(t, { brokerCommitEvery: 10_000, brokerCommitInterval: 1000 })
  const topic = app.topic('onstop', { partitions: 1 })
  const seen: number[] = []
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) seen.push(v as number)
    },
    { name: 'onstop' },
  )
  await app.start()
  for (let i = 0; i < 3; i++) await topic.send({ value: i })
  await waitFor(() => seen.length === 3, 'processed')
  await idle()
  assert.equal(committed(app, 'onstop'), undefined)
  await app.stop()
  assert.equal(committed(app, 'onstop'), 3)
  assert.equal(app.state, 'stopped')
})

test('stop commits nothing unprocessed: buffered events are dropped and read again by the next run', async (t) => {
  const { app, url } = newApp(t, { brokerCommitEvery: 10_000, brokerCommitInterval: 1000 })
  const topic = app.topic('buffered', { partitions: 1 })
  const gates = new Gates<number>()
  const seen: number[] = []
  const agent = app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        seen.push(v as number)
        await gates.wait(v as number)
      }
    },
    { name: 'buffered' },
  )
  try {
    await app.start()
    for (let i = 0; i < 5; i++) await topic.send({ value: i })
    await waitFor(() => seen.length === 1 && agent.queue.size === 4, 'event 0 in flight, 1-4 buffered')

    const stopping = app.stop()
    await idle()
    assert.equal(app.state, 'stopping', 'stop waits for the in-flight event')
    assert.equal(committed(app, 'buffered'), undefined)
    gates.open(0)
    await stopping
  } finally {
    gates.openAll()
  }
  assert.deepEqual(seen, [0])
  assert.equal(committed(app, 'buffered'), 1, 'only the processed event is committed')
  assert.equal(app.consumer.stats.dropped, 4)

  // The next run of the same app (same group) resumes at offset 1.
  const again = newApp(t, manualCommit, { id: app.id, url }).app
  const topic2 = again.topic('buffered', { partitions: 1 })
  const seen2: number[] = []
  again.agent(
    topic2,
    async (stream) => {
      for await (const v of stream) seen2.push(v as number)
    },
    { name: 'buffered' },
  )
  await again.start()
  await waitFor(() => seen2.length === 4, 'the rest processed')
  await again.stop()
  assert.deepEqual(seen2, [1, 2, 3, 4])
  assert.equal(committed(again, 'buffered'), 5)
})

test('a commit covers only the events acked before its flush began (their changelog changes are flushed; later ones are not)', async (t) => {
  const { app } = newApp(t)
  const topic = app.topic('in', { valueType: Number })
  let processed = 0
  app.agent(topic, async (stream) => {
    for await (const _ of stream) processed += 1
  }, { name: 'count' })
  await app.start()
  for (let i = 0; i < 5; i++) await topic.send({ value: i })
  await waitFor(() => processed === 5, 'five processed')
  // While the commit flushes (the producer waits for the broker), the agent goes on: five more.
  const flush = app.producer.flush.bind(app.producer)
  let first = true
  app.producer.flush = async () => {
    if (first) {
      first = false
      for (let i = 5; i < 10; i++) await topic.send({ value: i })
      await waitFor(() => processed === 10, 'ten processed')
      await idle(20)
    }
    await flush()
  }
  await app.consumer.commit()
  assert.equal(committed(app, 'in'), 5, 'the five acked during the flush wait for the next commit')
  await app.consumer.commit()
  assert.equal(committed(app, 'in'), 10)
})
