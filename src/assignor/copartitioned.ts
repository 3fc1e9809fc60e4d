/**
 * The co-partitioning, sticky, standby-aware assignment at the heart of Faust's partition
 * assignor (`faust/assignor/copartitioned_assignor.py`), as a pure function.
 *
 * Why co-partitioning: an agent that reads partition p of a source topic writes its table updates
 * to partition p of the table's changelog, and a table read for key k must land on the worker that
 * processed k. So every topic with the same partition count and the same subscribers (plus the
 * changelogs of that count) is one group, and partition p of every topic of a group goes to one
 * worker.
 *
 * Why sticky: moving a table partition costs a changelog replay before the new owner can process
 * it. Members keep what they had, within a balanced capacity, and a partition that must move goes
 * first to a member that kept a warm standby copy of it.
 * @module
 */

/** Per topic, the partitions a member has (actives) or follows as a hot spare (standbys). */
export interface ClientState {
  actives: Record<string, number[]>
  standbys: Record<string, number[]>
}

export interface AssignorInput {
  /** Subscribed source topics, and what the member had last generation. */
  members: Array<{ id: string; topics: string[]; previous: ClientState }>
  /** Subscribed topic → partition count. */
  partitions: Map<string, number>
  /** Table changelog topics (not subscribed; the same list on every member). */
  tables: Array<{ changelog: string; partitions: number }>
  /** Standby replicas per table partition (Faust's `table_standby_replicas`, default 1). */
  standbyReplicas: number
}

/** A co-partitioned group: these topics' partition p always goes to one member. */
export interface CopartitionedGroup {
  partitions: number
  /** Member ids that take part, sorted. */
  members: string[]
  /** Every topic of the group (sources and changelogs), sorted. */
  topics: string[]
  /** The changelog topics of the group (they get standbys), sorted. */
  changelogs: string[]
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const byNumber = (a: number, b: number): number => a - b

/**
 * Work out the co-partitioned groups. Topics are grouped by partition count, then by the exact
 * set of members subscribing to them. A changelog joins the subscribed group of its partition
 * count; when several groups share that count (members subscribe to different topic sets) it
 * joins only one of them — the one with the most subscribers, then the smallest topic name —
 * because a changelog partition must have a single active owner. A changelog with no subscribed
 * group of its count is grouped with the other such changelogs of that count, over all members.
 */
export function copartitionedGroups(input: AssignorInput): CopartitionedGroup[] {
  const memberIds = uniqueMembers(input.members).map((m) => m.id)
  if (memberIds.length === 0) return []
  const subscribers = new Map<string, string[]>()
  for (const m of uniqueMembers(input.members)) {
    for (const topic of new Set(m.topics)) {
      const count = input.partitions.get(topic)
      if (count === undefined || !(count > 0)) continue
      const list = subscribers.get(topic)
      if (list === undefined) subscribers.set(topic, [m.id])
      else list.push(m.id)
    }
  }
  const groups = new Map<string, CopartitionedGroup>()
  for (const [topic, members] of subscribers) {
    const partitions = input.partitions.get(topic)!
    members.sort(byString)
    const key = JSON.stringify([partitions, members])
    let group = groups.get(key)
    if (group === undefined) {
      group = { partitions, members, topics: [], changelogs: [] }
      groups.set(key, group)
    }
    group.topics.push(topic)
  }
  const subscribed = [...groups.values()]
  for (const g of subscribed) g.topics.sort(byString)

  const tables = new Map<string, number>()
  for (const t of [...input.tables].sort((a, b) => byString(a.changelog, b.changelog) || a.partitions - b.partitions)) {
    if (!tables.has(t.changelog) && Number.isInteger(t.partitions) && t.partitions > 0) tables.set(t.changelog, t.partitions)
  }
  const changelogOnly = new Map<number, CopartitionedGroup>()
  for (const [changelog, partitions] of tables) {
    // Subscribed as well (unusual): it already sits in its subscribers' group; it still gets standbys.
    const own = subscribed.find((g) => g.topics.includes(changelog))
    if (own !== undefined) {
      own.changelogs.push(changelog)
      continue
    }
    const host = subscribed
      .filter((g) => g.partitions === partitions)
      .sort((a, b) => b.members.length - a.members.length || byString(a.topics[0]!, b.topics[0]!))[0]
    if (host !== undefined) {
      host.topics.push(changelog)
      host.changelogs.push(changelog)
      continue
    }
    let group = changelogOnly.get(partitions)
    if (group === undefined) {
      group = { partitions, members: [...memberIds].sort(byString), topics: [], changelogs: [] }
      changelogOnly.set(partitions, group)
    }
    group.topics.push(changelog)
    group.changelogs.push(changelog)
  }
  const all = [...subscribed, ...changelogOnly.values()]
  for (const g of all) {
    g.topics.sort(byString)
    g.changelogs.sort(byString)
  }
  // Topics are disjoint across groups, so the first topic orders groups of one count.
  return all.sort((a, b) => a.partitions - b.partitions || byString(a.topics[0]!, b.topics[0]!))
}

function uniqueMembers(members: AssignorInput['members']): AssignorInput['members'] {
  const seen = new Set<string>()
  return members.filter((m) => (seen.has(m.id) ? false : (seen.add(m.id), true)))
}

/** The valid partition numbers (integers in [0, count)) listed for any of `topics`. */
function partitionsOf(record: Record<string, number[]> | undefined, topics: readonly string[], count: number): Set<number> {
  const out = new Set<number>()
  if (record === undefined || record === null || typeof record !== 'object') return out
  for (const topic of topics) {
    const list: unknown = Object.hasOwn(record, topic) ? record[topic] : undefined
    if (!Array.isArray(list)) continue
    for (const p of list) if (Number.isInteger(p) && p >= 0 && p < count) out.add(p as number)
  }
  return out
}

interface Loads {
  /** Actives / standbys per member summed over the groups assigned so far: spreads small groups. */
  actives: Map<string, number>
  standbys: Map<string, number>
}

/** Least loaded in the group, then across groups, then by member id: deterministic. */
function leastLoaded(candidates: readonly string[], group: Map<string, number>, total: Map<string, number>): string | undefined {
  let best: string | undefined
  for (const m of candidates) {
    if (best === undefined) {
      best = m
      continue
    }
    const d = (group.get(m) ?? 0) - (group.get(best) ?? 0) || (total.get(m) ?? 0) - (total.get(best) ?? 0) || byString(m, best)
    if (d < 0) best = m
  }
  return best
}

interface GroupAssignment {
  /** Partition → member. */
  owner: string[]
  /** Partition → standby members (empty when the group has no changelog). */
  standbys: string[][]
}

function assignGroup(
  group: CopartitionedGroup,
  previous: Map<string, ClientState>,
  standbyReplicas: number,
  loads: Loads,
): GroupAssignment {
  const P = group.partitions
  const members = group.members
  const C = members.length
  const capacity = Math.ceil(P / C)
  const hadActive = new Map<string, Set<number>>()
  const hadStandby = new Map<string, Set<number>>()
  for (const m of members) {
    const prev = previous.get(m)
    hadActive.set(m, partitionsOf(prev?.actives, group.topics, P))
    hadStandby.set(m, partitionsOf(prev?.standbys, group.changelogs, P))
  }
  const warm = (m: string, p: number): boolean => hadActive.get(m)!.has(p) || hadStandby.get(m)!.has(p)

  // Two members may both claim p (a zombie that missed a generation, or garbage metadata). The one
  // claiming less keeps it: a stale member tends to claim too much.
  const claimed = new Map<string, number[]>(members.map((m) => [m, []]))
  for (let p = 0; p < P; p++) {
    const claimants = members.filter((m) => hadActive.get(m)!.has(p))
    const winner = claimants.sort((a, b) => hadActive.get(a)!.size - hadActive.get(b)!.size || byString(a, b))[0]
    if (winner !== undefined) claimed.get(winner)!.push(p)
  }

  const owner: Array<string | undefined> = new Array<string | undefined>(P).fill(undefined)
  const load = new Map<string, number>(members.map((m) => [m, 0]))
  for (const m of members) {
    // Over capacity (a member joined): give up first the partitions some other member has a
    // standby for, since promoting that standby needs no replay.
    const standbyElsewhere = (p: number): number => (members.some((o) => o !== m && hadStandby.get(o)!.has(p)) ? 1 : 0)
    const keep = claimed.get(m)!.sort((a, b) => standbyElsewhere(a) - standbyElsewhere(b) || a - b).slice(0, capacity)
    for (const p of keep) owner[p] = m
    load.set(m, keep.length)
  }

  for (let p = 0; p < P; p++) {
    if (owner[p] !== undefined) continue
    const room = members.filter((m) => load.get(m)! < capacity)
    // A member that was a standby (or a losing claimant) has the table state already: promote it.
    const m = leastLoaded(room.filter((c) => warm(c, p)), load, loads.actives) ?? leastLoaded(room, load, loads.actives)!
    owner[p] = m
    load.set(m, load.get(m)! + 1)
  }
  for (const m of members) loads.actives.set(m, (loads.actives.get(m) ?? 0) + load.get(m)!)

  const owners = owner as string[]
  const replicas = group.changelogs.length === 0 ? 0 : Math.max(0, Math.min(Math.floor(standbyReplicas), C - 1))
  const standbys: string[][] = Array.from({ length: P }, () => [])
  if (replicas > 0) {
    // Warm standbys stay put only while they are under a fair share, so one member that used to
    // be everybody's standby does not keep them all.
    const fairShare = Math.ceil((replicas * P) / C)
    const sbLoad = new Map<string, number>(members.map((m) => [m, 0]))
    for (let p = 0; p < P; p++) {
      const chosen = standbys[p]!
      for (let r = 0; r < replicas; r++) {
        const candidates = members.filter((m) => m !== owners[p] && !chosen.includes(m))
        const m =
          leastLoaded(candidates.filter((c) => warm(c, p) && sbLoad.get(c)! < fairShare), sbLoad, loads.standbys) ??
          leastLoaded(candidates, sbLoad, loads.standbys)!
        chosen.push(m)
        sbLoad.set(m, sbLoad.get(m)! + 1)
      }
      chosen.sort(byString)
    }
    for (const m of members) loads.standbys.set(m, (loads.standbys.get(m) ?? 0) + sbLoad.get(m)!)
  }
  return { owner: owners, standbys }
}

/**
 * Assign every member its active partitions (for every topic of its co-partitioned groups) and
 * its standby partitions (changelog topics only). Deterministic: the same input, in any member
 * order, gives the same output.
 */
export function assignCopartitioned(input: AssignorInput): Map<string, ClientState> {
  const members = uniqueMembers(input.members)
  const previous = new Map(members.map((m) => [m.id, m.previous]))
  // Maps while building: a topic may be called `__proto__`.
  const built = new Map<string, { actives: Map<string, number[]>; standbys: Map<string, number[]> }>()
  for (const m of members) built.set(m.id, { actives: new Map(), standbys: new Map() })
  const loads: Loads = { actives: new Map(), standbys: new Map() }
  for (const group of copartitionedGroups(input)) {
    const { owner, standbys } = assignGroup(group, previous, input.standbyReplicas, loads)
    for (const m of group.members) {
      const state = built.get(m)!
      const actives: number[] = []
      const spares: number[] = []
      for (let p = 0; p < group.partitions; p++) {
        if (owner[p] === m) actives.push(p)
        if (standbys[p]!.includes(m)) spares.push(p)
      }
      for (const topic of group.topics) state.actives.set(topic, [...actives])
      for (const topic of group.changelogs) state.standbys.set(topic, [...spares])
    }
  }
  const out = new Map<string, ClientState>()
  for (const id of [...built.keys()].sort(byString)) {
    const state = built.get(id)!
    out.set(id, { actives: sortedRecord(state.actives), standbys: sortedRecord(state.standbys) })
  }
  return out
}

/** A plain record keyed in topic order, so equal assignments serialize identically. */
function sortedRecord(map: Map<string, number[]>): Record<string, number[]> {
  const out: Record<string, number[]> = {}
  for (const key of [...map.keys()].sort(byString)) {
    Object.defineProperty(out, key, { value: [...map.get(key)!].sort(byNumber), enumerable: true, writable: true, configurable: true })
  }
  return out
}
