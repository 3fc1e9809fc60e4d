/**
 * Transport drivers by URL scheme. Drivers load lazily, so an app on `memory://` never loads a
 * Kafka client.
 * @module
 */
import { ImproperlyConfigured } from '../../errors.ts'
import type { TransportDriverT } from '../../types/transport.ts'
import type { LoggerT } from '../../types/logging.ts'
import type { Settings } from '../../types/settings.ts'

export async function createTransport(url: string, conf: Settings, log: LoggerT): Promise<TransportDriverT> {
  const scheme = url.slice(0, url.indexOf('://'))
  switch (scheme) {
    case 'memory': {
      const { MemoryTransport } = await import('./memory.ts')
      const transport = new MemoryTransport(url)
      transport.broker.defaultPartitions = conf.topicPartitions
      return transport
    }
    case 'kafka':
    case 'aiokafka': {
      const { KafkaTransport, securityFromEnv } = await import('./kafka.ts')
      return new KafkaTransport(url, conf, securityFromEnv(), log)
    }
    default:
      throw new ImproperlyConfigured(`no transport driver for ${url}: use memory:// or kafka://host:port`)
  }
}
