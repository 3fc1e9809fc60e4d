/**
 * memory-passthrough: events per second from the memory:// broker through a passthrough agent,
 * and through 4 agents reading one topic (each event delivered 4 times), against the reference:
 * a bare async generator over the same log consumed with `for await` (no groups, acks or commits).
 */
import { App, MemoryBroker, tp } from './_deps.ts'
import { arg, progress, round, waitUntil } from './_util.ts'

const PARTITIONS = 8

function fill(url: string, topic: string, messages: number): void {
  const broker = MemoryBroker.get(url)
  broker.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 1, config: {} })
  const value = Buffer.alloc(100, 'v')
  for (let i = 0; i < messages; i++) broker.append({ topic, partition: i % PARTITIONS, key: null, value })
}

/**
 * The reference: the simplest async pipeline over the same log without faust-ts: an async
 * generator reading the memory broker's partitions in batches, consumed with `for await`.
 */
async function reference(messages: number): Promise<number> {
  const url = `memory://bench-ref-${process.pid}`
  fill(url, 'bench', messages)
  const broker = MemoryBroker.get(url)
  async function* records() {
    const positions = new Array<number>(PARTITIONS).fill(0)
    for (let read = 0; read < messages; ) {
      for (let p = 0; p < PARTITIONS; p++) {
        const batch = broker.read(tp('bench', p), positions[p]!, 1000)
        positions[p]! += batch.length
        read += batch.length
        for (const record of batch) yield record.value
      }
    }
  }
  let count = 0
  const started = performance.now()
  for await (const _ of records()) count += 1
  const seconds = (performance.now() - started) / 1000
  MemoryBroker.delete(url)
  return count / seconds
}

async function agents(messages: number, agentCount: number, monitor = true): Promise<number> {
  const url = `memory://bench-agents-${agentCount}-${process.pid}`
  fill(url, 'bench', messages)
  const app = new App(`bench-${agentCount}`, { broker: url, topicPartitions: PARTITIONS })
  const topic = app.topic('bench', { valueSerializer: 'raw', partitions: PARTITIONS })
  if (!monitor) app.sensors.remove(app.monitor)
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
  progress(`reference (bare async generator over the log): ${round(ref)} msg/s`)
  // Without the Monitor first and with it after, then both again: JIT warm-up favours later runs.
  const bare1 = await agents(messages, 1, false)
  const one1 = await agents(messages, 1)
  const bare2 = await agents(messages, 1, false)
  const one2 = await agents(messages, 1)
  const one = Math.max(one1, one2)
  const bare = Math.max(bare1, bare2)
  progress(`1 passthrough agent: ${round(one)} events/s (best of 2; without the Monitor's sensor hooks: ${round(bare)})`)
  const four = await agents(messages, 4)
  progress(`4 agents on one topic: ${round(four)} events/s (${round(four / 4)} messages/s)`)
  return {
    messages,
    rate: round(one),
    rate4Agents: round(four),
    messageRate4Agents: round(four / 4),
    rateWithoutMonitor: round(bare),
    reference: round(ref),
    ratio: round(one / ref, 3),
  }
}
