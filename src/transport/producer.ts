/**
 * Producer: sends records through the driver (Faust's Producer). `flush()` (before each commit
 * and at shutdown) returns only when every send so far is on the broker; send errors reach the
 * caller and the sensors.
 * @module
 */
import { describeError, ProducerSendError } from '../errors.ts'
import { Service } from '../services/service.ts'
import type { ProducerT } from '../types/app.ts'
import type { ProducerDriverT } from '../types/transport.ts'
import type { ProducerRecord, RecordMetadata } from '../types/tuples.ts'

export interface ProducerHooks {
  onSendInitiated?(record: ProducerRecord): void
  onSendCompleted?(record: ProducerRecord, metadata: RecordMetadata, startedAt: number): void
  onSendError?(record: ProducerRecord, err: Error, startedAt: number): void
}

export class Producer extends Service implements ProducerT {
  readonly #createDriver: () => ProducerDriverT
  #driver: ProducerDriverT | undefined
  hooks: ProducerHooks = {}
  /** When set, sends go here instead of the broker (an agent's test context captures them). */
  interceptor: ((record: ProducerRecord) => RecordMetadata) | undefined
  readonly stats = { sent: 0, errors: 0 }

  constructor(createDriver: () => ProducerDriverT) {
    super({ name: 'Producer' })
    this.#createDriver = createDriver
  }

  get driver(): ProducerDriverT {
    if (this.#driver === undefined) this.#driver = this.#createDriver()
    return this.#driver
  }

  protected override async onStart(): Promise<void> {
    await this.driver.start()
  }

  send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.interceptor !== undefined) return Promise.resolve(this.interceptor(record))
    const hooks = this.hooks
    const startedAt = hooks.onSendCompleted === undefined && hooks.onSendError === undefined ? 0 : performance.now()
    hooks.onSendInitiated?.(record)
    return this.driver.send(record).then(
      (metadata) => {
        this.stats.sent += 1
        hooks.onSendCompleted?.(record, metadata, startedAt)
        return metadata
      },
      (err: unknown) => {
        this.stats.errors += 1
        const error = new ProducerSendError(`cannot send to ${record.topic}: ${describeError(err)}`, {
          topic: record.topic,
          partition: record.partition,
          cause: err,
        })
        hooks.onSendError?.(record, error, startedAt)
        throw error
      },
    )
  }

  /** Wait until every send so far has completed (or failed): the driver holds them until then. */
  async flush(): Promise<void> {
    await this.#driver?.flush()
  }

  protected override async onShutdown(): Promise<void> {
    if (this.#driver === undefined) return
    try {
      await this.flush()
      await this.#driver.close()
    } catch (err) {
      this.log.warn({ err }, `closing the producer failed: ${describeError(err)}`)
    }
    this.#driver = undefined
  }
}
