/**
 * GlobalTable: every worker holds every partition and follows the changelog continuously, so
 * each worker sees the writes of every other (Faust's GlobalTable, without its recovery loop).
 * Writes go to the current event's partition (or by murmur2 with usePartitioner) and apply
 * locally at once; the changelog brings everyone else's.
 * @module
 */
import type { Topic } from '../channels/topic.ts'
import type { AppT } from '../types/app.ts'
import { Table, type TableOptions } from './table.ts'

export class GlobalTable<K = unknown, V = unknown> extends Table<K, V> {
  constructor(
    app: AppT,
    name: string,
    options: TableOptions<K, V>,
    makeTopic: (name: string, options: { partitions: number; config: Record<string, string> }) => Topic<Buffer | null, Buffer | null>,
  ) {
    super(app, name, options, makeTopic, 'global')
  }
}
