/**
 * The Kafka reader (no consumer group). Being written.
 * @module
 */
import { ImproperlyConfigured } from '../../errors.ts'
import type { ReaderDriverOptions, ReaderDriverT } from '../../types/transport.ts'
import type { TP } from '../../types/tuples.ts'

export class KafkaReader implements ReaderDriverT {
  constructor(_transport: unknown, _options: ReaderDriverOptions) {}
  assign(_positions: Map<TP, number>): void {
    throw new ImproperlyConfigured('the Kafka reader is not available yet')
  }
  positions(): Map<TP, number> {
    return new Map()
  }
  async run(_signal: AbortSignal): Promise<void> {}
  async close(): Promise<void> {}
}
