/**
 * Schema: a key type, a value type and their serializers (Faust's `faust.Schema`).
 *
 * Serializer precedence, as in Faust: an explicit argument beats the model's own serializer,
 * which beats the topic's, which beats the app default (`raw` for keys, `json` for values).
 * A Standard Schema or Number type on a raw default switches to `json` (raw bytes cannot carry it).
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { ValidationError } from '../errors.ts'
import { fromBlessed, recordOf } from '../models/record.ts'
import type { CodecArg, CodecT, ModelClassT, TypeSpec } from '../types/serializers.ts'
import { type CodecRegistry, codecs as defaultRegistry } from './codecs.ts'
import { validate } from './validate.ts'

export { validate } from './validate.ts'

export function isStandardSchema(spec: unknown): spec is StandardSchemaV1 {
  return typeof spec === 'object' && spec !== null && '~standard' in spec
}

export function isModelClass(spec: unknown): spec is ModelClassT {
  return (
    (typeof spec === 'function' || typeof spec === 'object') &&
    spec !== null &&
    typeof (spec as ModelClassT).namespace === 'string' &&
    typeof (spec as ModelClassT).fromData === 'function'
  )
}

export interface SchemaOptions<K = unknown, V = unknown> {
  keyType?: TypeSpec<K> | undefined
  valueType?: TypeSpec<V> | undefined
  keySerializer?: CodecArg | undefined
  valueSerializer?: CodecArg | undefined
}

export interface SchemaDefaults {
  keySerializer: CodecArg
  valueSerializer: CodecArg
  registry?: CodecRegistry
}

/** A number, or text that is one; anything else (empty, null, booleans) is a ValidationError. */
function toNumber(decoded: unknown): number {
  if (typeof decoded === 'number' && Number.isFinite(decoded)) return decoded
  const text = Buffer.isBuffer(decoded) ? decoded.toString('utf8') : typeof decoded === 'string' ? decoded : undefined
  if (text !== undefined && text.trim() !== '') {
    const n = Number(text)
    if (Number.isFinite(n)) return n
  }
  const shown = JSON.stringify(Buffer.isBuffer(decoded) ? decoded.toString('utf8') : decoded)
  throw new ValidationError(`expected a number, got ${shown}`, [])
}

/** Encodes and decodes one side (key or value) of a message. */
class Side<T> {
  readonly spec: TypeSpec<T> | undefined
  readonly codec: CodecT

  constructor(spec: TypeSpec<T> | undefined, explicit: CodecArg | undefined, fallback: CodecArg, registry: CodecRegistry) {
    this.spec = spec
    let arg: CodecArg = explicit ?? fallback
    if (explicit === undefined && isModelClass(spec) && spec.serializer !== undefined) arg = spec.serializer
    if (explicit === undefined && arg === 'raw' && (isStandardSchema(spec) || isModelClass(spec) || spec === Number)) {
      arg = 'json'
    }
    this.codec = registry.get(arg)
  }

  loads(data: Buffer | null): T {
    if (data === null) return null as T
    const spec = this.spec
    const decoded = this.codec.loads(data)
    // Untyped: a Faust record whose namespace is registered decodes as that record.
    if (spec === undefined) return fromBlessed(decoded) as T
    if (spec === String) return (Buffer.isBuffer(decoded) ? decoded.toString('utf8') : String(decoded)) as T
    if (spec === Buffer) return (Buffer.isBuffer(decoded) ? decoded : Buffer.from(String(decoded))) as T
    if (spec === Number) return toNumber(decoded) as T
    if (isModelClass(spec)) return spec.fromData(decoded) as T
    if (isStandardSchema(spec)) return validate(spec as StandardSchemaV1<unknown, T>, decoded)
    return decoded as T
  }

  dumps(value: T | null | undefined): Buffer | null {
    if (value === null || value === undefined) return null
    const spec = this.spec
    if (isModelClass(spec)) return this.codec.dumps(spec.toData(value))
    const type = recordOf(value)
    if (type !== undefined) return this.codec.dumps(type.toData(value))
    if (typeof value === 'object' && typeof (value as { toData?: unknown }).toData === 'function') {
      return this.codec.dumps((value as unknown as { toData(): unknown }).toData())
    }
    if (typeof value === 'number' && this.codec.name === 'raw') return this.codec.dumps(String(value))
    return this.codec.dumps(value)
  }
}

export class Schema<K = unknown, V = unknown> {
  readonly key: Side<K>
  readonly value: Side<V>
  readonly options: SchemaOptions<K, V>

  constructor(options: SchemaOptions<K, V>, defaults: SchemaDefaults) {
    const registry = defaults.registry ?? defaultRegistry
    this.options = options
    this.key = new Side(options.keyType, options.keySerializer, defaults.keySerializer, registry)
    this.value = new Side(options.valueType, options.valueSerializer, defaults.valueSerializer, registry)
  }

  get keyType(): TypeSpec<K> | undefined {
    return this.options.keyType
  }

  get valueType(): TypeSpec<V> | undefined {
    return this.options.valueType
  }

  loadsKey(data: Buffer | null): K {
    return this.key.loads(data)
  }

  loadsValue(data: Buffer | null): V {
    return this.value.loads(data)
  }

  dumpsKey(key: K | null | undefined): Buffer | null {
    return this.key.dumps(key)
  }

  dumpsValue(value: V | null | undefined): Buffer | null {
    return this.value.dumps(value)
  }

  /** Whether two schemas decode identically (the conductor decodes once per distinct schema). */
  sameAs(other: Schema<unknown, unknown>): boolean {
    return (
      this.key.spec === other.key.spec &&
      this.value.spec === other.value.spec &&
      this.key.codec === other.key.codec &&
      this.value.codec === other.value.codec
    )
  }
}

/**
 * A type spec with no runtime check: `valueType: asType<Order>()` types the stream as Order and
 * passes the decoded JSON through unchanged.
 */
export function asType<T>(): StandardSchemaV1<unknown, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'faust-ts',
      validate: (value: unknown) => ({ value: value as T }),
    },
  }
}
