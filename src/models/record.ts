/**
 * Records: typed models with Faust's wire format.
 *
 * A record is defined from any Standard Schema (zod 4 is the documented default); the schema gives
 * both the TypeScript type and the runtime validation:
 *
 * ```ts
 * const Order = record('Order', z.object({ id: z.string(), amount: decimal(), at: datetime() }),
 *   { namespace: 'shop.models.Order' })          // the Python class's namespace, for interop
 * type Order = InferRecord<typeof Order>
 * const orders = app.topic('orders', { valueType: Order })
 * ```
 *
 * On the wire a record is a JSON object carrying `"__faust": {"ns": "<namespace>"}`, as Python
 * Faust writes it; nested records carry their own. Decoding strips the metadata and validates; a
 * payload on an untyped topic whose namespace is registered decodes as that record
 * (polymorphism by namespace). Datetimes travel as ISO-8601 strings and decimals as strings.
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { ImproperlyConfigured, ValidationError } from '../errors.ts'
import { codecs } from '../serializers/codecs.ts'
import { validate } from '../serializers/validate.ts'
import { formatIsoDate } from './fields.ts'
import type { CodecArg, ModelClassT } from '../types/serializers.ts'

/** Faust's metadata key ("the blessed key"). */
export const BLESSED_KEY = '__faust'

export interface RecordOptions {
  /** Faust namespace (default: the record's name). Python Faust's default is `module.ClassName`. */
  namespace?: string
  /** Codec for this record when it is a topic's key or value (default: the topic's, else json). */
  serializer?: CodecArg
  /** Write `__faust` metadata (default true, as Faust). */
  includeMetadata?: boolean
}

/** A field of a record, usable in `stream.groupBy(Order.field('country'))`. */
export interface FieldRef<T = unknown, F = unknown> {
  readonly model: RecordType<T, never>
  readonly name: string
  /** `<Record>.<field>`, the name Faust gives group_by topics. */
  readonly label: string
  get(value: T): F
}

export function isFieldRef(x: unknown): x is FieldRef {
  return typeof x === 'object' && x !== null && 'model' in x && 'label' in x && typeof (x as FieldRef).get === 'function'
}

/** Records by namespace, for polymorphic decoding and the CLI. */
const registry = new Map<string, RecordType<unknown>>()
/** Which record an object was made as (set on decode and `create`), so nested records keep their metadata. */
const made = new WeakMap<object, RecordType<unknown>>()

export class RecordType<T, I = T> implements ModelClassT<T>, StandardSchemaV1<unknown, T> {
  readonly name: string
  readonly namespace: string
  readonly schema: StandardSchemaV1<unknown, T>
  readonly serializer: string | undefined
  readonly includeMetadata: boolean
  readonly #codec: CodecArg

  constructor(name: string, schema: StandardSchemaV1<unknown, T>, options: RecordOptions = {}) {
    this.name = name
    this.namespace = options.namespace ?? name
    this.schema = schema
    this.#codec = options.serializer ?? 'json'
    this.serializer = typeof options.serializer === 'string' ? options.serializer : options.serializer?.name
    this.includeMetadata = options.includeMetadata ?? true
  }

  /** Standard Schema: a record can be used wherever a schema is expected (validates and marks). */
  get '~standard'(): StandardSchemaV1.Props<unknown, T> {
    return {
      version: 1,
      vendor: 'faust-ts',
      validate: (value: unknown) => {
        try {
          return { value: this.fromData(value) }
        } catch (err) {
          if (err instanceof ValidationError) return { issues: err.issues }
          throw err
        }
      },
      types: undefined,
    }
  }

  /** Validate plain data (with or without `__faust` metadata) into a record value. */
  fromData(data: unknown): T {
    const value = validate(this.schema, stripMetadata(data))
    if (typeof value === 'object' && value !== null) made.set(value, this as RecordType<unknown>)
    return value
  }

  /** A record value from its fields (validated; defaults filled in). */
  create(fields: I): T {
    return this.fromData(fields)
  }

  /** Plain JSON data for the wire: `__faust` metadata added here and on nested records. */
  toData(value: T): unknown {
    return toWire(value, this as RecordType<unknown>)
  }

  /** The value as plain data without metadata (Faust's `asdict`). */
  asDict(value: T): Record<string, unknown> {
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>
  }

  dumps(value: T): Buffer {
    return codecs.get(this.#codec).dumps(this.toData(value))
  }

  loads(data: Buffer): T {
    return this.fromData(codecs.get(this.#codec).loads(data))
  }

  /** A reference to one field (for groupBy). */
  field<F extends keyof T & string>(name: F): FieldRef<T, T[F]> {
    return { model: this as RecordType<T, never>, name, label: `${this.name}.${name}`, get: (value: T) => value[name] }
  }

  /** True when `value` was decoded or created as this record. */
  is(value: unknown): value is T {
    return typeof value === 'object' && value !== null && made.get(value) === (this as RecordType<unknown>)
  }
}

/** Define a record and register it under its namespace. */
export function record<S extends StandardSchemaV1>(
  name: string,
  schema: S,
  options: RecordOptions = {},
): RecordType<StandardSchemaV1.InferOutput<S>, StandardSchemaV1.InferInput<S>> {
  const type = new RecordType<StandardSchemaV1.InferOutput<S>, StandardSchemaV1.InferInput<S>>(name, schema as StandardSchemaV1<unknown, StandardSchemaV1.InferOutput<S>>, options)
  const existing = registry.get(type.namespace)
  if (existing !== undefined && existing.schema !== schema) {
    throw new ImproperlyConfigured(`a record with namespace ${type.namespace} is already defined; give this one another namespace`)
  }
  registry.set(type.namespace, type as RecordType<unknown>)
  return type
}

export type InferRecord<R> = R extends RecordType<infer T, infer _I> ? T : never

/** Every registered record, sorted by namespace. */
export function records(): RecordType<unknown>[] {
  return [...registry.values()].sort((a, b) => (a.namespace < b.namespace ? -1 : 1))
}

/** The record registered under a namespace or name. */
export function findRecord(nameOrNamespace: string): RecordType<unknown> | undefined {
  return registry.get(nameOrNamespace) ?? records().find((r) => r.name === nameOrNamespace)
}

/** Decode JSON data by its `__faust` namespace when that record is registered; otherwise return it as is. */
export function fromBlessed(data: unknown): unknown {
  const ns = namespaceOf(data)
  if (ns === undefined) return data
  const type = registry.get(ns)
  return type === undefined ? data : type.fromData(data)
}

/** The record a value was decoded or created as, if any. */
export function recordOf(value: unknown): RecordType<unknown> | undefined {
  return typeof value === 'object' && value !== null ? made.get(value) : undefined
}

export function namespaceOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined
  const meta = (data as Record<string, unknown>)[BLESSED_KEY]
  if (typeof meta !== 'object' || meta === null) return undefined
  const ns = (meta as Record<string, unknown>).ns
  return typeof ns === 'string' ? ns : undefined
}

function stripMetadata(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data) || !(BLESSED_KEY in data)) return data
  const { [BLESSED_KEY]: _meta, ...rest } = data as Record<string, unknown>
  return rest
}

/** Plain data with `__faust` on every object made as a record, and Dates as Python writes them. */
function toWire(value: unknown, type: RecordType<unknown> | undefined): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Date) return formatIsoDate(value)
  if (Array.isArray(value)) return value.map((v) => toWire(v, undefined))
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toWire(v, undefined)]))
  if (Buffer.isBuffer(value)) return value.toString()
  const recordType = type ?? made.get(value)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v, undefined)
  if (recordType?.includeMetadata) out[BLESSED_KEY] = { ns: recordType.namespace }
  return out
}
