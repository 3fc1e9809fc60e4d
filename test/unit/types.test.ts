/**
 * Type tests: checked by `npm run typecheck` (tsc), which CI runs. Each `@ts-expect-error` must
 * fail to compile and each `expectType` must compile, so a change that loosens or breaks the
 * typing of topics, streams and agents fails the build. The runtime test only checks the file runs.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import { App, asType, type Event, type Stream, type Topic } from '../../src/index.ts'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<T>(_value: T): void {}
function assertEquals<A, B>(_proof: Equals<A, B>): void {}

const Order = z.object({ id: z.string(), amount: z.number() })
type Order = z.infer<typeof Order>

test('topic value types flow to agents, items(), events() and send()', () => {
  const app = new App('types', { broker: 'memory://types-test' })
  const orders = app.topic('orders', { keyType: String, valueType: Order })
  assertEquals<typeof orders, Topic<string, Order>>(true)
  const _untyped = app.topic('raw')
  assertEquals<typeof _untyped, Topic<Buffer | null, unknown>>(true)
  const _numbers = app.topic('numbers', { keyType: Number, valueType: asType<{ n: number }>() })
  assertEquals<typeof _numbers, Topic<number, { n: number }>>(true)

  app.agent(
    orders,
    async (stream) => {
      assertEquals<typeof stream, Stream<Order, string>>(true)
      for await (const order of stream) {
        expectType<number>(order.amount)
        // @ts-expect-error: no such field on Order
        void order.missing
      }
      for await (const [key, order] of stream.items()) {
        expectType<string>(key)
        expectType<Order>(order)
      }
      for await (const event of stream.events()) expectType<Event<string, Order>>(event)
      for await (const batch of stream.take(10, 1)) expectType<Order[]>(batch)
      const _byAmount = stream.groupBy((o) => o.amount, { name: 'amount' })
      assertEquals<typeof _byAmount, Stream<Order, number>>(true)
    },
    { name: 'typed' },
  )

  void orders.send({ key: 'o-1', value: { id: 'o-1', amount: 5 } })
  // @ts-expect-error: amount must be a number
  void orders.send({ key: 'o-1', value: { id: 'o-1', amount: '5' } })
  // @ts-expect-error: keys of this topic are strings
  void orders.send({ key: 1, value: { id: 'o-1', amount: 5 } })

  const totals = app.agent(
    orders,
    async function* (stream) {
      for await (const o of stream) yield { id: o.id, total: o.amount * 2 }
    },
    { name: 'totals' },
  )
  assertEquals<Parameters<typeof totals.send>[0]['value'], Order | null>(true)
  assert.ok(totals)
})
