/**
 * Topic-partitions, raw records and send metadata: the shapes every layer passes around.
 * @module
 */

/** A topic-partition. Instances are interned (see `tp()` in utils), so `===` compares them. */
export interface TP {
  readonly topic: string
  readonly partition: number
}

/** One Kafka header. Kafka allows a key to repeat, so headers travel as a list. */
export type Header = [key: string, value: Buffer]

/** A record as a driver fetched it: bytes and position. */
export interface RawRecord {
  topic: string
  partition: number
  offset: number
  /** Milliseconds since the epoch. */
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers: Header[]
}

/** What a driver sends. A missing partition means the default partitioner (murmur2 of the key). */
export interface ProducerRecord {
  topic: string
  partition?: number | undefined
  key: Buffer | null
  value: Buffer | null
  headers?: Header[] | undefined
  timestamp?: number | undefined
}

/** Where a sent record landed. */
export interface RecordMetadata {
  topic: string
  partition: number
  offset: number
  timestamp: number
}

/** User-facing header input: strings are sent as UTF-8. */
export type HeadersInput = Record<string, string | Buffer> | Array<[string, string | Buffer]>
