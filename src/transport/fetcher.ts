/**
 * Fetcher: the service that runs the driver's fetch loop (Faust's Fetcher). Records it fetches
 * go to the Consumer, which hands them to the Conductor. Stopping the Fetcher stops fetching;
 * the consumer stays in the group until it is stopped itself.
 * @module
 */
import { Service } from '../services/service.ts'
import type { Consumer } from './consumer.ts'

export class Fetcher extends Service {
  readonly #consumer: Consumer

  constructor(consumer: Consumer) {
    super({ name: 'Fetcher' })
    this.#consumer = consumer
  }

  protected override async onStart(): Promise<void> {
    this.addTask('fetch', (signal) => this.#consumer.driver.run(signal))
  }
}
