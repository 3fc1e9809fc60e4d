/**
 * Faust's codecs: `raw`, `json`, `binary` (base64), `gzip`, composable with `|`
 * (`json|gzip` dumps as JSON then gzips; loads in reverse). Users add their own with
 * `codecs.register(name, codec)`.
 * @module
 */
import { gunzipSync, gzipSync } from 'node:zlib'
import { UnknownCodec } from '../errors.ts'
import type { CodecArg, CodecT } from '../types/serializers.ts'

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value
  if (typeof value === 'string') return Buffer.from(value)
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (value === null || value === undefined) return Buffer.alloc(0)
  throw new TypeError(`the raw codec takes bytes or a string, not ${typeof value}`)
}

export const raw: CodecT = {
  name: 'raw',
  dumps: toBuffer,
  loads: (data) => data,
}

/** JSON text as UTF-8. Values are plain JSON; models add their own metadata before this runs. */
export const json: CodecT = {
  name: 'json',
  dumps: (value) => Buffer.from(JSON.stringify(value === undefined ? null : value)),
  loads: (data) => JSON.parse(data.toString('utf8')),
}

export const binary: CodecT = {
  name: 'binary',
  dumps: (value) => Buffer.from(toBuffer(value).toString('base64')),
  loads: (data) => Buffer.from(data.toString('ascii'), 'base64'),
}

export const gzip: CodecT = {
  name: 'gzip',
  dumps: (value) => gzipSync(toBuffer(value)),
  loads: (data) => gunzipSync(data),
}

/** A pipeline of codecs: dumps left to right, loads right to left. */
export function compose(...parts: CodecT[]): CodecT {
  if (parts.length === 1) return parts[0]!
  return {
    name: parts.map((c) => c.name).join('|'),
    dumps(value) {
      let out: unknown = value
      for (const c of parts) out = c.dumps(out)
      return out as Buffer
    },
    loads(data) {
      let out: unknown = data
      for (let i = parts.length - 1; i >= 0; i--) out = parts[i]!.loads(out as Buffer)
      return out
    },
  }
}

export class CodecRegistry {
  #codecs = new Map<string, CodecT>()

  constructor(initial: CodecT[] = [raw, json, binary, gzip]) {
    for (const c of initial) this.#codecs.set(c.name, c)
  }

  register(name: string, codec: CodecT): void {
    this.#codecs.set(name, codec)
  }

  has(name: string): boolean {
    return this.#codecs.has(name)
  }

  names(): string[] {
    return [...this.#codecs.keys()].sort()
  }

  /** Resolve a codec name (`json`, `json|gzip`) or pass a codec object through. */
  get(arg: CodecArg): CodecT {
    if (typeof arg !== 'string') return arg
    const direct = this.#codecs.get(arg)
    if (direct !== undefined) return direct
    const parts = arg.split('|').map((name) => {
      const codec = this.#codecs.get(name.trim())
      if (codec === undefined) {
        throw new UnknownCodec(`no codec named "${name.trim()}"; known: ${this.names().join(', ')} (register one with codecs.register)`)
      }
      return codec
    })
    const composed = compose(...parts)
    this.#codecs.set(arg, composed)
    return composed
  }
}

/** The process-wide registry. */
export const codecs = new CodecRegistry()
