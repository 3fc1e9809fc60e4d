/**
 * Field types with Faust's wire encoding, as zod schemas to use inside `z.object({...})`:
 *
 * - `datetime()`: an ISO-8601 string on the wire (Faust writes `isoformat()`, with `Z` for UTC),
 *   a `Date` in TypeScript. A string without a zone is read as UTC.
 * - `decimal()`: a string on the wire and in TypeScript (no precision lost); numbers are accepted.
 * - `nested(Record)`: a record inside a record (it keeps its own `__faust` metadata).
 * @module
 */
import { z } from 'zod'
import type { RecordType } from './record.ts'

const ZONE = /(Z|[+-]\d{2}:?\d{2})$/i
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i

/**
 * A Date as Python's `datetime.isoformat()` writes it, with Faust's `Z` for UTC: microseconds (six
 * digits) when there is a fraction, none otherwise. Six digits matter: Faust's own ISO parser reads
 * `.123` as 123 microseconds, not milliseconds.
 */
export function formatIsoDate(date: Date): string {
  const iso = date.toISOString()
  const ms = date.getUTCMilliseconds()
  return ms === 0 ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 23)}000Z`
}

/** Parse an ISO-8601 string as Python writes it (microseconds, optional zone; none means UTC). */
export function parseIsoDate(text: string): Date | undefined {
  if (!ISO.test(text)) return undefined
  let s = text.replace(' ', 'T')
  if (s.length === 10) s += 'T00:00:00'
  // JavaScript keeps milliseconds; Python writes microseconds.
  s = s.replace(/(\.\d{3})\d+/, '$1')
  if (!ZONE.test(s)) s += 'Z'
  const date = new Date(s)
  return Number.isNaN(date.getTime()) ? undefined : date
}

export function datetime() {
  return z
    .union([z.date(), z.string(), z.number()])
    .transform((v, ctx) => {
      if (v instanceof Date) return v
      if (typeof v === 'number') return new Date(v)
      const date = parseIsoDate(v)
      if (date === undefined) {
        ctx.addIssue({ code: 'custom', message: `not an ISO-8601 datetime: ${JSON.stringify(v)}` })
        return z.NEVER
      }
      return date
    })
    .meta({ format: 'date-time', description: 'datetime (ISO-8601 on the wire)' })
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

export function decimal() {
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const text = typeof v === 'number' ? String(v) : v.trim()
      if (!DECIMAL.test(text)) {
        ctx.addIssue({ code: 'custom', message: `not a decimal: ${JSON.stringify(v)}` })
        return z.NEVER
      }
      return text
    })
    .meta({ format: 'decimal', description: 'decimal (a string on the wire)' })
}

export function nested<T>(type: RecordType<T>) {
  return z
    .unknown()
    .transform((v, ctx) => {
      const result = type['~standard'].validate(v)
      if ('issues' in result && result.issues !== undefined) {
        for (const issue of result.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path?.map((p) => (typeof p === 'object' ? p.key : p)) as PropertyKey[] })
        return z.NEVER
      }
      return (result as { value: T }).value
    })
    .meta({ description: `record ${type.namespace}` })
}
