/**
 * agent.testContext(): Faust's `agent.test_context()`. The agent runs over an in-memory channel
 * (the app is not started); `put()` resolves once the value was processed; results and sends to
 * topics are captured.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import type { Event } from '../../src/streams/event.ts'
import { currentEvent } from '../../src/streams/context.ts'
import { newApp, records } from './helpers.ts'

test('put() resolves when the value was processed; results are what the agent yielded', async (t) => {
  const { app } = newApp(t)
  const Item = z.object({ name: z.string(), qty: z.number() })
  const items = app.topic('items', { valueType: Item })
  const seen: string[] = []
  const agent = app.agent(
    items,
    async function* (stream) {
      for await (const item of stream) {
        await new Promise((r) => setTimeout(r, 5))
        seen.push(item.name)
        yield { name: item.name.toUpperCase(), total: item.qty * 2 }
      }
    },
    { name: 'items' },
  )
  {
    await using ctx = await agent.testContext()
    await ctx.put({ name: 'apple', qty: 2 })
    // Processed by the time put() resolves.
    assert.deepEqual(seen, ['apple'])
    assert.deepEqual(ctx.results, [{ name: 'APPLE', total: 4 }])
    await ctx.put({ name: 'pear', qty: 5 })
    assert.deepEqual(ctx.results, [
      { name: 'APPLE', total: 4 },
      { name: 'PEAR', total: 10 },
    ])
    assert.equal(app.state, 'init', 'the app itself is not started')
  }
  assert.equal(agent.state, 'init', 'the real agent was never started')
})

test('put() passes key, headers and timestamp to the event', async (t) => {
  const { app } = newApp(t)
  const got: Array<{ key: unknown; value: unknown; h: string | undefined; ts: number; current: boolean }> = []
  const agent = app.agent(
    undefined,
    async (stream) => {
      for await (const e of stream.events()) {
        got.push({ key: e.key, value: e.value, h: e.headers.h?.toString(), ts: e.timestamp, current: currentEvent() === (e as Event) })
      }
    },
    { name: 'meta' },
  )
  await using ctx = await agent.testContext()
  await ctx.put('v', { key: 'k', headers: { h: 'hv' }, timestamp: 1234 })
  assert.deepEqual(got, [{ key: 'k', value: 'v', h: 'hv', ts: 1234, current: true }])
})

test('sends to topics (from the body and from sinks) are captured in ctx.sent, not sent', async (t) => {
  const { app } = newApp(t)
  const alerts = app.topic('alerts', { keyType: String })
  const audit = app.topic('audit')
  const agent = app.agent(
    undefined,
    async function* (stream) {
      for await (const v of stream) {
        const n = v as number
        if (n > 10) await alerts.send({ key: 'big', value: { n } })
        yield n + 1
      }
    },
    { name: 'watch', sink: [audit] },
  )
  {
    await using ctx = await agent.testContext()
    await ctx.put(5)
    await ctx.put(50)
    assert.deepEqual(ctx.results, [6, 51])
    const summary = ctx.sent.map((r) => ({ topic: r.topic, key: r.key?.toString() ?? null, decoded: r.decoded }))
    assert.deepEqual(summary, [
      { topic: 'audit', key: null, decoded: 6 },
      { topic: 'alerts', key: 'big', decoded: { n: 50 } },
      { topic: 'audit', key: null, decoded: 51 },
    ])
    assert.equal(app.producer.interceptor !== undefined, true)
  }
  // Closed: nothing reached a broker, and sends are no longer intercepted.
  assert.equal(app.producer.interceptor, undefined)
  assert.equal(records(app, 'alerts').length, 0)
  assert.equal(records(app, 'audit').length, 0)
})

test(
  'put() rejects with the error the agent threw, and the agent goes on',
  async (t) => {
    const { app } = newApp(t)
    const agent = app.agent(
      undefined,
      async function* (stream) {
        for await (const v of stream) {
          if (v === 'bad') throw new TypeError('bad value')
          yield v
        }
      },
      { name: 'strict' },
    )
    await using ctx = await agent.testContext()
    const within = <T>(p: Promise<T>, what: string) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: still pending after 1 s`)), 1000).unref())])
    await within(ctx.put('ok'), 'put(ok)')
    await assert.rejects(within(ctx.put('bad'), 'put(bad)'), (err: unknown) => err instanceof TypeError && err.message === 'bad value')
    assert.equal(ctx.errors.length, 1)
    await within(ctx.put('after'), 'put(after)')
    assert.deepEqual(ctx.results, ['ok', 'after'])
  },
)

test('the real agent still runs normally after a test context was used', async (t) => {
  const { app } = newApp(t, { brokerCommitEvery: 10_000, brokerCommitInterval: 1000 })
  const topic = app.topic('real', { partitions: 1 })
  const seen: unknown[] = []
  const agent = app.agent(
    topic,
    async (stream) => {
      for await (const v of stream) seen.push(v)
    },
    { name: 'real' },
  )
  {
    await using ctx = await agent.testContext()
    await ctx.put('from-test')
  }
  await app.start()
  await topic.send({ value: 'from-topic' })
  const deadline = Date.now() + 2000
  while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  assert.deepEqual(seen, ['from-test', 'from-topic'])
  assert.equal(records(app, 'real').length, 1, 'the test put never went to the broker')
})
