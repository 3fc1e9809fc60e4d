/**
 * The consumer-group assignor of apps with tables: Faust's `PartitionAssignor`
 * (`faust/assignor/partition_assignor.py`) on our `PartitionAssignorT` interface.
 *
 * Every member sends what it had last generation (so the leader can be sticky) and its web URL;
 * the leader runs {@link assignCopartitioned} and sends every member its full state (actives and
 * standbys, changelogs included) plus every member's state by URL, which is what the router needs
 * to send a table request to the worker that owns the key's partition.
 *
 * The protocol name is `faust-ts`, not Faust's `faust`: our metadata is plain JSON in a different
 * shape, and Kafka only lets members with a common protocol name join one group, so a Python Faust
 * worker and a faust-ts worker fail loudly instead of misreading each other.
 * @module
 */
import type { SensorDelegateT } from '../types/sensors.ts'
import type { GroupMember, MemberAssignment, PartitionAssignorT } from '../types/transport.ts'
import { assignCopartitioned, type ClientState } from './copartitioned.ts'

export type { ClientState } from './copartitioned.ts'

export interface CopartitionedAssignorOptions {
  /** This worker's web URL (its `canonicalUrl`): how other workers reach it. */
  url: string | (() => string)
  /** The app's table changelogs (global tables excluded: they are active everywhere). */
  tables: () => Array<{ changelog: string; partitions: number }>
  /** Standby replicas per table partition (`tableStandbyReplicas`). */
  standbyReplicas: number
  /** Told when this worker, as the group leader, computes an assignment. */
  sensors?: SensorDelegateT | undefined
}

/** What this worker was given, and what every worker (by URL) was given. */
export interface AssignmentState {
  actives: Record<string, number[]>
  standbys: Record<string, number[]>
  hosts: Record<string, ClientState>
}

export interface PartitionOwner {
  /** URL of the worker with the partition active, if any. */
  active: string | undefined
  /** URLs of the workers keeping a standby copy. */
  standbys: string[]
}

const VERSION = 1

export class CopartitionedAssignor implements PartitionAssignorT {
  readonly name = 'faust-ts'
  readonly version = VERSION
  readonly #options: CopartitionedAssignorOptions
  #current: AssignmentState | undefined
  /** topic → partition → owners, built from `hosts` on every assignment. */
  #owners = new Map<string, Map<number, PartitionOwner>>()

  constructor(options: CopartitionedAssignorOptions) {
    this.#options = options
  }

  memberMetadata(_topics: string[]): Buffer {
    const current = this.#current
    return Buffer.from(
      JSON.stringify({
        version: VERSION,
        url: typeof this.#options.url === 'string' ? this.#options.url : this.#options.url(),
        actives: current?.actives ?? {},
        standbys: current?.standbys ?? {},
      }),
    )
  }

  assign(members: GroupMember[], partitions: Map<string, number>): Map<string, MemberAssignment> {
    const sensors = this.#options.sensors
    const state = sensors?.onAssignmentStart()
    try {
      const out = this.#assign(members, partitions)
      sensors?.onAssignmentCompleted(state)
      return out
    } catch (err) {
      sensors?.onAssignmentError(state, err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  #assign(members: GroupMember[], partitions: Map<string, number>): Map<string, MemberAssignment> {
    const urls = new Map<string, string | undefined>()
    const input = members.map((m) => {
      const meta = decodeMetadata(m.userData)
      urls.set(m.memberId, meta?.url)
      return { id: m.memberId, topics: m.topics, previous: meta?.state ?? emptyState() }
    })
    const states = assignCopartitioned({
      members: input,
      partitions,
      tables: this.#options.tables(),
      standbyReplicas: this.#options.standbyReplicas,
    })

    const hosts: Record<string, ClientState> = {}
    for (const [id, state] of states) {
      const url = urls.get(id)
      // A member that sent no URL cannot be routed to; it still gets its partitions.
      if (url === undefined || url === '') continue
      // Two members with one URL (a misconfiguration): the router sees the union.
      const known = Object.hasOwn(hosts, url) ? hosts[url] : undefined
      define(hosts, url, known === undefined ? state : mergeStates(known, state))
    }

    const out = new Map<string, MemberAssignment>()
    for (const m of members) {
      const state = states.get(m.memberId) ?? emptyState()
      // Kafka is told only about subscribed topics; changelogs are read outside the group.
      const subscribed = new Set(m.topics)
      const assignment = new Map<string, number[]>()
      for (const [topic, parts] of Object.entries(state.actives)) {
        if (subscribed.has(topic) && parts.length > 0) assignment.set(topic, parts)
      }
      const userData = Buffer.from(JSON.stringify({ version: VERSION, actives: state.actives, standbys: state.standbys, hosts }))
      out.set(m.memberId, { assignment, userData })
    }
    return out
  }

  onAssignment(assignment: MemberAssignment, _generation?: number): void {
    const decoded = decodeAssignment(assignment.userData)
    if (decoded !== undefined) {
      this.#current = decoded
    } else {
      // Not from a faust-ts leader: keep what Kafka gave us, with no standbys and no routing.
      const actives: Record<string, number[]> = {}
      for (const [topic, parts] of assignment.assignment) define(actives, topic, [...parts].sort((a, b) => a - b))
      this.#current = { actives, standbys: {}, hosts: {} }
    }
    this.#owners = ownersIndex(this.#current.hosts)
  }

  /** The last assignment given to this worker, or undefined before the first. */
  current(): AssignmentState | undefined {
    return this.#current
  }

  /** Which workers (URLs) have a partition active and standby, as of the last assignment. */
  ownerOf(topic: string, partition: number): PartitionOwner {
    const owner = this.#owners.get(topic)?.get(partition)
    return owner === undefined ? { active: undefined, standbys: [] } : { active: owner.active, standbys: [...owner.standbys] }
  }
}

function emptyState(): ClientState {
  return { actives: {}, standbys: {} }
}

/** Set an own property even for keys like `__proto__` (a legal Kafka topic name). */
function define<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/** topic → partitions from untrusted JSON: non-integer and negative partitions are dropped. */
function partitionRecord(x: unknown): Record<string, number[]> {
  const out: Record<string, number[]> = {}
  if (!isObject(x)) return out
  for (const [topic, list] of Object.entries(x)) {
    if (!Array.isArray(list)) continue
    const parts = [...new Set(list.filter((p): p is number => Number.isInteger(p) && (p as number) >= 0))]
    define(out, topic, parts.sort((a, b) => a - b))
  }
  return out
}

function clientState(x: unknown): ClientState {
  return isObject(x) ? { actives: partitionRecord(x.actives), standbys: partitionRecord(x.standbys) } : emptyState()
}

function parse(data: Buffer): Record<string, unknown> | undefined {
  if (data.length === 0) return undefined
  try {
    const value: unknown = JSON.parse(data.toString('utf8'))
    return isObject(value) && value.version === VERSION ? value : undefined
  } catch {
    return undefined
  }
}

function decodeMetadata(data: Buffer): { url: string | undefined; state: ClientState } | undefined {
  const value = parse(data)
  if (value === undefined) return undefined
  return { url: typeof value.url === 'string' ? value.url : undefined, state: clientState(value) }
}

function decodeAssignment(data: Buffer): AssignmentState | undefined {
  const value = parse(data)
  if (value === undefined) return undefined
  const hosts: Record<string, ClientState> = {}
  if (isObject(value.hosts)) for (const [url, state] of Object.entries(value.hosts)) define(hosts, url, clientState(state))
  return { ...clientState(value), hosts }
}

function mergeStates(a: ClientState, b: ClientState): ClientState {
  const merge = (x: Record<string, number[]>, y: Record<string, number[]>): Record<string, number[]> => {
    const out: Record<string, number[]> = {}
    for (const topic of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const parts = new Set([...(Object.hasOwn(x, topic) ? x[topic]! : []), ...(Object.hasOwn(y, topic) ? y[topic]! : [])])
      define(out, topic, [...parts].sort((p, q) => p - q))
    }
    return out
  }
  return { actives: merge(a.actives, b.actives), standbys: merge(a.standbys, b.standbys) }
}

function ownersIndex(hosts: Record<string, ClientState>): Map<string, Map<number, PartitionOwner>> {
  const index = new Map<string, Map<number, PartitionOwner>>()
  const entry = (topic: string, partition: number): PartitionOwner => {
    let byPartition = index.get(topic)
    if (byPartition === undefined) index.set(topic, (byPartition = new Map()))
    let owner = byPartition.get(partition)
    if (owner === undefined) byPartition.set(partition, (owner = { active: undefined, standbys: [] }))
    return owner
  }
  for (const url of Object.keys(hosts).sort()) {
    const state = hosts[url]!
    for (const [topic, parts] of Object.entries(state.actives)) for (const p of parts) entry(topic, p).active ??= url
    for (const [topic, parts] of Object.entries(state.standbys)) for (const p of parts) entry(topic, p).standbys.push(url)
  }
  return index
}
