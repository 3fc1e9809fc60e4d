/**
 * `kafka://`: the Kafka driver (kafkajs). Work in progress.
 * @module
 */
import { ImproperlyConfigured } from '../../errors.ts'
import type { Settings } from '../../types/settings.ts'
import type { AdminDriverT, ConsumerDriverT, ProducerDriverT, TransportDriverT } from '../../types/transport.ts'

export class KafkaTransport implements TransportDriverT {
  readonly scheme = 'kafka'
  constructor(_url: string, _conf: Settings) {}
  createConsumer(): ConsumerDriverT {
    throw new ImproperlyConfigured('the kafka:// driver is not available yet')
  }
  createProducer(): ProducerDriverT {
    throw new ImproperlyConfigured('the kafka:// driver is not available yet')
  }
  createAdmin(): AdminDriverT {
    throw new ImproperlyConfigured('the kafka:// driver is not available yet')
  }
}
