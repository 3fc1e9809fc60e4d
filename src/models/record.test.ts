import assert from 'node:assert/strict'
import { test } from 'node:test'
import { z } from 'zod'
import { ValidationError } from '../errors.ts'
import { Schema } from '../serializers/schema.ts'
import { datetime, decimal, formatIsoDate, nested, parseIsoDate } from './fields.ts'
import { BLESSED_KEY, findRecord, isFieldRef, record, records } from './record.ts'

const Address = record('Address', z.object({ city: z.string(), zip: z.string().optional() }), { namespace: 'test.models.Address' })
const Customer = record(
  'Customer',
  z.object({ id: z.number().int(), name: z.string(), address: nested(Address), since: datetime(), credit: decimal().default('0') }),
  { namespace: 'test.models.Customer' },
)

test('Faust wire format: __faust ns at the top and on nested records, dates as ISO strings, decimals as strings', () => {
  const c = Customer.create({ id: 1, name: 'Ada', address: Address.create({ city: 'London' }), since: new Date('2026-01-02T03:04:05.678Z'), credit: '12.3400' })
  const wire = JSON.parse(Customer.dumps(c).toString()) as Record<string, unknown>
  assert.deepEqual(wire, {
    id: 1,
    name: 'Ada',
    address: { city: 'London', [BLESSED_KEY]: { ns: 'test.models.Address' } },
    since: '2026-01-02T03:04:05.678000Z',
    credit: '12.3400',
    [BLESSED_KEY]: { ns: 'test.models.Customer' },
  })
})

test('decoding strips metadata, validates, and parses what Python Faust writes', () => {
  const fromPython = Buffer.from(
    JSON.stringify({
      id: 7,
      name: 'Grace',
      address: { city: 'Arlington', zip: '22201', __faust: { ns: 'test.models.Address' } },
      since: '2026-03-04T05:06:07.123456',
      credit: '99999999999999999999.000000001',
      __faust: { ns: 'test.models.Customer' },
    }),
  )
  const c = Customer.loads(fromPython)
  assert.equal(c.name, 'Grace')
  assert.deepEqual(c.address, { city: 'Arlington', zip: '22201' })
  assert.equal(c.since.toISOString(), '2026-03-04T05:06:07.123Z')
  assert.equal(c.credit, '99999999999999999999.000000001')
  assert.ok(Customer.is(c))
  assert.ok(Address.is(c.address))
  assert.throws(() => Customer.loads(Buffer.from('{"id": "x", "name": 1}')), (err: unknown) => err instanceof ValidationError && /id/.test(err.message))
})

test('formatIsoDate writes what Python isoformat writes (six fraction digits, none when zero)', () => {
  assert.equal(formatIsoDate(new Date('2026-12-04T21:00:00.123Z')), '2026-12-04T21:00:00.123000Z')
  assert.equal(formatIsoDate(new Date('2026-12-04T21:00:00Z')), '2026-12-04T21:00:00Z')
  assert.equal(parseIsoDate(formatIsoDate(new Date('2026-12-04T21:00:00.007Z')))?.toISOString(), '2026-12-04T21:00:00.007Z')
})

test('parseIsoDate: zones, microseconds, date-only; garbage is rejected', () => {
  assert.equal(parseIsoDate('2026-12-04T21:00:00Z')?.toISOString(), '2026-12-04T21:00:00.000Z')
  assert.equal(parseIsoDate('2026-12-04T21:00:00+02:00')?.toISOString(), '2026-12-04T19:00:00.000Z')
  assert.equal(parseIsoDate('2026-12-04T21:00:00.999999')?.toISOString(), '2026-12-04T21:00:00.999Z')
  assert.equal(parseIsoDate('2026-12-04')?.toISOString(), '2026-12-04T00:00:00.000Z')
  assert.equal(parseIsoDate('yesterday'), undefined)
  assert.equal(parseIsoDate('2026-13-45T99:00:00'), undefined)
})

test('decimal keeps precision, accepts numbers, rejects text', () => {
  const D = z.object({ d: decimal() })
  assert.equal(D.parse({ d: '0.1000000000000000055511151231257827' }).d, '0.1000000000000000055511151231257827')
  assert.equal(D.parse({ d: 12.5 }).d, '12.5')
  assert.equal(D.safeParse({ d: 'twelve' }).success, false)
})

test('an untyped topic decodes a registered namespace as that record (polymorphism), others as plain JSON', () => {
  const untyped = new Schema({}, { keySerializer: 'raw', valueSerializer: 'json' })
  const value = untyped.loadsValue(Buffer.from(JSON.stringify({ city: 'Paris', __faust: { ns: 'test.models.Address' } })))
  assert.ok(Address.is(value))
  assert.deepEqual(value, { city: 'Paris' })
  const unknownNs = untyped.loadsValue(Buffer.from(JSON.stringify({ x: 1, __faust: { ns: 'nobody.Knows' } })))
  assert.deepEqual(unknownNs, { x: 1, __faust: { ns: 'nobody.Knows' } })
  // A record value on an untyped topic keeps its metadata when encoded.
  assert.deepEqual(JSON.parse(untyped.dumpsValue(value)!.toString()), { city: 'Paris', __faust: { ns: 'test.models.Address' } })
})

test('a record as a topic value type picks json even when the app default is raw, and validates', () => {
  const s = new Schema({ valueType: Address }, { keySerializer: 'raw', valueSerializer: 'raw' })
  assert.equal(s.value.codec.name, 'json')
  assert.deepEqual(s.loadsValue(Buffer.from('{"city":"Oslo"}')), { city: 'Oslo' })
  assert.throws(() => s.loadsValue(Buffer.from('{"town":"Oslo"}')), ValidationError)
})

test('field references name themselves as Faust does, and the registry finds records', () => {
  const ref = Customer.field('name')
  assert.ok(isFieldRef(ref))
  assert.equal(ref.label, 'Customer.name')
  assert.equal(ref.get(Customer.create({ id: 1, name: 'x', address: { city: 'c' }, since: new Date(0) })), 'x')
  assert.equal(findRecord('test.models.Customer'), Customer)
  assert.equal(findRecord('Address'), Address)
  assert.ok(records().includes(Customer as never))
  assert.throws(() => record('Other', z.object({}), { namespace: 'test.models.Address' }), /already defined/)
})
