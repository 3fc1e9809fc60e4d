/**
 * Codecs and type specs: how keys and values become bytes and back.
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'

/** Bytes in, object out, and back. Compose with `a|b` names (`json|gzip`). */
export interface CodecT {
  readonly name: string
  dumps(value: unknown): Buffer
  loads(data: Buffer): unknown
}

/** A codec by registered name (`'json'`, `'json|gzip'`) or an object. */
export type CodecArg = string | CodecT

/**
 * A model class (records with a namespace; see src/models). Declared structurally here so that
 * serializers never import models.
 */
export interface ModelClassT<T = unknown> {
  readonly namespace: string
  readonly serializer?: string | undefined
  /** Turn decoded JSON into a validated instance. Throws a ValidationError. */
  fromData(data: unknown): T
  /** Turn an instance into plain JSON data (with `__faust` metadata). */
  toData(value: T): unknown
}

/** What a key or value is declared as. */
export type TypeSpec<T = unknown> =
  | StandardSchemaV1<unknown, T>
  | ModelClassT<T>
  | StringConstructor
  | NumberConstructor
  | BufferConstructor

/** The TypeScript type a spec yields. */
export type InferType<S> = S extends StandardSchemaV1<unknown, infer O>
  ? O
  : S extends ModelClassT<infer T>
    ? T
    : S extends StringConstructor
      ? string
      : S extends NumberConstructor
        ? number
        : S extends BufferConstructor
          ? Buffer
          : unknown
