/**
 * Listing a record's fields (for `faust-ts model`), from zod's JSON Schema export.
 * @module
 */
import { z } from 'zod'
import type { RecordType } from './record.ts'

export interface FieldDescription {
  field: string
  type: string
  required: boolean
  default: string
}

interface JsonSchema {
  type?: string | string[]
  format?: string
  description?: string
  items?: JsonSchema
  anyOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  default?: unknown
  additionalProperties?: JsonSchema | boolean
  enum?: unknown[]
  const?: unknown
}

function typeName(s: JsonSchema): string {
  if (s.format === 'date-time') return 'datetime'
  if (s.format === 'decimal') return 'decimal'
  if (s.description?.startsWith('record ')) return s.description.slice('record '.length)
  if (s.enum !== undefined) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (s.anyOf !== undefined) return s.anyOf.map(typeName).join(' | ')
  if (s.type === 'array') return `${s.items === undefined ? 'unknown' : typeName(s.items)}[]`
  if (s.type === 'object' && s.properties === undefined && typeof s.additionalProperties === 'object') {
    return `map<string, ${typeName(s.additionalProperties)}>`
  }
  if (Array.isArray(s.type)) return s.type.join(' | ')
  return s.type ?? 'unknown'
}

/** The fields of a record whose schema is zod; undefined for other validators. */
export function describeFields(record: RecordType<unknown, unknown>): FieldDescription[] | undefined {
  if (record.schema['~standard'].vendor !== 'zod') return undefined
  const json = z.toJSONSchema(record.schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as JsonSchema
  const required = new Set(json.required ?? [])
  return Object.entries(json.properties ?? {}).map(([field, s]) => ({
    field,
    type: typeName(s),
    required: required.has(field),
    default: s.default === undefined ? '' : JSON.stringify(s.default),
  }))
}
