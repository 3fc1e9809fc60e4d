/**
 * Agents in a running app: typed values, concurrency, async-generator agents and their sinks,
 * agent.send, and what the supervisor does with a crash.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import { ImproperlyConfigured, SupervisorGaveUp } from '../../src/errors.ts'
import { commitNow, committable, Gates, idle, jsonValues, newApp, records, waitFor } from './helpers.ts'

const manualCommit = { brokerCommitEvery: 10_000, brokerCommitInterval: 1000 }

const Order = z.object({
  id: z.number(),
  amount: z.number(),
  tags: z.array(z.string()).default([]),
})
type Order = z.infer<typeof Order>

test('a zod valueType gives the agent validated, typed values; invalid ones are skipped and acked', async (t) => {
  const { app, logs } = newApp(t, manualCommit)
  const orders = app.topic('orders', { valueType: Order, partitions: 1 })
  const got: Order[] = []
  let total = 0
  app.agent(
    orders,
    async (stream) => {
      for await (const order of stream) {
        total += order.amount // typed: number
        got.push(order)
      }
    },
    { name: 'orders' },
  )
  await app.start()
  await orders.send({ value: { id: 1, amount: 9.5, tags: ['a'] } })
  // Encoding does not validate: a bad value reaches the topic and fails to decode.
  await app.send('orders', { value: { id: 'two', amount: 'lots' } })
  await orders.send({ value: { id: 3, amount: 0.5 } as Order })
  await waitFor(() => committable(app, 'orders') === 3, 'all three acked')
  assert.deepEqual(got, [
    { id: 1, amount: 9.5, tags: ['a'] },
    { id: 3, amount: 0.5, tags: [] }, // the schema's default was applied on decode
  ])
  assert.equal(total, 10)
  assert.equal(app.decodeErrors, 1)
  const err = logs.find((r) => r.level === 'error' && /orders\[0\]@1/.test(r.msg))
  assert.ok(err, 'the decode error names topic, partition and offset')
  assert.equal(await commitNow(app, 'orders'), 3, 'the undecodable message is committed (skipped)')
})

test('an agent without a channel reads its own topic <app-id>-<name>; agent.send() goes there', async (t) => {
  const { app, broker } = newApp(t, { ...manualCommit, topicPartitions: 3 })
  const got: Array<[unknown, unknown]> = []
  const greeter = app.agent(
    undefined,
    async (stream) => {
      for await (const [k, v] of stream.items()) got.push([k, v])
    },
    { name: 'greeter', keyType: String, valueType: String, valueSerializer: 'raw' },
  )
  assert.equal(greeter.channel.label, `${app.id}-greeter`)
  await app.start()
  const md = await greeter.send({ key: 'k', value: 'hello' })
  assert.equal(md?.topic, `${app.id}-greeter`)
  await waitFor(() => got.length === 1, 'greeted')
  assert.deepEqual(got, [['k', 'hello']])
  assert.equal(broker.topics.get(`${app.id}-greeter`)?.partitions.length, 3, 'internal topic created with topicPartitions')
  assert.equal(records(app, `${app.id}-greeter`)[0]?.value?.toString(), 'hello', 'raw value serializer')
  assert.deepEqual(greeter.describe(), {
    name: 'greeter',
    topic: `${app.id}-greeter`,
    concurrency: 1,
    sinks: [],
    help: '',
  })
})

test('concurrency: N actors process events in parallel', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('work', { partitions: 1 })
  let inflight = 0
  let maxInflight = 0
  const done: number[] = []
  const agent = app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        inflight += 1
        maxInflight = Math.max(maxInflight, inflight)
        await new Promise((r) => setTimeout(r, 50))
        inflight -= 1
        done.push(v as number)
      }
    },
    { name: 'work', concurrency: 4 },
  )
  await app.start()
  assert.equal(agent.actors.length, 4)
  const started = Date.now()
  for (let i = 0; i < 8; i++) await topic.send({ value: i })
  await waitFor(() => done.length === 8, 'all done')
  const took = Date.now() - started
  assert.equal(maxInflight, 4)
  assert.ok(took < 300, `8 × 50 ms with 4 actors took ${took} ms`)
  assert.deepEqual(done.slice().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7])
  await waitFor(() => committable(app, 'work') === 8, 'all acked')
})

test('an async-generator agent delivers what it yields to its sinks: topic, agent and function', async (t) => {
  const { app } = newApp(t, manualCommit)
  const source = app.topic('numbers', { partitions: 1 })
  // A topic is a Sink<R> only if it takes R values (valueType Number here): see Sink in agent.ts.
  const out = app.topic('doubled', { valueType: Number, partitions: 1 })
  const collected: unknown[] = []
  const collector = app.agent(
    undefined,
    async (stream) => {
      for await (const v of stream) collected.push(v)
    },
    { name: 'collector' },
  )
  const fnSink: number[] = []
  const asyncSink: number[] = []
  const doubler = app.agent(
    source,
    async function* (stream) {
      for await (const v of stream) yield (v as number) * 2
    },
    {
      name: 'doubler',
      sink: [
        out,
        collector,
        (v: number) => {
          fnSink.push(v)
        },
        async (v: number) => {
          await new Promise((r) => setTimeout(r, 1))
          asyncSink.push(v)
        },
      ],
    },
  )
  await app.start()
  for (let i = 0; i < 3; i++) await source.send({ value: i })
  // Sinks get each value in order, so the last sink finishing means all got it.
  await waitFor(() => asyncSink.length === 3 && collected.length === 3, 'every sink got all')
  assert.deepEqual(fnSink, [0, 2, 4])
  assert.deepEqual(asyncSink, [0, 2, 4])
  assert.deepEqual(collected, [0, 2, 4])
  assert.deepEqual(jsonValues(app, 'doubled'), [0, 2, 4])
  assert.equal(doubler.actors[0]?.yielded, 3)
  assert.deepEqual(doubler.describe().sinks, ['doubled', 'agent:collector', 'fn:anonymous', 'fn:anonymous'])
  await waitFor(() => committable(app, 'numbers') === 3, 'source acked')
})

test('a generator agent acks an event only after its yielded value reached the sinks', async (t) => {
  const { app } = newApp(t, manualCommit)
  const source = app.topic('gen-ack', { partitions: 1 })
  const gates = new Gates<number>()
  const delivered: number[] = []
  app.agent(
    source,
    async function* (stream) {
      for await (const v of stream) yield v as number
    },
    {
      name: 'gen-ack',
      sink: [
        async (v: number) => {
          await gates.wait(v)
          delivered.push(v)
        },
      ],
    },
  )
  try {
    await app.start()
    await source.send({ value: 0 })
    await source.send({ value: 1 })
    await idle()
    assert.equal(committable(app, 'gen-ack'), undefined, 'sink still busy with 0')
    gates.open(0)
    await waitFor(() => committable(app, 'gen-ack') === 1, 'event 0 acked after delivery')
    gates.open(1)
    await waitFor(() => committable(app, 'gen-ack') === 2, 'event 1 acked')
    assert.deepEqual(delivered, [0, 1])
  } finally {
    gates.openAll()
  }
})


test('an exception while processing an event is logged, the event acked, and the agent goes on (errorPolicy skip)', async (t) => {
  const { app, logs } = newApp(t, manualCommit)
  const topic = app.topic('fragile', { partitions: 1 })
  const seen: string[] = []
  const agent = app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) {
        seen.push(v as string)
        if (v === 'boom') throw new Error('boom!')
      }
    },
    { name: 'fragile' },
  )
  await app.start()
  for (const v of ['a', 'boom', 'c', 'd']) await topic.send({ value: v })
  await waitFor(() => seen.length === 4, 'processed after the error', 1500)
  assert.deepEqual(seen, ['a', 'boom', 'c', 'd'], 'boom is not retried')
  assert.deepEqual(agent.errors, { skip: 1, dlq: 0, fail: 0 })
  assert.equal(agent.restarts, 0, 'no supervisor restart: the error was handled')
  assert.equal(app.state, 'running')
  assert.ok(logs.some((r) => r.level === 'error' && /fragile\[0\]@1/.test(r.msg) && /boom!/.test(r.msg)), 'logged with where it happened')
  await waitFor(() => committable(app, 'fragile') === 4, 'all acked')
})

test('errorPolicy fail: the failing event is not acked and the app stops', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('strict', { partitions: 1 })
  app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) if (v === 'boom') throw new Error('fatal boom')
    },
    { name: 'strict', errorPolicy: 'fail' },
  )
  await app.start()
  for (const v of ['ok', 'boom', 'later']) await topic.send({ value: v })
  await waitFor(() => app.state === 'crashed', 'app crashed')
  assert.match(app.crashReason?.message ?? '', /fatal boom/)
  assert.equal((app.crashReason as { offset?: number } | undefined)?.offset, 1)
  assert.equal(committable(app, 'strict'), 1, 'the commit point stops before the failed event')
})

/** An agent whose function throws when it starts, the first `times` times: a crash, not an event error. */
function crashingAtStart(times: number) {
  let starts = 0
  return {
    get starts() {
      return starts
    },
    fn: async (stream: AsyncIterable<unknown>) => {
      starts += 1
      if (starts <= times) throw new Error(`setup failed (${starts})`)
      for await (const _ of stream);
    },
  }
}

test('a crashing agent is restarted by its supervisor', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('fragile-start', { partitions: 1 })
  const crash = crashingAtStart(1)
  const agent = app.agent(topic, crash.fn, { name: 'fragile-start' })
  await app.start()
  await waitFor(() => crash.starts === 2, 'restarted', 1500)
  assert.equal(agent.restarts, 1)
  assert.equal(app.state, 'running')
  assert.equal(agent.actors[0]?.state, 'running')
})

test('supervisorStrategy "crashing": an agent crash crashes the app', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('fatal', { partitions: 1 })
  const crash = crashingAtStart(1)
  const agent = app.agent(topic, crash.fn, { name: 'fatal', supervisorStrategy: 'crashing' })
  await app.start().catch(() => {})
  await waitFor(() => app.state === 'crashed', 'app crashed')
  assert.match(app.crashReason?.message ?? '', /setup failed/)
  assert.equal(agent.restarts, 0)
  await app.stop()
  assert.equal(app.state, 'stopped')
})

test('more than maxRestarts crashes escalate: the supervisor gives up and the app crashes', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('always-fails', { partitions: 1 })
  const crash = crashingAtStart(Number.MAX_SAFE_INTEGER)
  const agent = app.agent(topic, crash.fn, { name: 'always-fails', maxRestarts: 2 })
  await app.start().catch(() => {})
  await waitFor(() => app.state === 'crashed', 'app crashed', 3000)
  assert.ok(app.crashReason instanceof SupervisorGaveUp, `crash reason: ${String(app.crashReason)}`)
  assert.equal(agent.restarts, 2)
})

test('supervisorStrategy "one_for_all" restarts every actor of the agent', async (t) => {
  const { app } = newApp(t, manualCommit)
  const topic = app.topic('all', { partitions: 1 })
  const crash = crashingAtStart(1)
  const agent = app.agent(topic, crash.fn, { name: 'all', concurrency: 2, supervisorStrategy: 'one_for_all' })
  await app.start()
  await waitFor(() => crash.starts === 4, 'both actors restarted', 3000)
  assert.equal(agent.restarts, 2)
  assert.equal(app.state, 'running')
})

test('agent definitions are checked: unique names, defined before start, positive concurrency', async (t) => {
  const { app } = newApp(t)
  const topic = app.topic('defs')
  const body = async (stream: AsyncIterable<unknown>) => {
    for await (const _ of stream);
  }
  app.agent(topic, body, { name: 'one' })
  assert.throws(() => app.agent(topic, body, { name: 'one' }), ImproperlyConfigured)
  assert.throws(() => app.agent(topic, body, { name: 'two', concurrency: 0 }), ImproperlyConfigured)
  assert.throws(() => app.agent(topic, async () => {}, { name: '' }), ImproperlyConfigured)
  await app.start()
  assert.throws(() => app.agent(topic, body, { name: 'late' }), ImproperlyConfigured)
})
