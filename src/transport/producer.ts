/**
 * Producer: sends records through the driver (Faust's Producer). `flush()` (before each commit
 * and at shutdown) returns only when every send so far is on the broker; send errors reach the
 * caller and the sensors.
 * @module
 */
import { describeError, ProducerSendError } from '../errors.ts'
import { Service } from '../services/service.ts'
import type { ProducerT } from '../types/app.ts'
import type { SensorDelegateT } from '../types/sensors.ts'
import type { ProducerDriverT } from '../types/transport.ts'
import type { ProducerRecord, RecordMetadata } from '../types/tuples.ts'

/**
 * Sends waiting for the broker above which streams stop taking events (Faust's producer buffer
 * wait_until_ebb): agents write changelogs and send without awaiting, so without this a producer
 * slower than the agents grows its buffer until the process runs out of memory.
 */
const HIGH_WATER = 100_000
const LOW_WATER = 50_000

export class Producer extends Service implements ProducerT {
  readonly #createDriver: () => ProducerDriverT
  readonly #sensors: SensorDelegateT | undefined
  #driver: ProducerDriverT | undefined
  /** When set, sends go here instead of the broker (an agent's test context captures them). */
  interceptor: ((record: ProducerRecord) => RecordMetadata) | undefined
  readonly stats = { sent: 0, errors: 0 }
  #outstanding = 0
  #waiters: Array<() => void> = []

  constructor(createDriver: () => ProducerDriverT, sensors?: SensorDelegateT) {
    super({ name: 'Producer' })
    this.#createDriver = createDriver
    this.#sensors = sensors
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
    const sensors = this.#sensors
    const state = sensors?.onSendInitiated(record)
    this.#outstanding += 1
    return this.driver.send(record).then(
      (metadata) => {
        this.#settled()
        this.stats.sent += 1
        sensors?.onSendCompleted(record, metadata, state)
        return metadata
      },
      (err: unknown) => {
        this.#settled()
        this.stats.errors += 1
        const error = new ProducerSendError(`cannot send to ${record.topic}: ${describeError(err)}`, {
          topic: record.topic,
          partition: record.partition,
          cause: err,
        })
        sensors?.onSendError(record, error, state)
        throw error
      },
    )
  }

  get congested(): boolean {
    return this.#outstanding >= HIGH_WATER
  }

  /** Sends waiting for the broker. */
  get outstanding(): number {
    return this.#outstanding
  }

  /** Resolves once the sends waiting for the broker are down to the low-water mark. */
  drained(): Promise<void> {
    if (this.#outstanding <= LOW_WATER) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  #settled(): void {
    this.#outstanding -= 1
    if (this.#waiters.length > 0 && this.#outstanding <= LOW_WATER) for (const w of this.#waiters.splice(0)) w()
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
