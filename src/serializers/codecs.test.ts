import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { UnknownCodec } from '../errors.ts'
import type { CodecT } from '../types/serializers.ts'
import { binary, CodecRegistry, codecs, compose, gzip, json, raw } from './codecs.ts'

/** A codec that upper-cases text, to observe where it runs in a pipeline. */
const upper: CodecT = {
  name: 'upper',
  dumps: (value) => Buffer.from(String(Buffer.isBuffer(value) ? value.toString('utf8') : value).toUpperCase()),
  loads: (data) => data.toString('utf8').toLowerCase(),
}

describe('raw', () => {
  test('strings become UTF-8 bytes and buffers pass through unchanged', () => {
    assert.deepEqual(raw.dumps('héllo'), Buffer.from('héllo', 'utf8'))
    const buf = Buffer.from([0, 1, 255])
    assert.equal(raw.dumps(buf), buf)
    assert.equal(raw.loads(buf), buf)
  })

  test('a Uint8Array view is wrapped without copying the wrong bytes', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9])
    const view = backing.subarray(2, 5)
    const out = raw.dumps(view)
    assert.ok(Buffer.isBuffer(out))
    assert.deepEqual([...out], [1, 2, 3])
  })

  test('null and undefined become empty bytes; other types are rejected', () => {
    assert.equal(raw.dumps(null).length, 0)
    assert.equal(raw.dumps(undefined).length, 0)
    assert.throws(() => raw.dumps(42), TypeError)
    assert.throws(() => raw.dumps({ a: 1 }), /raw codec takes bytes or a string, not object/)
  })
})

describe('json', () => {
  test('round-trips JSON values', () => {
    for (const value of [{ a: 1, b: [true, null, 'x'] }, [1, 2], 'text', 3.5, false, null]) {
      const bytes = json.dumps(value)
      assert.ok(Buffer.isBuffer(bytes))
      assert.deepEqual(json.loads(bytes), value)
    }
    assert.equal(json.dumps({ a: 1 }).toString(), '{"a":1}')
  })

  test('undefined is encoded as null', () => {
    assert.equal(json.dumps(undefined).toString(), 'null')
  })

  test('invalid JSON throws on load', () => {
    assert.throws(() => json.loads(Buffer.from('{nope')), SyntaxError)
  })
})

describe('binary', () => {
  test('encodes bytes as base64 text and back', () => {
    const data = Buffer.from([0, 1, 2, 250, 251, 255])
    const encoded = binary.dumps(data)
    assert.equal(encoded.toString('ascii'), data.toString('base64'))
    assert.deepEqual(binary.loads(encoded), data)
    assert.equal(binary.dumps('hi').toString(), 'aGk=')
  })
})

describe('gzip', () => {
  test('compresses and decompresses', () => {
    const text = 'a'.repeat(1000)
    const packed = gzip.dumps(text)
    assert.deepEqual([...packed.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic')
    assert.ok(packed.length < 100)
    assert.deepEqual(gzip.loads(packed), Buffer.from(text))
    assert.deepEqual(gzip.loads(gzipSync(Buffer.from('external'))), Buffer.from('external'))
  })

  test('corrupt data throws on load', () => {
    assert.throws(() => gzip.loads(Buffer.from('not gzip')))
  })
})

describe('composition', () => {
  test("'json|gzip' dumps as JSON first, then gzips; loads reverses", () => {
    const c = codecs.get('json|gzip')
    assert.equal(c.name, 'json|gzip')
    const value = { id: 7, tags: ['a', 'b'] }
    const bytes = c.dumps(value)
    assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b], 'outermost layer is gzip')
    assert.equal(gunzipSync(bytes).toString('utf8'), JSON.stringify(value), 'inner layer is the JSON text')
    assert.deepEqual(c.loads(bytes), value)
  })

  test('order matters: the reverse pipeline cannot take an object', () => {
    const reversed = codecs.get('gzip|json')
    assert.throws(() => reversed.dumps({ id: 7 }), TypeError)
    // A string goes through it: gzip first, then the JSON of the gzipped Buffer is the outer layer.
    const outer = JSON.parse(reversed.dumps('x').toString('utf8')) as { type: string; data: number[] }
    assert.equal(outer.type, 'Buffer')
    assert.equal(gunzipSync(Buffer.from(outer.data)).toString(), 'x')
  })

  test('three stages run left to right on dumps and right to left on loads', () => {
    const reg = new CodecRegistry()
    reg.register('upper', upper)
    const c = reg.get('upper|binary|gzip')
    const bytes = c.dumps('hello')
    const unzipped = gunzipSync(bytes)
    assert.equal(Buffer.from(unzipped.toString('ascii'), 'base64').toString(), 'HELLO')
    assert.equal(c.loads(bytes), 'hello')
  })

  test('compose() of one codec is that codec', () => {
    assert.equal(compose(json), json)
    assert.equal(compose(json, gzip).name, 'json|gzip')
  })

  test('composed names are cached and whitespace around | is ignored', () => {
    const reg = new CodecRegistry()
    const a = reg.get('json|gzip')
    assert.equal(reg.get('json|gzip'), a)
    const spaced = reg.get(' json | gzip ')
    assert.equal(spaced.name, 'json|gzip')
    assert.deepEqual(spaced.loads(a.dumps([1])), [1])
  })
})

describe('CodecRegistry', () => {
  test('has raw, json, binary and gzip built in', () => {
    const reg = new CodecRegistry()
    assert.deepEqual(reg.names(), ['binary', 'gzip', 'json', 'raw'])
    assert.equal(reg.get('raw'), raw)
    assert.equal(reg.get('json'), json)
    assert.equal(reg.get('binary'), binary)
    assert.equal(reg.get('gzip'), gzip)
    assert.equal(reg.has('json'), true)
    assert.equal(reg.has('yaml'), false)
  })

  test('a codec object passes straight through', () => {
    assert.equal(new CodecRegistry().get(upper), upper)
  })

  test('register() adds a codec usable alone and in compositions', () => {
    const reg = new CodecRegistry()
    reg.register('upper', upper)
    assert.equal(reg.get('upper'), upper)
    assert.equal(reg.get('upper|gzip').loads(reg.get('upper|gzip').dumps('abc')), 'abc')
    assert.equal(gunzipSync(reg.get('upper|gzip').dumps('abc')).toString(), 'ABC')
    assert.equal(new CodecRegistry().has('upper'), false, 'registries are independent')
  })

  test('an unknown codec throws UnknownCodec naming it and the known ones', () => {
    const reg = new CodecRegistry()
    for (const [arg, missing] of [
      ['yaml', 'yaml'],
      ['json|yaml', 'yaml'],
      ['avro|gzip', 'avro'],
      ['', ''],
    ] as const) {
      assert.throws(
        () => reg.get(arg),
        (err: unknown) => {
          assert.ok(err instanceof UnknownCodec)
          assert.equal(err.code, 'FAUST_ERR_UNKNOWN_CODEC')
          assert.ok(err.message.includes(`no codec named "${missing}"`), err.message)
          assert.match(err.message, /known: binary, gzip, json, raw/)
          return true
        },
        arg,
      )
    }
    assert.equal(reg.has('json|yaml'), false, 'a failed lookup caches nothing')
  })
})
