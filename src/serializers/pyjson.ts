/**
 * JSON written byte for byte as Python Faust's json codec writes it (`faust.utils.json.dumps`:
 * the standard library's json with "," and ":" separators and non-ASCII escaped as \uXXXX).
 * Needed where the bytes themselves are a key: Faust looks windowed table keys up by their encoded
 * bytes (e.g. in a RocksDB store), so `["k",[10.0,19.9]]` written by Python and by us must be the
 * same bytes. (With orjson installed, Faust writes non-ASCII characters unescaped instead.)
 *
 * Numbers: an integer is written as an int (`10`); pythonFloat() writes one as a float (`10.0`), as
 * Python does for window bounds.
 * @module
 */

const nonAscii = /[\u007f-\uffff]/g

function escapeNonAscii(c: string): string {
  // Python keeps DEL (0x7f) as is; everything above ASCII becomes \uXXXX (lowercase hex).
  const code = c.charCodeAt(0)
  return code === 0x7f ? c : `\\u${code.toString(16).padStart(4, '0')}`
}

export function pythonString(s: string): string {
  return JSON.stringify(s).replace(nonAscii, escapeNonAscii)
}

function pythonNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity'
  // Python's repr pads the exponent to two digits (1e-07); JavaScript does not (1e-7).
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2')
}

/** A number as a Python float: `10.0` for 10. */
export function pythonFloat(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e16 ? `${n}.0` : pythonNumber(n)
}

export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  switch (typeof value) {
    case 'string':
      return pythonString(value)
    case 'number':
      return pythonNumber(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'bigint':
      return value.toString()
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(pythonJson).join(',')}]`
      const toJSON = (value as { toJSON?: () => unknown }).toJSON
      if (typeof toJSON === 'function') return pythonJson(toJSON.call(value))
      const parts: string[] = []
      for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${pythonString(k)}:${pythonJson(v)}`)
      return `{${parts.join(',')}}`
    }
    default:
      throw new TypeError(`cannot write a ${typeof value} as JSON`)
  }
}
