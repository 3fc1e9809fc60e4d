/**
 * memory-passthrough: events per second from the memory:// broker through a passthrough agent,
 * and through 4 agents reading one topic (each event delivered 4 times), against the reference:
 * the memory driver's own consumer loop with a handler that only counts.
 */
import { App, MemoryBroker, MemoryTransport, silentLoggerFor } from './_deps.ts'
import { arg, progress, round, waitUntil } from './_util.ts'

const PARTITIONS = 8

function fill(url: string, topic: string, messages: number): void {
  const broker = MemoryBroker.get(url)
  broker.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 1, config: {} })
  const value = Buffer.alloc(100, 'v')
  for (let i = 0; i < messages; i++) broker.append({ topic, partition: i % PARTITIONS, key: null, value })
}

async function reference(messages: number): Promise<number> {
  const url = `memory://bench-ref-${process.pid}`
  fill(url, 'bench', messages)
  const transport = new MemoryTransport(url)
  let count = 0
  const consumer = transport.createConsumer({
    groupId: 'ref',
    clientId: 'ref',
    autoOffsetReset: 'earliest',
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
    rebalanceTimeoutMs: 10_000,
    maxPartitionFetchBytes: 1 << 20,
    isolationLevel: 'read_uncommitted',
    log: silentLoggerFor(),
    handler: {
      onPartitionsRevoked: async () => {},
      onPartitionsAssigned: async () => {},
      onRecords: (_tp, records) => {
        count += records.length
      },
    },
  })
  await consumer.subscribe(['bench'])
  const abort = new AbortController()
  const started = performance.now()
  const running = consumer.run(abort.signal)
  await waitUntil(() => count >= messages, () => `reference: ${count}/${messages}`)
  const seconds = (performance.now() - started) / 1000
  abort.abort()
  await running
  await consumer.close()
  MemoryBroker.delete(url)
  return messages / seconds
}

async function agents(messages: number, agentCount: number): Promise<number> {
  const url = `memory://bench-agents-${agentCount}-${process.pid}`
  fill(url, 'bench', messages)
  const app = new App(`bench-${agentCount}`, { broker: url, topicPartitions: PARTITIONS })
  const topic = app.topic('bench', { valueSerializer: 'raw', partitions: PARTITIONS })
  let count = 0
  for (let a = 0; a < agentCount; a++) {
    app.agent(
      topic,
      async (stream) => {
        for await (const _ of stream) count += 1
      },
      { name: `passthrough-${a}` },
    )
  }
  const started = performance.now()
  await app.start()
  const expected = messages * agentCount
  await waitUntil(() => count >= expected, () => `${agentCount} agent(s): ${count}/${expected} events`)
  const seconds = (performance.now() - started) / 1000
  await app.stop()
  MemoryBroker.delete(url)
  return expected / seconds
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const messages = arg(args, 'messages', 1_000_000)
  progress(`${messages} messages of 100 bytes, ${PARTITIONS} partitions`)
  const ref = await reference(messages)
  progress(`reference (memory driver consumer, counting only): ${round(ref)} msg/s`)
  const one = await agents(messages, 1)
  progress(`1 passthrough agent: ${round(one)} events/s`)
  const four = await agents(messages, 4)
  progress(`4 agents on one topic: ${round(four)} events/s (${round(four / 4)} messages/s)`)
  return {
    messages,
    rate: round(one),
    rate4Agents: round(four),
    messageRate4Agents: round(four / 4),
    reference: round(ref),
    ratio: round(one / ref, 3),
  }
}
