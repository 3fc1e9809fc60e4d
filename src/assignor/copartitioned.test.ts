import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { type AssignorInput, type ClientState, assignCopartitioned } from './copartitioned.ts'

// FC_RUNS=5000 for a deeper search.
const RUNS = Number(process.env.FC_RUNS ?? 200)
const empty = (): ClientState => ({ actives: {}, standbys: {} })

// ---------------------------------------------------------------------------------------------
// A reference for the grouping rules, written independently of the implementation.

interface RefGroup {
  partitions: number
  members: string[]
  topics: string[]
  changelogs: string[]
}

function referenceGroups(input: AssignorInput): RefGroup[] {
  const ids = input.members.map((m) => m.id).sort()
  const groups: RefGroup[] = []
  for (const [topic, partitions] of input.partitions) {
    const members = input.members.filter((m) => m.topics.includes(topic)).map((m) => m.id).sort()
    if (members.length === 0 || partitions <= 0) continue
    const g = groups.find((x) => x.partitions === partitions && x.members.join() === members.join())
    if (g !== undefined) g.topics.push(topic)
    else groups.push({ partitions, members, topics: [topic], changelogs: [] })
  }
  const subscribed = [...groups]
  const tables = [...new Map([...input.tables].reverse().map((t) => [t.changelog, t.partitions])).entries()]
  for (const [changelog, partitions] of tables) {
    const candidates = subscribed.filter((g) => g.partitions === partitions)
    candidates.sort((a, b) => b.members.length - a.members.length || ([...a.topics].sort()[0]! < [...b.topics].sort()[0]! ? -1 : 1))
    const host = candidates[0] ?? groups.find((g) => g.partitions === partitions && !subscribed.includes(g))
    if (host !== undefined) {
      host.topics.push(changelog)
      host.changelogs.push(changelog)
    } else {
      groups.push({ partitions, members: ids, topics: [changelog], changelogs: [changelog] })
    }
  }
  return groups
}

const list = (record: Record<string, number[]>, topic: string): number[] => (Object.hasOwn(record, topic) ? record[topic]! : [])
const same = (a: readonly number[], b: readonly number[]) => [...a].sort((x, y) => x - y).join() === [...b].sort((x, y) => x - y).join()

/** The member's actives in a group (its first topic: co-partitioning is checked separately). */
const activesIn = (state: ClientState | undefined, g: RefGroup): number[] => (state === undefined ? [] : list(state.actives, g.topics[0]!))

function ownersOf(out: Map<string, ClientState>, g: RefGroup): Map<number, string> {
  const owners = new Map<number, string>()
  for (const m of g.members) for (const p of activesIn(out.get(m), g)) owners.set(p, m)
  return owners
}

/** Every invariant an assignment must satisfy, whatever the previous state was. */
function checkInvariants(input: AssignorInput, out: Map<string, ClientState>): void {
  const groups = referenceGroups(input)
  const replicas = input.standbyReplicas
  assert.deepEqual([...out.keys()].sort(), input.members.map((m) => m.id).sort(), 'one state per member')
  const groupTopics = new Set(groups.flatMap((g) => g.topics))
  const changelogs = new Set(groups.flatMap((g) => g.changelogs))
  for (const [id, state] of out) {
    for (const [topic, parts] of Object.entries(state.actives)) {
      assert.ok(groupTopics.has(topic), `${id} active on unknown topic ${topic}`)
      assert.ok(parts.length === 0 || groups.some((g) => g.topics.includes(topic) && g.members.includes(id)), `${id} not in ${topic}'s group`)
    }
    for (const topic of Object.keys(state.standbys)) assert.ok(changelogs.has(topic), `${id} standby on non-changelog ${topic}`)
  }
  for (const g of groups) {
    const C = g.members.length
    const capacity = Math.ceil(g.partitions / C)
    for (const m of g.members) {
      const state = out.get(m)!
      const first = list(state.actives, g.topics[0]!)
      for (const t of g.topics) assert.ok(same(list(state.actives, t), first), `co-partitioning: ${m} ${t} vs ${g.topics[0]}`)
      assert.ok(first.length <= capacity, `balance: ${m} has ${first.length} > ${capacity} of ${g.topics.join()}`)
      assert.equal(new Set(first).size, first.length)
    }
    for (const t of g.topics) {
      for (let p = 0; p < g.partitions; p++) {
        const actives = [...out].filter(([, s]) => list(s.actives, t).includes(p)).map(([id]) => id)
        assert.equal(actives.length, 1, `${t}[${p}] has actives ${actives.join()}`)
        const standbys = [...out].filter(([, s]) => list(s.standbys, t).includes(p)).map(([id]) => id)
        if (g.changelogs.includes(t)) {
          assert.equal(standbys.length, Math.min(replicas, C - 1), `${t}[${p}] standbys ${standbys.join()}`)
          assert.ok(!standbys.includes(actives[0]!), `${t}[${p}] standby on its active ${actives[0]}`)
          for (const s of standbys) assert.ok(g.members.includes(s))
        } else {
          assert.equal(standbys.length, 0, `source topic ${t} has standbys`)
        }
      }
    }
    // Standbys are co-partitioned too: a promoted standby has every table's partition warm.
    for (const m of g.members) {
      const state = out.get(m)!
      for (const t of g.changelogs) assert.ok(same(list(state.standbys, t), list(state.standbys, g.changelogs[0]!)))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Generators.

const MEMBER_IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']

interface World {
  topics: Map<string, number>
  tables: Array<{ changelog: string; partitions: number }>
  standbyReplicas: number
}

/** 1–3 families of 1–3 topics of 1–16 partitions (families may share a count), 0–3 tables. */
const worldArb: fc.Arbitrary<World> = fc
  .array(fc.record({ partitions: fc.integer({ min: 1, max: 16 }), topics: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 })
  .chain((families) => {
    const topics = new Map<string, number>()
    families.forEach((f, i) => {
      for (let j = 0; j < f.topics; j++) topics.set(`s${i}${String.fromCharCode(97 + j)}`, f.partitions)
    })
    const counts = families.map((f) => f.partitions)
    const table = fc.oneof(fc.constantFrom(...counts), fc.integer({ min: 1, max: 16 }))
    return fc.record({
      topics: fc.constant(topics),
      tables: fc.array(table, { maxLength: 3 }).map((ps) => ps.map((partitions, i) => ({ changelog: `app-t${i}-changelog`, partitions }))),
      standbyReplicas: fc.integer({ min: 0, max: 2 }),
    })
  })

/** Any previous state: unknown topics, out-of-range and negative partitions, duplicates, overlaps. */
function garbageArb(topics: string[]): fc.Arbitrary<ClientState> {
  const record = fc.dictionary(fc.constantFrom(...topics, 'unknown'), fc.array(fc.integer({ min: -2, max: 18 }), { maxLength: 10 }), { maxKeys: 4 })
  return fc.record({ actives: record, standbys: record })
}

const allTopics = (w: World) => [...w.topics.keys(), ...w.tables.map((t) => t.changelog)]

/** A world, 1–6 members with random subscriptions and random previous states. */
const inputArb: fc.Arbitrary<AssignorInput> = worldArb.chain((w) =>
  fc
    .uniqueArray(fc.constantFrom(...MEMBER_IDS.slice(0, 6)), { minLength: 1, maxLength: 6 })
    .chain((ids) =>
      fc.tuple(
        ...ids.map((id) =>
          fc.record({
            id: fc.constant(id),
            // Mostly everyone subscribes to everything (one app), sometimes a random subset.
            topics: fc.oneof({ weight: 2, arbitrary: fc.constant([...w.topics.keys()]) }, { weight: 3, arbitrary: fc.subarray([...w.topics.keys()]) }).map((ts): string[] => [...ts]),
            previous: fc.oneof(fc.constant(empty()), garbageArb(allTopics(w))),
          }),
        ),
      ),
    )
    .map((members) => ({ members, partitions: w.topics, tables: w.tables, standbyReplicas: w.standbyReplicas })),
)

/** A world where every member subscribes to everything, and a valid assignment of it. */
const settledArb = (minMembers: number) =>
  worldArb.chain((w) =>
    fc
      .uniqueArray(fc.constantFrom(...MEMBER_IDS.slice(0, 6)), { minLength: minMembers, maxLength: 6 })
      .chain((ids) => fc.tuple(...ids.map(() => fc.oneof(fc.constant(empty()), garbageArb(allTopics(w))))).map((prev) => ({ ids, prev })))
      .map(({ ids, prev }) => {
        const first: AssignorInput = {
          members: ids.map((id, i) => ({ id, topics: [...w.topics.keys()], previous: prev[i]! })),
          partitions: w.topics,
          tables: w.tables,
          standbyReplicas: w.standbyReplicas,
        }
        return { world: w, input: first, settled: assignCopartitioned(first) }
      }),
  )

function next(world: World, ids: string[], previous: Map<string, ClientState>): AssignorInput {
  return {
    members: ids.map((id) => ({ id, topics: [...world.topics.keys()], previous: previous.get(id) ?? empty() })),
    partitions: world.topics,
    tables: world.tables,
    standbyReplicas: world.standbyReplicas,
  }
}

// ---------------------------------------------------------------------------------------------

describe('assignCopartitioned: properties', () => {
  test(`invariants hold for any input (co-partitioning, one active, standbys, balance) [${RUNS} runs]`, () => {
    fc.assert(
      fc.property(inputArb, (input) => checkInvariants(input, assignCopartitioned(input))),
      { numRuns: RUNS },
    )
  })

  test(`sticky for any previous state: actives and standbys stay unless capacity or a warmer member takes them [${RUNS} runs]`, () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const out = assignCopartitioned(input)
        const previous = new Map(input.members.map((m) => [m.id, m.previous]))
        const inRange = (parts: unknown[], P: number, p: number) => parts.includes(p) && p < P
        for (const g of referenceGroups(input)) {
          const had = (m: string, role: 'actives' | 'standbys', p: number) =>
            (role === 'actives' ? g.topics : g.changelogs).some((t) => inRange(list(previous.get(m)![role], t), g.partitions, p))
          const warm = (m: string, p: number) => had(m, 'actives', p) || had(m, 'standbys', p)
          const capacity = Math.ceil(g.partitions / g.members.length)
          const owners = ownersOf(out, g)
          for (const m of g.members) {
            const mine = activesIn(out.get(m), g)
            for (let p = 0; p < g.partitions; p++) {
              if (!had(m, 'actives', p) || owners.get(p) === m) continue
              assert.ok(mine.length === capacity || warm(owners.get(p)!, p), `${m} lost ${g.topics[0]}[${p}] to cold ${owners.get(p)} with room`)
            }
          }
          const replicas = Math.min(input.standbyReplicas, g.members.length - 1)
          if (g.changelogs.length === 0 || replicas === 0) continue
          const fairShare = Math.ceil((replicas * g.partitions) / g.members.length)
          const t = g.changelogs[0]!
          for (let p = 0; p < g.partitions; p++) {
            const standbys = g.members.filter((m) => list(out.get(m)!.standbys, t).includes(p))
            for (const m of g.members) {
              if (!warm(m, p) || owners.get(p) === m || standbys.includes(m)) continue
              const count = list(out.get(m)!.standbys, t).length
              assert.ok(count >= fairShare || standbys.every((s) => warm(s, p)), `warm ${m} lost standby ${t}[${p}] to a cold member`)
            }
          }
        }
      }),
      { numRuns: RUNS },
    )
  })

  test(`deterministic, whatever the order of members, topics and tables [${RUNS} runs]`, () => {
    fc.assert(
      fc.property(inputArb, fc.integer(), (input, seed) => {
        const shuffle = <T>(xs: T[]): T[] => {
          const out = [...xs]
          let s = seed
          for (let i = out.length - 1; i > 0; i--) {
            s = (Math.imul(s, 1103515245) + 12345) | 0
            const j = Math.abs(s) % (i + 1)
            ;[out[i], out[j]] = [out[j]!, out[i]!]
          }
          return out
        }
        const shuffled: AssignorInput = {
          ...input,
          members: shuffle(input.members.map((m) => ({ ...m, topics: shuffle(m.topics) }))),
          partitions: new Map(shuffle([...input.partitions])),
          tables: shuffle(input.tables),
        }
        const a = assignCopartitioned(input)
        const b = assignCopartitioned(shuffled)
        assert.deepEqual([...a], [...b])
        assert.equal(JSON.stringify([...a]), JSON.stringify([...assignCopartitioned(input)]))
      }),
      { numRuns: RUNS },
    )
  })

  test(`stable: re-assigning the same members from their own assignment moves nothing, standbys included [${RUNS} runs]`, () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const once = assignCopartitioned(input)
        const again = assignCopartitioned({ ...input, members: input.members.map((m) => ({ ...m, previous: once.get(m.id)! })) })
        for (const [id, state] of once) assert.deepEqual(again.get(id), state, `${id} moved`)
      }),
      { numRuns: RUNS },
    )
  })

  test(`a member joins: members keep their actives up to the new capacity; only the excess moves [${RUNS} runs]`, () => {
    fc.assert(
      fc.property(settledArb(1), ({ world, input, settled }) => {
        const joiner = MEMBER_IDS.find((id) => !settled.has(id))!
        // The joiner may sort before or after the others: ids decide ties.
        const ids = [...input.members.map((m) => m.id), joiner]
        const after = next(world, ids, settled)
        const out = assignCopartitioned(after)
        checkInvariants(after, out)
        for (const g of referenceGroups(after)) {
          const capacity = Math.ceil(g.partitions / g.members.length)
          let excess = 0
          for (const m of g.members) {
            if (m === joiner) continue
            const before = activesIn(settled.get(m), g)
            const now = activesIn(out.get(m), g)
            if (before.length <= capacity) {
              assert.ok(before.every((p) => now.includes(p)), `${m} lost actives: ${before} -> ${now} (capacity ${capacity})`)
            } else {
              excess += before.length - capacity
              assert.equal(now.length, capacity)
              assert.ok(now.every((p) => before.includes(p)), `${m} over capacity took new partitions`)
              // It gives up first what another member has a standby for (promotion needs no replay).
              const spare = (p: number) => g.members.some((o) => o !== m && g.changelogs.some((t) => list(settled.get(o)?.standbys ?? {}, t).includes(p)))
              const dropped = before.filter((p) => !now.includes(p))
              const spares = before.filter(spare).length
              assert.equal(dropped.filter(spare).length, Math.min(dropped.length, spares), `${m} gave up ${dropped}, not its partitions with standbys`)
            }
          }
          const previousOwners = ownersOf(settled, { ...g, members: g.members.filter((m) => m !== joiner) })
          const owners = ownersOf(out, g)
          const moved = [...owners].filter(([p, m]) => previousOwners.get(p) !== m).length
          assert.equal(moved, excess, `moved ${moved} partitions of ${g.topics.join()}, needed ${excess}`)
        }
      }),
      { numRuns: RUNS },
    )
  })

  test(`a member leaves: only its partitions move, to one of their standbys when it has room [${RUNS} runs]`, () => {
    fc.assert(
      fc.property(settledArb(2), fc.nat(), ({ world, input, settled }, pick) => {
        const ids = input.members.map((m) => m.id)
        const leaver = ids[pick % ids.length]!
        const stay = ids.filter((id) => id !== leaver)
        const after = next(world, stay, settled)
        const out = assignCopartitioned(after)
        checkInvariants(after, out)
        for (const g of referenceGroups(after)) {
          const capacity = Math.ceil(g.partitions / g.members.length)
          const before = ownersOf(settled, { ...g, members: [...g.members, leaver] })
          const owners = ownersOf(out, g)
          for (const [p, m] of owners) {
            const was = before.get(p)
            if (was !== leaver) {
              assert.equal(m, was, `${g.topics[0]}[${p}] moved from ${was} to ${m} though ${leaver} left`)
              continue
            }
            const standbys = stay.filter((s) => g.changelogs.some((t) => list(settled.get(s)!.standbys, t).includes(p)))
            const promoted = standbys.includes(m)
            const allFull = standbys.every((s) => activesIn(out.get(s), g).length === capacity)
            assert.ok(promoted || allFull, `${g.topics[0]}[${p}] went to ${m}, not to a standby among ${standbys}`)
          }
        }
      }),
      { numRuns: RUNS },
    )
  })
})

// ---------------------------------------------------------------------------------------------

const ORDERS = 'orders'
const CHANGELOG = 'app-counts-changelog'

function twoWorkers(previous: Record<string, ClientState> = {}): AssignorInput {
  return {
    members: ['A', 'B'].map((id) => ({ id, topics: [ORDERS], previous: previous[id] ?? empty() })),
    partitions: new Map([[ORDERS, 8]]),
    tables: [{ changelog: CHANGELOG, partitions: 8 }],
    standbyReplicas: 1,
  }
}

describe('assignCopartitioned: examples', () => {
  test('2 workers, 8 partitions, 1 table: 4/4, the table follows its source, standbys on the other worker', () => {
    const out = assignCopartitioned(twoWorkers())
    const a = out.get('A')!
    const b = out.get('B')!
    assert.deepEqual(a.actives, { [CHANGELOG]: [0, 2, 4, 6], [ORDERS]: [0, 2, 4, 6] })
    assert.deepEqual(b.actives, { [CHANGELOG]: [1, 3, 5, 7], [ORDERS]: [1, 3, 5, 7] })
    assert.deepEqual(a.standbys, { [CHANGELOG]: [1, 3, 5, 7] })
    assert.deepEqual(b.standbys, { [CHANGELOG]: [0, 2, 4, 6] })
  })

  test('worker B leaves: A gets all 8, promoted from its standbys; no standbys are left to give', () => {
    const settled = assignCopartitioned(twoWorkers())
    const out = assignCopartitioned({ ...twoWorkers(), members: [{ id: 'A', topics: [ORDERS], previous: settled.get('A')! }] })
    const all = [0, 1, 2, 3, 4, 5, 6, 7]
    assert.deepEqual(out.get('A'), { actives: { [CHANGELOG]: all, [ORDERS]: all }, standbys: { [CHANGELOG]: [] } })
  })

  test('a third worker joins: each old worker gives up one partition, nothing else moves', () => {
    const settled = assignCopartitioned(twoWorkers())
    const input = twoWorkers({ A: settled.get('A')!, B: settled.get('B')! })
    input.members.push({ id: 'C', topics: [ORDERS], previous: empty() })
    const out = assignCopartitioned(input)
    assert.deepEqual(out.get('A')!.actives[ORDERS], [0, 2, 4])
    assert.deepEqual(out.get('B')!.actives[ORDERS], [1, 3, 5])
    assert.deepEqual(out.get('C')!.actives[ORDERS], [6, 7])
    assert.deepEqual(out.get('C')!.actives[CHANGELOG], [6, 7])
    // 6 and 7 keep a standby on their previous owner: it has the state.
    assert.deepEqual(out.get('A')!.standbys[CHANGELOG]!.filter((p) => p >= 6), [6])
    assert.deepEqual(out.get('B')!.standbys[CHANGELOG]!.filter((p) => p >= 6), [7])
    checkInvariants(input, out)
  })

  test('a worker that rejoins after a restart gets its standbys promoted first', () => {
    // A ran alone with B's old standbys gone; B comes back having been standby for 4..7.
    const input = twoWorkers({
      A: { actives: { [ORDERS]: [0, 1, 2, 3, 4, 5, 6, 7] }, standbys: {} },
      B: { actives: {}, standbys: { [CHANGELOG]: [1, 3, 5, 7] } },
    })
    const out = assignCopartitioned(input)
    // A is over capacity and gives up exactly the partitions B has warm.
    assert.deepEqual(out.get('A')!.actives[ORDERS], [0, 2, 4, 6])
    assert.deepEqual(out.get('B')!.actives[ORDERS], [1, 3, 5, 7])
    // A had every partition: it is the warm standby for what it gave up.
    assert.deepEqual(out.get('A')!.standbys[CHANGELOG], [1, 3, 5, 7])
  })

  test('groups: different counts and different subscribers are separate; a table without a matching source forms its own group', () => {
    const input: AssignorInput = {
      members: [
        { id: 'A', topics: ['clicks', 'views', 'events'], previous: empty() },
        { id: 'B', topics: ['clicks', 'views'], previous: empty() },
      ],
      partitions: new Map([
        ['clicks', 4],
        ['views', 4],
        ['events', 4],
      ]),
      tables: [
        { changelog: 'app-clicks-changelog', partitions: 4 },
        { changelog: 'app-stats-changelog', partitions: 2 },
      ],
      standbyReplicas: 1,
    }
    const out = assignCopartitioned(input)
    checkInvariants(input, out)
    const a = out.get('A')!
    const b = out.get('B')!
    // events is subscribed by A alone: its own group, all on A.
    assert.deepEqual(a.actives.events, [0, 1, 2, 3])
    assert.equal(b.actives.events, undefined)
    // clicks, views and the 4-partition changelog are one group (the one with most subscribers).
    for (const t of ['clicks', 'views', 'app-clicks-changelog']) {
      assert.deepEqual(a.actives[t], [0, 2])
      assert.deepEqual(b.actives[t], [1, 3])
    }
    // The 2-partition table has no 2-partition source: a group of its own over both workers.
    assert.equal([...(a.actives['app-stats-changelog'] ?? []), ...(b.actives['app-stats-changelog'] ?? [])].sort().join(), '0,1')
    assert.equal(a.actives['app-stats-changelog']!.length, 1)
  })

  test('overlapping previous claims (a zombie): each partition still gets one active; the smaller claim wins', () => {
    const input = twoWorkers({
      A: { actives: { [ORDERS]: [0, 1, 2, 3, 4, 5, 6, 7] }, standbys: {} },
      B: { actives: { [ORDERS]: [2, 3] }, standbys: {} },
    })
    const out = assignCopartitioned(input)
    checkInvariants(input, out)
    assert.deepEqual(out.get('B')!.actives[ORDERS]!.slice(0, 2), [2, 3])
    assert.equal(out.get('A')!.actives[ORDERS]!.length, 4)
  })

  test('small groups spread across members instead of all landing on the first id', () => {
    const topics = ['t1', 't2', 't3', 't4'].map((t, i) => [t, i + 1] as const)
    const input: AssignorInput = {
      members: ['A', 'B', 'C', 'D'].map((id) => ({ id, topics: topics.map(([t]) => t), previous: empty() })),
      partitions: new Map(topics),
      tables: [],
      standbyReplicas: 0,
    }
    const out = assignCopartitioned(input)
    const counts = [...out.values()].map((s) => Object.values(s.actives).reduce((n, ps) => n + ps.length, 0))
    assert.deepEqual(counts, [3, 3, 2, 2]) // 10 partitions over 4 members
  })
})
