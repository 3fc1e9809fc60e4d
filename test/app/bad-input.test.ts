/**
 * Bad input never crashes a worker silently and never loses a message: decode errors and agent
 * exceptions follow the error policy (skip, dlq, fail), per app, topic and agent.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import { AgentCrashed, ValueDecodeError } from '../../src/errors.ts'
import { committable, newApp, records, waitFor } from './helpers.ts'

const Order = z.object({ id: z.number(), amount: z.number() })

function header(r: { headers: Array<[string, Buffer]> }, name: string): string | undefined {
  return r.headers.find(([k]) => k === name)?.[1].toString()
}

test('skip (the default): logged with topic, partition, offset and reason, counted, and committed past', async (t) => {
  const { app, logs } = newApp(t)
  const orders = app.topic('orders', { valueType: Order })
  const got: number[] = []
  app.agent(orders, async (s) => {
    for await (const o of s) got.push(o.id)
  }, { name: 'orders' })
  await app.start()
  await orders.send({ value: { id: 1, amount: 2 } })
  await orders.sendRaw({ key: null, value: Buffer.from('not json') })
  await orders.send({ value: { id: 3, amount: 4 } })
  await waitFor(() => committable(app, 'orders') === 3, 'all three acked')
  assert.deepEqual(got, [1, 3])
  assert.deepEqual(app.errorStats, { skip: 1, dlq: 0, fail: 0 })
  const line = logs.find((r) => r.level === 'error' && /orders\[0\]@1/.test(r.msg))
  assert.ok(line, 'the error names topic, partition and offset')
  assert.match(line.msg, /Unexpected token|JSON/)
  assert.equal(records(app, 'orders-dlq').length, 0)
})

test('dlq: the original key, value bytes and headers go to <topic>-dlq with KIP-1034 error headers', async (t) => {
  const { app } = newApp(t, { errorPolicy: 'dlq' })
  const orders = app.topic('orders', { valueType: Order })
  const got: number[] = []
  app.agent(orders, async (s) => {
    for await (const o of s) got.push(o.id)
  }, { name: 'orders' })
  await app.start()
  await orders.sendRaw({ key: Buffer.from('k-bad'), value: Buffer.from('{"id": "x"}'), headers: [['trace', Buffer.from('t-1')]] })
  await orders.send({ value: { id: 2, amount: 1 } })
  await waitFor(() => committable(app, 'orders') === 2, 'both acked')
  assert.deepEqual(got, [2])
  const [dead] = records(app, 'orders-dlq')
  assert.ok(dead, 'the bad message is in the dead-letter topic')
  assert.equal(dead.key?.toString(), 'k-bad')
  assert.equal(dead.value?.toString(), '{"id": "x"}')
  assert.equal(header(dead, 'trace'), 't-1', 'original headers kept')
  assert.equal(header(dead, '__streams.errors.exception'), 'ValueDecodeError')
  assert.match(header(dead, '__streams.errors.message') ?? '', /orders\[0\]@0.*id/)
  assert.match(header(dead, '__streams.errors.stacktrace') ?? '', /ValueDecodeError/)
  assert.equal(header(dead, '__streams.errors.topic'), 'orders')
  assert.equal(header(dead, '__streams.errors.partition'), '0')
  assert.equal(header(dead, '__streams.errors.offset'), '0')
  assert.deepEqual(app.errorStats, { skip: 0, dlq: 1, fail: 0 })
})

test('fail: the worker stops, and the bad message is not committed (it is read again after a restart)', async (t) => {
  const { app } = newApp(t)
  const orders = app.topic('orders', { valueType: Order, errorPolicy: 'fail' })
  app.agent(orders, async (s) => {
    for await (const _ of s);
  }, { name: 'orders' })
  await app.start()
  await orders.send({ value: { id: 1, amount: 2 } })
  await orders.sendRaw({ key: null, value: Buffer.from('{') })
  await orders.send({ value: { id: 3, amount: 4 } })
  await waitFor(() => app.state === 'crashed', 'app crashed')
  assert.ok(app.crashReason instanceof ValueDecodeError)
  assert.equal(app.crashReason.offset, 1)
  assert.equal(committable(app, 'orders'), 1, 'commit point stops before the bad message')
})

test('an agent exception under dlq: the event goes to the agent dead-letter topic, acked, and the agent goes on', async (t) => {
  const { app } = newApp(t)
  const orders = app.topic('orders', { valueType: Order })
  const got: number[] = []
  const agent = app.agent(orders, async (s) => {
    for await (const o of s) {
      if (o.amount < 0) throw new RangeError(`negative amount in order ${o.id}`)
      got.push(o.id)
    }
  }, { name: 'checker', errorPolicy: 'dlq', deadLetterTopic: 'orders-rejected' })
  await app.start()
  for (const [id, amount] of [[1, 5], [2, -1], [3, 7]] as const) await orders.send({ key: Buffer.from(`o${id}`), value: { id, amount } })
  await waitFor(() => committable(app, 'orders') === 3, 'all acked')
  assert.deepEqual(got, [1, 3])
  const dead = records(app, 'orders-rejected')
  assert.equal(dead.length, 1)
  assert.equal(dead[0]!.key?.toString(), 'o2')
  assert.deepEqual(JSON.parse(dead[0]!.value!.toString()), { id: 2, amount: -1 })
  assert.equal(header(dead[0]!, '__streams.errors.exception'), 'RangeError')
  assert.equal(header(dead[0]!, '__streams.errors.message'), 'negative amount in order 2')
  assert.equal(header(dead[0]!, '__streams.errors.offset'), '1')
  assert.deepEqual(agent.errors, { skip: 0, dlq: 1, fail: 0 })
  assert.equal(agent.restarts, 0)
})

test('an agent policy overrides the topic policy for that agent only', async (t) => {
  const { app } = newApp(t)
  const orders = app.topic('orders', { valueType: Order, errorPolicy: 'fail' })
  const a: number[] = []
  app.agent(orders, async (s) => {
    for await (const o of s) a.push(o.id)
  }, { name: 'lenient', errorPolicy: 'dlq' })
  await app.start()
  await orders.sendRaw({ key: null, value: Buffer.from('garbage') })
  await orders.send({ value: { id: 2, amount: 1 } })
  await waitFor(() => a.length === 1, 'the good one processed')
  assert.equal(app.state, 'running')
  assert.equal(records(app, 'orders-dlq').length, 1)
})

test('an agent exception under fail stops the app with AgentCrashed naming the event', async (t) => {
  const { app } = newApp(t, { errorPolicy: 'fail' })
  const orders = app.topic('orders')
  app.agent(orders, async (s) => {
    for await (const v of s) if (v === 'bad') throw new Error('cannot handle')
  }, { name: 'strict' })
  await app.start()
  await orders.send({ value: 'ok' })
  await orders.send({ value: 'bad' })
  await waitFor(() => app.state === 'crashed', 'crashed')
  assert.ok(app.crashReason instanceof AgentCrashed)
  assert.equal(app.crashReason.agent, 'strict')
  assert.equal(app.crashReason.offset, 1)
  assert.match(app.crashReason.message, /cannot handle/)
})
