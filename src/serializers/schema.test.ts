import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { z } from 'zod'
import { ImproperlyConfigured, UnknownCodec, ValidationError } from '../errors.ts'
import type { CodecT, ModelClassT, TypeSpec } from '../types/serializers.ts'
import { CodecRegistry } from './codecs.ts'
import { asType, isModelClass, isStandardSchema, Schema, type SchemaOptions, validate } from './schema.ts'

const appDefaults = { keySerializer: 'raw', valueSerializer: 'json' }

function schema<K, V>(options: SchemaOptions<K, V>, defaults = appDefaults): Schema<K, V> {
  return new Schema<K, V>(options, defaults)
}

function isValidationError(pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`)
    assert.equal(err.code, 'FAUST_ERR_VALIDATION')
    if (pattern !== undefined) assert.match(err.message, pattern)
    return true
  }
}

const Order = z.object({ id: z.number().int(), item: z.string(), qty: z.number().positive() })
type Order = z.infer<typeof Order>

/** A minimal model class: a namespace, its own serializer and from/to data. */
class Point {
  static readonly namespace = 'test.Point'
  static readonly serializer = 'json|gzip'
  static toDataCalls = 0
  readonly x: number
  readonly y: number
  constructor(x: number, y: number) {
    this.x = x
    this.y = y
  }
  static fromData(data: unknown): Point {
    const d = data as { x?: unknown; y?: unknown }
    if (typeof d.x !== 'number' || typeof d.y !== 'number') throw new ValidationError('bad point', [{ message: 'x and y' }])
    return new Point(d.x, d.y)
  }
  static toData(p: Point): unknown {
    Point.toDataCalls += 1
    return { x: p.x, y: p.y, __faust: { ns: Point.namespace } }
  }
}
const PointModel: ModelClassT<Point> = Point

describe('Schema defaults', () => {
  test('without types, keys are raw bytes and values JSON', () => {
    const s = schema({})
    assert.equal(s.key.codec.name, 'raw')
    assert.equal(s.value.codec.name, 'json')
    assert.deepEqual(s.dumpsKey(Buffer.from('k')), Buffer.from('k'))
    assert.deepEqual(s.loadsKey(Buffer.from('k')), Buffer.from('k'))
    assert.equal(s.dumpsValue({ a: 1 })?.toString(), '{"a":1}')
    assert.deepEqual(s.loadsValue(Buffer.from('{"a":1}')), { a: 1 })
    assert.equal(s.keyType, undefined)
    assert.equal(s.valueType, undefined)
  })

  test('an explicit serializer beats the default', () => {
    const s = schema({ valueSerializer: 'json|gzip', keySerializer: 'json' })
    assert.equal(s.value.codec.name, 'json|gzip')
    assert.equal(gunzipSync(s.dumpsValue([1, 2]) ?? Buffer.alloc(0)).toString(), '[1,2]')
    assert.equal(s.dumpsKey('k')?.toString(), '"k"')
  })

  test('an unknown serializer fails when the schema is built', () => {
    assert.throws(() => schema({ valueSerializer: 'yaml' }), UnknownCodec)
    assert.throws(() => schema({}, { keySerializer: 'raw', valueSerializer: 'nope' }), UnknownCodec)
  })

  test('a custom registry resolves custom codec names', () => {
    const registry = new CodecRegistry()
    const reverse: CodecT = {
      name: 'reverse',
      dumps: (v) => Buffer.from(String(v).split('').reverse().join('')),
      loads: (d) => d.toString().split('').reverse().join(''),
    }
    registry.register('reverse', reverse)
    const s = new Schema({}, { keySerializer: 'reverse', valueSerializer: 'json', registry })
    assert.equal(s.dumpsKey('abc')?.toString(), 'cba')
    assert.equal(s.loadsKey(Buffer.from('cba')), 'abc')
  })
})

describe('Schema with Standard Schema (zod 4)', () => {
  test('values round-trip and are validated on load', () => {
    const s = schema({ valueType: Order })
    const order: Order = { id: 1, item: 'book', qty: 2 }
    const bytes = s.dumpsValue(order)
    assert.equal(bytes?.toString(), JSON.stringify(order))
    assert.deepEqual(s.loadsValue(bytes), order)
    assert.equal(s.valueType, Order)
  })

  test('an invalid value throws ValidationError with the issues and their paths', () => {
    const s = schema({ valueType: Order })
    const bad = Buffer.from(JSON.stringify({ id: 1.5, item: 'x', qty: -1 }))
    assert.throws(
      () => s.loadsValue(bad),
      (err: unknown) => {
        isValidationError(/^value does not match its schema: /)(err)
        const e = err as ValidationError
        assert.equal(e.issues.length, 2)
        assert.deepEqual(e.issues.map((i) => i.path), [['id'], ['qty']])
        assert.match(e.message, /id: /)
        assert.match(e.message, /qty: /)
        return true
      },
    )
  })

  test('nested paths are joined with dots and the message lists at most three issues', () => {
    const Deep = z.object({ user: z.object({ age: z.number() }), a: z.string(), b: z.string(), c: z.string() })
    assert.throws(
      () => validate(Deep, { user: { age: 'old' } }),
      (err: unknown) => {
        isValidationError(/user\.age: /)(err)
        const e = err as ValidationError
        assert.equal(e.issues.length, 4)
        assert.equal(e.message.split('; ').length, 3)
        return true
      },
    )
  })

  test('transforms apply: loads returns the schema output', () => {
    const Shout = z.object({ word: z.string().transform((w) => w.toUpperCase()) })
    const s = schema({ valueType: Shout })
    assert.deepEqual(s.loadsValue(Buffer.from('{"word":"hi"}')), { word: 'HI' })
  })

  test('a Standard Schema key switches the raw default to json', () => {
    const s = schema({ keyType: z.string() })
    assert.equal(s.key.codec.name, 'json')
    assert.equal(s.dumpsKey('user-1')?.toString(), '"user-1"')
    assert.equal(s.loadsKey(Buffer.from('"user-1"')), 'user-1')
    assert.throws(() => s.loadsKey(Buffer.from('42')), isValidationError())
  })

  test('an explicit raw serializer is kept even with a Standard Schema', () => {
    const s = schema({ keyType: z.string(), keySerializer: 'raw' })
    assert.equal(s.key.codec.name, 'raw')
  })

  test('an asynchronous schema is refused with ImproperlyConfigured', () => {
    const Async = z.string().refine(async () => true)
    const s = schema({ valueType: Async })
    assert.throws(
      () => s.loadsValue(Buffer.from('"x"')),
      (err: unknown) => err instanceof ImproperlyConfigured && /zod/.test(err.message) && /asynchronously/.test(err.message),
    )
  })

  test('asType() types without checking', () => {
    const spec = asType<{ any: string }>()
    assert.equal(spec['~standard'].vendor, 'faust-ts')
    assert.equal(isStandardSchema(spec), true)
    const s = schema({ valueType: spec })
    const weird = { not: ['what', 'the', 'type', 'says'] }
    assert.deepEqual(s.loadsValue(Buffer.from(JSON.stringify(weird))), weird)
    assert.equal(schema({ keyType: spec }).key.codec.name, 'json')
  })
})

describe('Schema with String, Number and Buffer', () => {
  test('String on raw: UTF-8 text both ways', () => {
    const s = schema({ keyType: String })
    assert.equal(s.key.codec.name, 'raw', 'String stays raw')
    assert.deepEqual(s.dumpsKey('héllo'), Buffer.from('héllo'))
    const back = s.loadsKey(Buffer.from('héllo'))
    assert.equal(typeof back, 'string')
    assert.equal(back, 'héllo')
  })

  test('String on json: decoded values are stringified', () => {
    const s = schema({ valueType: String })
    assert.equal(s.loadsValue(Buffer.from('"text"')), 'text')
    assert.equal(s.loadsValue(Buffer.from('12')), '12')
  })

  test('Number on the raw default switches to json', () => {
    const s = schema({ keyType: Number })
    assert.equal(s.key.codec.name, 'json')
    assert.equal(s.dumpsKey(42)?.toString(), '42')
    assert.equal(s.loadsKey(Buffer.from('42')), 42)
    assert.equal(s.loadsKey(Buffer.from('-3.5')), -3.5)
  })

  test('Number on an explicit raw serializer writes digits and rejects non-numbers', () => {
    const s = schema({ keyType: Number, keySerializer: 'raw' })
    assert.equal(s.key.codec.name, 'raw')
    assert.deepEqual(s.dumpsKey(7), Buffer.from('7'))
    assert.equal(s.loadsKey(Buffer.from('7')), 7)
    assert.throws(() => s.loadsKey(Buffer.from('seven')), isValidationError(/expected a number, got "seven"/))
  })

  test('Number on json: a JSON string of digits is accepted, other text is not', () => {
    const s = schema({ valueType: Number })
    assert.equal(s.loadsValue(Buffer.from('"12"')), 12)
    assert.throws(() => s.loadsValue(Buffer.from('"twelve"')), isValidationError())
  })

  test(
    'Number rejects empty bytes, JSON null and booleans instead of reading them as 0 or 1',

    () => {
      const rawKey = schema({ keyType: Number, keySerializer: 'raw' })
      assert.throws(() => rawKey.loadsKey(Buffer.alloc(0)), isValidationError())
      assert.throws(() => rawKey.loadsKey(Buffer.from(' ')), isValidationError())
      const jsonValue = schema({ valueType: Number })
      assert.throws(() => jsonValue.loadsValue(Buffer.from('null')), isValidationError())
      assert.throws(() => jsonValue.loadsValue(Buffer.from('true')), isValidationError())
    },
  )

  test('Buffer on raw: bytes pass through', () => {
    const s = schema({ keyType: Buffer })
    assert.equal(s.key.codec.name, 'raw')
    const data = Buffer.from([1, 2, 3])
    assert.deepEqual(s.dumpsKey(data), data)
    const back = s.loadsKey(data)
    assert.ok(Buffer.isBuffer(back))
    assert.deepEqual(back, data)
  })

  test('Buffer on json: a decoded string becomes its bytes', () => {
    const s = schema({ valueType: Buffer })
    const back = s.loadsValue(Buffer.from('"abc"'))
    assert.ok(Buffer.isBuffer(back))
    assert.equal(back.toString(), 'abc')
  })
})

describe('Schema null handling', () => {
  test('null bytes load as null for every type (tombstones are not validated)', () => {
    const types: Array<TypeSpec | undefined> = [undefined, String, Number, Buffer, Order, PointModel]
    for (const type of types) {
      const s = schema<unknown, unknown>({ keyType: type, valueType: type })
      assert.equal(s.loadsKey(null), null)
      assert.equal(s.loadsValue(null), null)
    }
  })

  test('null and undefined dump as null (no bytes), not as the codec would encode them', () => {
    const types: Array<TypeSpec | undefined> = [undefined, String, Number, Order]
    for (const type of types) {
      const s = schema<unknown, unknown>({ keyType: type, valueType: type })
      assert.equal(s.dumpsKey(null), null)
      assert.equal(s.dumpsKey(undefined), null)
      assert.equal(s.dumpsValue(null), null)
      assert.equal(s.dumpsValue(undefined), null)
    }
  })
})

describe('Schema with model classes', () => {
  test("the model's own serializer beats the default; an explicit one beats the model's", () => {
    assert.equal(schema({ valueType: PointModel }).value.codec.name, 'json|gzip')
    assert.equal(schema({ valueType: PointModel, valueSerializer: 'json' }).value.codec.name, 'json')
  })

  test('values go through toData on dumps and fromData on loads', () => {
    const s = schema({ valueType: PointModel })
    const before = Point.toDataCalls
    const bytes = s.dumpsValue(new Point(1, 2))
    assert.equal(Point.toDataCalls, before + 1)
    assert.deepEqual(JSON.parse(gunzipSync(bytes ?? Buffer.alloc(0)).toString()), { x: 1, y: 2, __faust: { ns: 'test.Point' } })
    const back = s.loadsValue(bytes)
    assert.ok(back instanceof Point)
    assert.deepEqual([back.x, back.y], [1, 2])
  })

  test('a model key on the raw default switches to json', () => {
    class Plain {
      static readonly namespace = 'test.Plain'
      static fromData(d: unknown): unknown {
        return d
      }
      static toData(v: unknown): unknown {
        return v
      }
    }
    assert.equal(schema({ keyType: Plain as ModelClassT }).key.codec.name, 'json')
  })

  test('a value with its own toData() is encoded through it even without a model spec', () => {
    const s = schema({})
    const value = { secret: 'hidden', toData: () => ({ shown: true }) }
    assert.equal(s.dumpsValue(value)?.toString(), '{"shown":true}')
  })
})

describe('Schema helpers', () => {
  test('isStandardSchema and isModelClass tell the specs apart', () => {
    assert.equal(isStandardSchema(Order), true)
    assert.equal(isStandardSchema(String), false)
    assert.equal(isStandardSchema(null), false)
    assert.equal(isModelClass(PointModel), true)
    assert.equal(isModelClass(Order), false)
    assert.equal(isModelClass(Number), false)
    assert.equal(isModelClass({ namespace: 'x' }), false)
  })

  test('sameAs compares specs and codecs', () => {
    const a = schema({ keyType: String, valueType: Order })
    assert.equal(a.sameAs(schema({ keyType: String, valueType: Order }) as Schema<unknown, unknown>), true)
    assert.equal(a.sameAs(schema({ keyType: String, valueType: Order, valueSerializer: 'json|gzip' }) as Schema<unknown, unknown>), false)
    assert.equal(a.sameAs(schema({ keyType: Buffer, valueType: Order }) as Schema<unknown, unknown>), false)
    assert.equal(a.sameAs(schema({ keyType: String }) as Schema<unknown, unknown>), false)
  })

  test('validate() returns the parsed value', () => {
    assert.deepEqual(validate(Order, { id: 1, item: 'a', qty: 1, extra: true }), { id: 1, item: 'a', qty: 1 })
  })
})
