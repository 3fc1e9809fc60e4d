/**
 * A faust-ts app and a Python Faust (faust-streaming) app share topics in both directions, with
 * records that nest a record and carry a datetime and a decimal (the Python side is
 * test/interop/python/faust_records.py, run from the project's venv).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, test } from 'node:test'
import { z } from 'zod'
import { App, datetime, decimal, type InferRecord, nested, record } from '../../src/index.ts'
import { bootstrap, brokerUrl, eventually, testAdmin, unique } from './_kafka.ts'
import { pythonPath } from './_python.ts'

const Address = record('Address', z.object({ city: z.string(), zip: z.string().nullable().optional() }), { namespace: 'interop.Address' })
const Order = record(
  'Order',
  z.object({ id: z.number().int(), amount: decimal(), created: datetime(), address: nested(Address), items: z.array(z.string()) }),
  { namespace: 'interop.Order' },
)

before(() => {
  pythonPath()
})

function python(args: string[], env: Record<string, string>) {
  const child = spawn(pythonPath(), ['-m', 'faust', '-A', 'faust_records', ...args], {
    cwd: 'test/interop/python',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', KAFKA_BOOTSTRAP_SERVERS: bootstrap, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

test('Python Faust sends records; a faust-ts agent receives them typed: nested record, Date, exact decimal', async (t) => {
  const k = await testAdmin(t)
  const topicName = await k.topic(unique('py-to-ts'), 1)
  const id = unique('py-to-ts-app')
  k.cleanupGroup(id)
  const producer = python(['produce-orders', '--topic', topicName, '--count', '3'], { FAUST_APP_ID: unique('py-producer') })
  k.stopLater({ stop: async () => void (producer.child.kill('SIGKILL'), await producer.exited) })
  assert.equal(await producer.exited, 0, producer.stderr())

  const app = new App(id, { broker: brokerUrl })
  const got: Array<{ key: string; order: InferRecord<typeof Order> }> = []
  app.agent(app.topic(topicName, { keyType: String, valueType: Order }), async (stream) => {
    for await (const [key, order] of stream.items()) got.push({ key, order })
  }, { name: 'from-python' })
  k.stopLater(app)
  await app.start()
  await eventually(() => got.length === 3, '3 records from Python Faust')
  for (const [i, { key, order }] of got.entries()) {
    assert.equal(key, `order-${i}`)
    assert.equal(order.id, i)
    assert.ok(order.created instanceof Date)
    assert.equal(order.created.toISOString(), new Date(Date.UTC(2026, 0, 2, 3, 4, 5 + i, 678)).toISOString())
    // Python's Decimal context (28 digits) rounds the sum; faust-ts keeps exactly what was sent.
    assert.equal(order.amount, `1234567890123456789${i}.12345679`)
    assert.ok(Address.is(order.address), 'the nested record decodes as a record')
    assert.equal(order.address.city, `City ${i}`)
    assert.equal(order.address.zip ?? null, i % 2 ? null : `${10000 + i}`)
    assert.deepEqual(order.items, [`item-${i}`, 'x'])
    assert.ok(Order.is(order))
  }
})

test('faust-ts sends records; a Python Faust agent receives them as Order records with datetime and Decimal', async (t) => {
  const k = await testAdmin(t)
  const topicName = await k.topic(unique('ts-to-py'), 1)
  const pyApp = unique('ts-to-py-app')
  k.cleanupGroup(pyApp)
  k.cleanupTopic(`${pyApp}-__assignor-__leader`)
  const dir = mkdtempSync(join(tmpdir(), 'faust-interop-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'received.jsonl')
  const lines = (): Array<Record<string, unknown>> => {
    try {
      return readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    } catch {
      return []
    }
  }
  const worker = python(['worker', '-l', 'warn'], { FAUST_APP_ID: pyApp, FAUST_IN_TOPIC: topicName, FAUST_OUT_FILE: out })
  k.stopLater({ stop: async () => void (worker.child.kill('SIGTERM'), await worker.exited) })
  await eventually(() => lines().some((l) => l.event === 'ready'), `the Python worker to start\n${worker.stderr().slice(-2000)}`, 90_000)

  const app = new App(unique('ts-sender'), { broker: brokerUrl })
  const topic = app.topic(topicName, { keyType: String, valueType: Order })
  k.stopLater(app)
  await app.start()
  const created = new Date('2026-05-06T07:08:09.123Z')
  for (let i = 0; i < 3; i++) {
    await topic.send({
      key: `ts-${i}`,
      value: Order.create({
        id: 100 + i,
        amount: `0.${'1'.repeat(20)}${i}`,
        created: new Date(created.getTime() + i * 1000),
        address: Address.create({ city: `Town ${i}`, zip: i === 1 ? null : '0101' }),
        items: ['a', `b${i}`],
      }),
    })
  }
  await eventually(() => lines().filter((l) => l.class !== undefined).length === 3, `3 records in Python\n${worker.stderr().slice(-2000)}`, 60_000)
  const received = lines().filter((l) => l.class !== undefined)
  for (const [i, r] of received.entries()) {
    assert.equal(r.key, `ts-${i}`)
    assert.equal(r.class, 'Order')
    assert.equal(r.id, 100 + i)
    assert.equal(r.amount_type, 'Decimal')
    assert.equal(r.amount, `0.${'1'.repeat(20)}${i}`)
    assert.equal(r.created_type, 'datetime')
    assert.equal(new Date(String(r.created)).toISOString(), new Date(created.getTime() + i * 1000).toISOString())
    assert.equal(r.address_class, 'Address')
    assert.equal(r.city, `Town ${i}`)
    assert.equal(r.zip, i === 1 ? null : '0101')
    assert.deepEqual(r.items, ['a', `b${i}`])
  }
})
