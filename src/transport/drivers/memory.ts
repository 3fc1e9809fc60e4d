/**
 * `memory://`: an in-process broker with Kafka's semantics where they matter to an app: topics
 * with partitions, keys placed by murmur2, offsets, consumer groups with committed offsets and
 * rebalances (revoke, then assign, through the same pluggable assignor as Kafka), per-partition
 * pause/resume and seek. Apps, tests and the demo run on it with no Kafka.
 *
 * `memory://` is one broker per process; `memory://<name>` gives a separate named one (tests use
 * a fresh name each so they never see each other's topics).
 * @module
 */
import { randomUUID } from 'node:crypto'
import { TransportError } from '../../errors.ts'
import type {
  AdminDriverT,
  AssignedInfo,
  ConsumerDriverOptions,
  ConsumerDriverT,
  GroupMember,
  MemberAssignment,
  PartitionAssignorT,
  ProducerDriverOptions,
  ProducerDriverT,
  ReaderDriverOptions,
  ReaderDriverT,
  TopicDescription,
  TopicSpec,
  TransportDriverT,
} from '../../types/transport.ts'
import type { ProducerRecord, RawRecord, RecordMetadata, TP } from '../../types/tuples.ts'
import { keyPartition } from '../../utils/murmur2.ts'
import { Pulse } from '../../utils/pulse.ts'
import { tp } from '../../utils/tp.ts'

class MemoryPartition {
  records: RawRecord[] = []
  /** Offset of records[0] (records below it were deleted). */
  start = 0

  get end(): number {
    return this.start + this.records.length
  }
}

class MemoryTopic {
  readonly name: string
  readonly partitions: MemoryPartition[]
  readonly config: Record<string, string>
  #roundRobin = 0

  constructor(name: string, partitions: number, config: Record<string, string>) {
    this.name = name
    this.config = config
    this.partitions = Array.from({ length: partitions }, () => new MemoryPartition())
  }

  nextRoundRobin(): number {
    const p = this.#roundRobin
    this.#roundRobin = (p + 1) % this.partitions.length
    return p
  }
}

interface Member {
  id: string
  topics: string[]
  assignor: PartitionAssignorT
  consumer: MemoryConsumer
  assignment: TP[]
}

class MemoryGroup {
  readonly id: string
  generation = 0
  members = new Map<string, Member>()
  committed = new Map<TP, number>()
  /** Rebalances run one at a time, in order. */
  #chain: Promise<void> = Promise.resolve()
  readonly broker: MemoryBroker

  constructor(broker: MemoryBroker, id: string) {
    this.broker = broker
    this.id = id
  }

  rebalance(): Promise<void> {
    const run = this.#chain.then(() => this.#rebalance())
    this.#chain = run.catch(() => {})
    return run
  }

  async #rebalance(): Promise<void> {
    this.generation += 1
    const generation = this.generation
    const members = [...this.members.values()]
    for (const m of members) m.consumer.beginRebalance()
    // Revoke everything first (eager protocol), waiting for each member to commit.
    await Promise.all(
      members.map(async (m) => {
        const revoked = m.assignment
        m.assignment = []
        await m.consumer.revoke(revoked)
      }),
    )
    const current = [...this.members.values()]
    if (current.length === 0) return
    const partitions = new Map<string, number>()
    for (const m of current) {
      for (const name of m.topics) partitions.set(name, this.broker.ensureTopic(name).partitions.length)
    }
    const leader = current[0]!
    const groupMembers: GroupMember[] = current.map((m) => ({
      memberId: m.id,
      topics: m.topics,
      userData: m.assignor.memberMetadata(m.topics),
    }))
    const assignments = leader.assignor.assign(groupMembers, partitions)
    await Promise.all(
      current.map(async (m) => {
        const given: MemberAssignment = assignments.get(m.id) ?? { assignment: new Map(), userData: Buffer.alloc(0) }
        const tps: TP[] = []
        for (const [topic, parts] of given.assignment) for (const p of parts) tps.push(tp(topic, p))
        m.assignment = tps
        m.assignor.onAssignment?.(given, generation)
        await m.consumer.assign(tps, { generation, memberId: m.id, userData: given.userData })
      }),
    )
  }
}

/** Round-robin over all partitions of all topics, members sorted by id: Kafka's RoundRobinAssignor. */
export class RoundRobinAssignor implements PartitionAssignorT {
  readonly name = 'roundrobin'
  readonly version = 0

  memberMetadata(): Buffer {
    return Buffer.alloc(0)
  }

  assign(members: GroupMember[], partitions: Map<string, number>): Map<string, MemberAssignment> {
    const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
    const out = new Map<string, MemberAssignment>()
    for (const m of sorted) out.set(m.memberId, { assignment: new Map(), userData: Buffer.alloc(0) })
    const topics = [...partitions.keys()].sort()
    let i = 0
    for (const topic of topics) {
      const count = partitions.get(topic) ?? 0
      for (let p = 0; p < count; p++) {
        // Give the partition to the next member (in turn) that subscribes to its topic.
        for (let tries = 0; tries < sorted.length; tries++) {
          const m = sorted[i % sorted.length]!
          i += 1
          if (m.topics.includes(topic)) {
            const a = out.get(m.memberId)!.assignment
            const list = a.get(topic)
            if (list === undefined) a.set(topic, [p])
            else list.push(p)
            break
          }
        }
      }
    }
    return out
  }
}

export class MemoryBroker {
  static #brokers = new Map<string, MemoryBroker>()

  /** The broker for a `memory://` URL (created on first use). */
  static get(url: string): MemoryBroker {
    const name = url.replace(/^memory:\/\//, '').replace(/\/+$/, '') || 'default'
    let broker = MemoryBroker.#brokers.get(name)
    if (broker === undefined) {
      broker = new MemoryBroker(name)
      MemoryBroker.#brokers.set(name, broker)
    }
    return broker
  }

  /** Forget a named broker and everything in it. */
  static delete(url: string): void {
    const name = url.replace(/^memory:\/\//, '').replace(/\/+$/, '') || 'default'
    MemoryBroker.#brokers.delete(name)
  }

  readonly name: string
  /** Partitions for topics created implicitly (by a send or a subscription). */
  defaultPartitions = 8
  readonly topics = new Map<string, MemoryTopic>()
  readonly groups = new Map<string, MemoryGroup>()
  /** Called on every append, so idle fetch loops wake up. */
  readonly listeners = new Set<() => void>()

  constructor(name: string) {
    this.name = name
  }

  createTopic(spec: TopicSpec): boolean {
    if (this.topics.has(spec.name)) return false
    this.topics.set(spec.name, new MemoryTopic(spec.name, spec.partitions, { ...spec.config }))
    return true
  }

  ensureTopic(name: string): MemoryTopic {
    let topic = this.topics.get(name)
    if (topic === undefined) {
      topic = new MemoryTopic(name, this.defaultPartitions, {})
      this.topics.set(name, topic)
    }
    return topic
  }

  partition(t: TP): MemoryPartition {
    const partition = this.ensureTopic(t.topic).partitions[t.partition]
    if (partition === undefined) {
      throw new TransportError(`memory broker: ${t.topic} has no partition ${t.partition}`, {
        topic: t.topic,
        partition: t.partition,
      })
    }
    return partition
  }

  append(record: ProducerRecord): RecordMetadata {
    const topic = this.ensureTopic(record.topic)
    const count = topic.partitions.length
    const p =
      record.partition ??
      (record.key !== null && record.key !== undefined ? keyPartition(record.key, count) : topic.nextRoundRobin())
    const partition = topic.partitions[p]
    if (partition === undefined) {
      throw new TransportError(`memory broker: ${record.topic} has ${count} partitions; cannot send to ${p}`, {
        topic: record.topic,
        partition: p,
      })
    }
    const offset = partition.end
    const timestamp = record.timestamp ?? Date.now()
    partition.records.push({
      topic: record.topic,
      partition: p,
      offset,
      timestamp,
      key: record.key,
      value: record.value,
      headers: record.headers ?? [],
    })
    for (const listener of this.listeners) listener()
    return { topic: record.topic, partition: p, offset, timestamp }
  }

  read(t: TP, offset: number, max: number): RawRecord[] {
    const partition = this.partition(t)
    const from = Math.max(offset, partition.start) - partition.start
    if (from >= partition.records.length) return []
    return partition.records.slice(from, from + max)
  }

  group(id: string): MemoryGroup {
    let group = this.groups.get(id)
    if (group === undefined) {
      group = new MemoryGroup(this, id)
      this.groups.set(id, group)
    }
    return group
  }
}

class MemoryConsumer implements ConsumerDriverT {
  readonly #broker: MemoryBroker
  readonly #options: ConsumerDriverOptions
  readonly #id = `memory-${randomUUID()}`
  readonly #wake = new Pulse()
  readonly #onAppend = () => this.#wake.notify()
  #topics: string[] = []
  #assignment: TP[] = []
  #positions = new Map<TP, number>()
  #paused = new Set<TP>()
  #generation = 0
  #rebalancing = false
  #joined = false
  #next = 0

  constructor(broker: MemoryBroker, options: ConsumerDriverOptions) {
    this.#broker = broker
    this.#options = options
  }

  get #group(): MemoryGroup {
    return this.#broker.group(this.#options.groupId)
  }

  async subscribe(topics: string[]): Promise<void> {
    this.#topics = [...new Set(topics)].sort()
    for (const name of this.#topics) this.#broker.ensureTopic(name)
    const group = this.#group
    const member = group.members.get(this.#id)
    if (member === undefined) {
      group.members.set(this.#id, {
        id: this.#id,
        topics: this.#topics,
        assignor: this.#options.assignor ?? new RoundRobinAssignor(),
        consumer: this,
        assignment: [],
      })
    } else {
      member.topics = this.#topics
    }
    this.#joined = true
    this.#broker.listeners.add(this.#onAppend)
    await group.rebalance()
  }

  beginRebalance(): void {
    this.#rebalancing = true
  }

  async revoke(revoked: TP[]): Promise<void> {
    this.#assignment = []
    await this.#options.handler.onPartitionsRevoked(revoked)
  }

  async assign(tps: TP[], info: AssignedInfo): Promise<void> {
    this.#generation = info.generation
    this.#assignment = tps
    this.#positions.clear()
    // As Kafka's consumer: a rebalance does not keep pause state.
    this.#paused.clear()
    const committed = this.#group.committed
    for (const t of tps) {
      const partition = this.#broker.partition(t)
      const c = committed.get(t)
      const reset = this.#options.autoOffsetReset === 'latest' ? partition.end : partition.start
      this.#positions.set(t, c ?? reset)
    }
    await this.#options.handler.onPartitionsAssigned(tps, info)
    this.#rebalancing = false
    this.#wake.notify()
  }

  async run(signal: AbortSignal): Promise<void> {
    const max = this.#options.maxPollRecords ?? 1000
    while (!signal.aborted) {
      let delivered = 0
      if (!this.#rebalancing) {
        const assignment = this.#assignment
        const n = assignment.length
        // Start at a rotating partition so one busy partition cannot starve the others.
        const first = n === 0 ? 0 : this.#next++ % n
        for (let i = 0; i < n && !this.#rebalancing && !signal.aborted; i++) {
          const t = assignment[(first + i) % n]!
          if (this.#paused.has(t)) continue
          const position = this.#positions.get(t) ?? 0
          const records = this.#broker.read(t, position, max)
          if (records.length === 0) continue
          this.#positions.set(t, records[records.length - 1]!.offset + 1)
          delivered += records.length
          this.#options.handler.onRecords(t, records, this.#generation)
        }
      }
      if (delivered === 0) {
        await this.#wake.wait(signal, 1000)
      } else {
        // Let the streams run before fetching more.
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
  }

  async close(): Promise<void> {
    if (!this.#joined) return
    this.#joined = false
    this.#broker.listeners.delete(this.#onAppend)
    const group = this.#group
    const member = group.members.get(this.#id)
    group.members.delete(this.#id)
    if (member !== undefined) {
      // Our own revoke runs first so we commit before the others take our partitions.
      this.beginRebalance()
      const revoked = member.assignment
      member.assignment = []
      this.#assignment = []
      await this.#options.handler.onPartitionsRevoked(revoked)
    }
    if (group.members.size > 0) await group.rebalance()
    this.#wake.notify()
  }

  pause(tps: TP[]): void {
    for (const t of tps) this.#paused.add(t)
  }

  resume(tps: TP[]): void {
    for (const t of tps) this.#paused.delete(t)
    this.#wake.notify()
  }

  seek(t: TP, offset: number): void {
    this.#positions.set(t, offset)
    this.#wake.notify()
  }

  async commit(offsets: Map<TP, number>): Promise<void> {
    const committed = this.#group.committed
    for (const [t, offset] of offsets) committed.set(t, offset)
  }

  async committed(tps: TP[]): Promise<Map<TP, number | undefined>> {
    const committed = this.#group.committed
    return new Map(tps.map((t) => [t, committed.get(t)]))
  }

  assignment(): TP[] {
    return [...this.#assignment]
  }
}

/** Reads chosen partitions of the memory broker from chosen offsets (no group). */
class MemoryReader implements ReaderDriverT {
  readonly #broker: MemoryBroker
  readonly #options: ReaderDriverOptions
  readonly #wake = new Pulse()
  readonly #onAppend = () => this.#wake.notify()
  #positions = new Map<TP, number>()

  constructor(broker: MemoryBroker, options: ReaderDriverOptions) {
    this.#broker = broker
    this.#options = options
  }

  assign(positions: Map<TP, number>): void {
    this.#positions = new Map(positions)
    this.#wake.notify()
  }

  positions(): Map<TP, number> {
    return new Map(this.#positions)
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#broker.listeners.add(this.#onAppend)
    try {
      while (!signal.aborted) {
        let delivered = 0
        for (const [t, position] of [...this.#positions]) {
          if (signal.aborted) return
          const records = this.#broker.read(t, position, 1000)
          if (records.length === 0 || this.#positions.get(t) !== position) continue
          this.#positions.set(t, records[records.length - 1]!.offset + 1)
          delivered += records.length
          this.#options.onRecords(t, records)
        }
        if (delivered === 0) await this.#wake.wait(signal, 1000)
        else await new Promise<void>((resolve) => setImmediate(resolve))
      }
    } finally {
      this.#broker.listeners.delete(this.#onAppend)
    }
  }

  async close(): Promise<void> {
    this.#positions.clear()
    this.#wake.notify()
  }
}

class MemoryProducer implements ProducerDriverT {
  readonly #broker: MemoryBroker

  constructor(broker: MemoryBroker) {
    this.#broker = broker
  }

  async start(): Promise<void> {}

  async send(record: ProducerRecord): Promise<RecordMetadata> {
    return this.#broker.append(record)
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

class MemoryAdmin implements AdminDriverT {
  readonly #broker: MemoryBroker

  constructor(broker: MemoryBroker) {
    this.#broker = broker
  }

  async createTopic(spec: TopicSpec): Promise<boolean> {
    return this.#broker.createTopic(spec)
  }

  async describeTopics(names: string[]): Promise<Map<string, TopicDescription>> {
    const out = new Map<string, TopicDescription>()
    for (const name of names) {
      const topic = this.#broker.topics.get(name)
      if (topic !== undefined) out.set(name, { name, partitions: topic.partitions.length, config: { ...topic.config } })
    }
    return out
  }

  async deleteTopics(names: string[]): Promise<void> {
    for (const name of names) this.#broker.topics.delete(name)
  }

  async endOffsets(tps: TP[]): Promise<Map<TP, number>> {
    return new Map(tps.map((t) => [t, this.#broker.partition(t).end]))
  }

  async beginningOffsets(tps: TP[]): Promise<Map<TP, number>> {
    return new Map(tps.map((t) => [t, this.#broker.partition(t).start]))
  }

  async close(): Promise<void> {}
}

export class MemoryTransport implements TransportDriverT {
  readonly scheme = 'memory'
  readonly broker: MemoryBroker

  constructor(url: string) {
    this.broker = MemoryBroker.get(url)
  }

  createConsumer(options: ConsumerDriverOptions): ConsumerDriverT {
    return new MemoryConsumer(this.broker, options)
  }

  createProducer(_options: ProducerDriverOptions): ProducerDriverT {
    return new MemoryProducer(this.broker)
  }

  createAdmin(): AdminDriverT {
    return new MemoryAdmin(this.broker)
  }

  createReader(options: ReaderDriverOptions): ReaderDriverT {
    return new MemoryReader(this.broker, options)
  }
}
