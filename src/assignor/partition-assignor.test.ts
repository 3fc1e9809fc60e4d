import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { afterEach, describe, test } from 'node:test'
import fc from 'fast-check'
import { MemoryBroker, MemoryTransport } from '../transport/drivers/memory.ts'
import { silentLogger } from '../types/logging.ts'
import type { AssignedInfo, ConsumerDriverT, ConsumerHandlerT, GroupMember, MemberAssignment } from '../types/transport.ts'
import type { RawRecord, TP } from '../types/tuples.ts'
import { type AssignmentState, CopartitionedAssignor } from './partition-assignor.ts'

const RUNS = Number(process.env.FC_RUNS ?? 200)
const ORDERS = 'orders'
const CHANGELOG = 'app-counts-changelog'
const tables = () => [{ changelog: CHANGELOG, partitions: 8 }]

function worker(url: string, standbyReplicas = 1): CopartitionedAssignor {
  return new CopartitionedAssignor({ url, tables, standbyReplicas })
}

const member = (memberId: string, assignor: CopartitionedAssignor | Buffer, topics = [ORDERS]): GroupMember => ({
  memberId,
  topics,
  userData: Buffer.isBuffer(assignor) ? assignor : assignor.memberMetadata(topics),
})

/** One rebalance among these workers, the first as leader, as the broker would run it. */
function rebalance(workers: Array<[string, CopartitionedAssignor]>, partitions = new Map([[ORDERS, 8]])): Map<string, MemberAssignment> {
  const out = workers[0]![1].assign(
    workers.map(([id, w]) => member(id, w, [...partitions.keys()])),
    partitions,
  )
  workers.forEach(([id, w], generation) => w.onAssignment(out.get(id)!, generation))
  return out
}

const json = (buffer: Buffer): Record<string, unknown> => JSON.parse(buffer.toString('utf8')) as Record<string, unknown>

describe('CopartitionedAssignor', () => {
  test('protocol name faust-ts (not faust: Python workers would misread our metadata), version 1', () => {
    const a = worker('http://a:6066')
    assert.equal(a.name, 'faust-ts')
    assert.equal(a.version, 1)
    assert.deepEqual(json(a.memberMetadata([ORDERS])), { version: 1, url: 'http://a:6066', actives: {}, standbys: {} })
    assert.equal(a.current(), undefined)
    assert.deepEqual(a.ownerOf(ORDERS, 0), { active: undefined, standbys: [] })
  })

  test('Kafka gets only subscribed topics; userData carries the full state and every host', () => {
    const a = worker('http://a:6066')
    const b = worker('http://b:6066')
    const out = rebalance([
      ['m-a', a],
      ['m-b', b],
    ])
    assert.deepEqual([...out.get('m-a')!.assignment], [[ORDERS, [0, 2, 4, 6]]])
    assert.deepEqual([...out.get('m-b')!.assignment], [[ORDERS, [1, 3, 5, 7]]])
    const data = json(out.get('m-a')!.userData)
    assert.equal(data.version, 1)
    assert.deepEqual(data.actives, { [CHANGELOG]: [0, 2, 4, 6], [ORDERS]: [0, 2, 4, 6] })
    assert.deepEqual(data.standbys, { [CHANGELOG]: [1, 3, 5, 7] })
    assert.deepEqual(Object.keys(data.hosts as object).sort(), ['http://a:6066', 'http://b:6066'])

    const current = a.current()!
    assert.deepEqual(current.actives[CHANGELOG], [0, 2, 4, 6])
    assert.deepEqual(current.hosts['http://b:6066']!.actives[ORDERS], [1, 3, 5, 7])
    assert.deepEqual(a.ownerOf(CHANGELOG, 3), { active: 'http://b:6066', standbys: ['http://a:6066'] })
    assert.deepEqual(b.ownerOf(ORDERS, 4), { active: 'http://a:6066', standbys: [] })
    assert.deepEqual(b.ownerOf('unknown', 0), { active: undefined, standbys: [] })
    // What a member sends next time is what it was given: the leader can be sticky.
    assert.deepEqual(json(a.memberMetadata([ORDERS])), {
      version: 1,
      url: 'http://a:6066',
      actives: current.actives,
      standbys: current.standbys,
    })
  })

  test('sticky across generations: a third worker joins and only the excess moves', () => {
    const a = worker('http://a:6066')
    const b = worker('http://b:6066')
    const c = worker('http://c:6066')
    rebalance([
      ['m-a', a],
      ['m-b', b],
    ])
    // The leader may be any member: here the newcomer.
    const out = rebalance([
      ['m-c', c],
      ['m-a', a],
      ['m-b', b],
    ])
    assert.deepEqual(out.get('m-a')!.assignment.get(ORDERS), [0, 2, 4])
    assert.deepEqual(out.get('m-b')!.assignment.get(ORDERS), [1, 3, 5])
    assert.deepEqual(out.get('m-c')!.assignment.get(ORDERS), [6, 7])
    assert.equal(a.ownerOf(CHANGELOG, 6).active, 'http://c:6066')
  })

  test('empty, invalid or foreign userData is an empty previous state', () => {
    const a = worker('http://a:6066')
    const out = a.assign(
      [
        member('m-1', Buffer.alloc(0)),
        member('m-2', Buffer.from('not json')),
        member('m-3', Buffer.from(JSON.stringify({ version: 4, url: 'http://old', actives: { [ORDERS]: [0, 1] } }))),
        member('m-4', Buffer.from(JSON.stringify({ version: 1, url: 'http://d', actives: { [ORDERS]: ['x', -1, 2.5, 7, 7] }, standbys: 3 }))),
      ],
      new Map([[ORDERS, 8]]),
    )
    const all = [...out.values()].flatMap((x) => x.assignment.get(ORDERS) ?? []).sort()
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7])
    assert.ok(out.get('m-4')!.assignment.get(ORDERS)!.includes(7), 'the valid part of m-4 is kept')
    // Only members that sent a URL are routable.
    assert.deepEqual(Object.keys(json(out.get('m-1')!.userData).hosts as object), ['http://d'])
  })

  test('an assignment without our userData keeps what Kafka gave, with no routing', () => {
    const a = worker('http://a:6066')
    a.onAssignment({ assignment: new Map([[ORDERS, [3, 1]]]), userData: Buffer.alloc(0) }, 1)
    assert.deepEqual(a.current(), { actives: { [ORDERS]: [1, 3] }, standbys: {}, hosts: {} } satisfies AssignmentState)
    assert.deepEqual(a.ownerOf(ORDERS, 1), { active: undefined, standbys: [] })
  })

  test('a topic named __proto__ survives the JSON round trip', () => {
    const a = worker('http://a:6066', 0)
    const out = a.assign([member('m', a, ['__proto__'])], new Map([['__proto__', 2]]))
    assert.deepEqual(out.get('m')!.assignment.get('__proto__'), [0, 1])
    a.onAssignment(out.get('m')!, 1)
    assert.deepEqual(Object.hasOwn(a.current()!.actives, '__proto__'), true)
    assert.equal(a.ownerOf('__proto__', 1).active, 'http://a:6066')
  })

  test(`property: through the wire, hosts and ownerOf agree with every member's own assignment [${RUNS} runs]`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        (n, P, replicas, generations) => {
          const workers = Array.from({ length: n }, (_, i) => {
            const w = new CopartitionedAssignor({ url: `http://w${i}`, tables: () => [{ changelog: 'cl', partitions: P }], standbyReplicas: replicas })
            return [`m${i}`, w] as [string, CopartitionedAssignor]
          })
          let out = new Map<string, MemberAssignment>()
          for (let g = 0; g < generations; g++) out = rebalance(workers, new Map([['src', P]]))
          const seen = new Set<number>()
          for (const [id, w] of workers) {
            const current = w.current()!
            assert.deepEqual(current.actives.src ?? [], out.get(id)!.assignment.get('src') ?? [])
            assert.deepEqual(current.actives.cl, current.actives.src)
            for (const p of current.actives.src ?? []) seen.add(p)
          }
          assert.equal(seen.size, P)
          for (const [, w] of workers) {
            for (let p = 0; p < P; p++) {
              const owner = w.ownerOf('cl', p)
              const active = workers.find(([, x]) => x.current()!.actives.cl!.includes(p))!
              assert.equal(owner.active, `http://w${workers.indexOf(active)}`)
              assert.equal(owner.standbys.length, Math.min(replicas, n - 1))
              assert.ok(!owner.standbys.includes(owner.active!))
            }
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})

// ---------------------------------------------------------------------------------------------

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

class Handler implements ConsumerHandlerT {
  assigned: TP[] = []
  infos: AssignedInfo[] = []
  async onPartitionsRevoked(): Promise<void> {}
  async onPartitionsAssigned(assigned: TP[], info: AssignedInfo): Promise<void> {
    this.assigned = assigned
    this.infos.push(info)
  }
  onRecords(_tp: TP, _records: RawRecord[]): void {}
}

describe('CopartitionedAssignor through the memory broker', () => {
  async function join(transport: MemoryTransport, assignor: CopartitionedAssignor): Promise<{ consumer: ConsumerDriverT; handler: Handler }> {
    const handler = new Handler()
    const consumer = transport.createConsumer({
      groupId: 'app',
      clientId: 'worker',
      handler,
      assignor,
      autoOffsetReset: 'earliest',
      sessionTimeoutMs: 60_000,
      heartbeatIntervalMs: 3000,
      rebalanceTimeoutMs: 60_000,
      maxPartitionFetchBytes: 1 << 20,
      isolationLevel: 'read_uncommitted',
      log: silentLogger,
    })
    cleanups.push(() => consumer.close())
    await consumer.subscribe([ORDERS])
    return { consumer, handler }
  }

  test('two workers get complementary actives and both see both hosts; the first keeps half of what it had', async () => {
    const url = `memory://assignor-${randomUUID()}`
    cleanups.push(() => MemoryBroker.delete(url))
    const transport = new MemoryTransport(url)
    transport.broker.createTopic({ name: ORDERS, partitions: 8, replicationFactor: 1, config: {} })
    const a = worker('http://a:6066')
    const b = worker('http://b:6066')

    const first = await join(transport, a)
    assert.equal(first.consumer.assignment().length, 8, 'alone, A has every partition')
    assert.deepEqual(a.current()!.standbys, { [CHANGELOG]: [] })

    const second = await join(transport, b)
    const partitionsOf = (c: ConsumerDriverT) => c.assignment().map((t) => t.partition).sort()
    // A had everything and nobody had standbys: it keeps the lowest half, B takes the rest.
    assert.deepEqual(partitionsOf(first.consumer), [0, 1, 2, 3])
    assert.deepEqual(partitionsOf(second.consumer), [4, 5, 6, 7])
    assert.ok(first.consumer.assignment().every((t) => t.topic === ORDERS), 'changelogs are not in the Kafka assignment')
    for (const w of [a, b]) {
      assert.deepEqual(Object.keys(w.current()!.hosts).sort(), ['http://a:6066', 'http://b:6066'])
      assert.deepEqual(w.ownerOf(CHANGELOG, 5), { active: 'http://b:6066', standbys: ['http://a:6066'] })
    }
    assert.deepEqual(a.current()!.standbys, { [CHANGELOG]: [4, 5, 6, 7] })
    // The handler's info carries the same userData the assignor decoded.
    const info = second.handler.infos.at(-1)!
    assert.deepEqual((json(info.userData).actives as Record<string, number[]>)[CHANGELOG], [4, 5, 6, 7])

    // B leaves: A takes B's partitions back, all of which it kept warm as standbys.
    await second.consumer.close()
    assert.deepEqual(partitionsOf(first.consumer), [0, 1, 2, 3, 4, 5, 6, 7])
    assert.deepEqual(Object.keys(a.current()!.hosts), ['http://a:6066'])
  })
})
