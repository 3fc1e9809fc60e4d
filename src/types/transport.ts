/**
 * The transport driver interface: what a broker client must provide. `memory://` and `kafka://`
 * implement it; the Consumer, Fetcher, Producer and Conductor services are written against it.
 * @module
 */
import type { LoggerT } from './logging.ts'
import type { ProducerRecord, RawRecord, RecordMetadata, TP } from './tuples.ts'

/** One member of a consumer group as the group leader's assignor sees it. */
export interface GroupMember {
  memberId: string
  /** The topics this member subscribes to. */
  topics: string[]
  /** What the member's assignor put in its join request. */
  userData: Buffer
}

/** What the leader gives one member: partitions per topic, plus opaque data. */
export interface MemberAssignment {
  assignment: Map<string, number[]>
  userData: Buffer
}

/**
 * A pluggable partition assignor. It runs in every member (to produce its join metadata) and in
 * the group leader (to assign). The co-partitioning, standby-aware assignor of tables plugs in here.
 */
export interface PartitionAssignorT {
  readonly name: string
  readonly version: number
  /** The userData this member sends when it joins. */
  memberMetadata(topics: string[]): Buffer
  /** Leader only: assign every member its partitions. `partitions` is the partition count per topic. */
  assign(members: GroupMember[], partitions: Map<string, number>): Map<string, MemberAssignment>
  /** Called on every member with what the leader gave it. */
  onAssignment?(assignment: MemberAssignment, generation: number): void
}

export interface AssignedInfo {
  generation: number
  memberId: string
  userData: Buffer
}

/** The consumer service's side of the driver: the driver calls these. */
export interface ConsumerHandlerT {
  /**
   * The group is rebalancing and these partitions are taken away. The driver waits for the
   * returned promise before it rejoins, so the handler can commit what was acked.
   */
  onPartitionsRevoked(revoked: TP[]): Promise<void>
  /** The new assignment (the whole set, not a delta). Fetching starts after the promise resolves. */
  onPartitionsAssigned(assigned: TP[], info: AssignedInfo): Promise<void>
  /**
   * Records fetched for one partition, in offset order, for the given generation. Synchronous:
   * the handler hands them to streams and pauses the partition if a buffer is full.
   */
  onRecords(tp: TP, records: RawRecord[], generation: number): void
}

export interface ConsumerDriverOptions {
  groupId: string
  clientId: string
  handler: ConsumerHandlerT
  assignor?: PartitionAssignorT | undefined
  autoOffsetReset: 'earliest' | 'latest'
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  rebalanceTimeoutMs: number
  maxPollRecords?: number | undefined
  maxPartitionFetchBytes: number
  isolationLevel: 'read_uncommitted' | 'read_committed'
  log: LoggerT
}

export interface ConsumerDriverT {
  /** Join the group subscribed to these topics (replacing any earlier subscription). */
  subscribe(topics: string[]): Promise<void>
  /** Fetch until the signal aborts, calling the handler. */
  run(signal: AbortSignal): Promise<void>
  /** Leave the group and close. */
  close(): Promise<void>
  pause(tps: TP[]): void
  resume(tps: TP[]): void
  seek(tp: TP, offset: number): void
  /** Commit the next offset to read for each partition. */
  commit(offsets: Map<TP, number>): Promise<void>
  /** The committed offsets of the group (undefined when none). */
  committed(tps: TP[]): Promise<Map<TP, number | undefined>>
  assignment(): TP[]
}

export interface ProducerDriverOptions {
  clientId: string
  acks: number
  lingerMs: number
  maxBatchSize: number
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
  idempotent: boolean
  transactionalId?: string | undefined
  requestTimeoutMs: number
  log: LoggerT
}

export interface ProducerDriverT {
  start(): Promise<void>
  send(record: ProducerRecord): Promise<RecordMetadata>
  /** Resolves when everything sent so far is acknowledged by the broker. */
  flush(): Promise<void>
  close(): Promise<void>
}

export interface TopicSpec {
  name: string
  partitions: number
  replicationFactor: number
  config: Record<string, string>
}

export interface TopicDescription {
  name: string
  partitions: number
  config: Record<string, string>
}

export interface AdminDriverT {
  /** Create a topic; false when it already existed. */
  createTopic(spec: TopicSpec): Promise<boolean>
  /** Describe the topics that exist (missing ones are left out). */
  describeTopics(names: string[]): Promise<Map<string, TopicDescription>>
  deleteTopics(names: string[]): Promise<void>
  /** Offset of the next record to be written, per partition. */
  endOffsets(tps: TP[]): Promise<Map<TP, number>>
  /** Earliest offset still in the log, per partition. */
  beginningOffsets(tps: TP[]): Promise<Map<TP, number>>
  close(): Promise<void>
}

export interface ReaderDriverOptions {
  clientId: string
  maxPartitionFetchBytes: number
  isolationLevel: 'read_uncommitted' | 'read_committed'
  /** Records of one partition, in offset order. Called for every non-empty fetch. */
  onRecords(tp: TP, records: RawRecord[]): void
  log: LoggerT
}

/**
 * Reads chosen partitions from chosen offsets, with no consumer group (Kafka's `assign()`):
 * table recovery, standby replicas and global tables use it, so the worker's group consumer
 * keeps running meanwhile.
 */
export interface ReaderDriverT {
  /**
   * Read exactly these partitions from now on, each from its offset (the next offset to read).
   * Partitions left out stop being read; records already fetched for them are not delivered.
   */
  assign(positions: Map<TP, number>): void
  /** Partitions being read, with the next offset to read. */
  positions(): Map<TP, number>
  /** Fetch until the signal aborts. */
  run(signal: AbortSignal): Promise<void>
  close(): Promise<void>
}

export interface TransportDriverT {
  readonly scheme: string
  createConsumer(options: ConsumerDriverOptions): ConsumerDriverT
  createProducer(options: ProducerDriverOptions): ProducerDriverT
  createAdmin(): AdminDriverT
  createReader(options: ReaderDriverOptions): ReaderDriverT
}
