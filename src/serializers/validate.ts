/**
 * Synchronous validation with any Standard Schema.
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { ImproperlyConfigured, ValidationError } from '../errors.ts'

/** Validate with a Standard Schema, synchronously; throws ValidationError with the issues. */
export function validate<T>(schema: StandardSchemaV1<unknown, T>, data: unknown): T {
  const result = schema['~standard'].validate(data)
  if (result instanceof Promise) {
    throw new ImproperlyConfigured(
      `the schema (${schema['~standard'].vendor}) validates asynchronously; topics need a synchronous schema`,
    )
  }
  if (result.issues !== undefined) {
    const summary = result.issues
      .slice(0, 3)
      .map((i) => `${formatPath(i.path)}${i.message}`)
      .join('; ')
    throw new ValidationError(`value does not match its schema: ${summary}`, result.issues)
  }
  return result.value
}

function formatPath(path: StandardSchemaV1.Issue['path']): string {
  if (path === undefined || path.length === 0) return ''
  const parts = path.map((p) => (typeof p === 'object' && p !== null && 'key' in p ? String(p.key) : String(p)))
  return `${parts.join('.')}: `
}
