import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { afterEach, describe, test } from 'node:test'
import { TransportError } from '../../errors.ts'
import { silentLogger } from '../../types/logging.ts'
import type { AssignedInfo, ConsumerDriverOptions, ConsumerDriverT, ConsumerHandlerT, GroupMember } from '../../types/transport.ts'
import type { RawRecord, TP } from '../../types/tuples.ts'
import { keyPartition } from '../../utils/murmur2.ts'
import { tp, tpString } from '../../utils/tp.ts'
import { MemoryBroker, MemoryTransport, RoundRobinAssignor } from './memory.ts'

/** Each test gets its own named broker, deleted afterwards. */
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

function freshTransport(): MemoryTransport {
  const url = `memory://test-${randomUUID()}`
  cleanups.push(() => MemoryBroker.delete(url))
  return new MemoryTransport(url)
}

function topic(transport: MemoryTransport, name: string, partitions: number): string {
  transport.broker.createTopic({ name, partitions, replicationFactor: 1, config: {} })
  return name
}

const names = (tps: readonly TP[]): string[] => [...tps].map(tpString).sort()

/** Records every callback of the consumer driver, in order. */
class Handler implements ConsumerHandlerT {
  readonly name: string
  readonly journal: string[]
  readonly records: RawRecord[] = []
  generations: number[] = []
  infos: AssignedInfo[] = []
  /** Runs inside onPartitionsRevoked (e.g. to commit). */
  beforeRevoke: ((revoked: TP[]) => Promise<void>) | undefined

  constructor(name: string, journal: string[]) {
    this.name = name
    this.journal = journal
  }

  async onPartitionsRevoked(revoked: TP[]): Promise<void> {
    this.journal.push(`${this.name} revoke [${names(revoked).join(' ')}]`)
    await this.beforeRevoke?.(revoked)
  }

  async onPartitionsAssigned(assigned: TP[], info: AssignedInfo): Promise<void> {
    this.journal.push(`${this.name} assign [${names(assigned).join(' ')}]`)
    this.infos.push(info)
  }

  onRecords(t: TP, records: RawRecord[], generation: number): void {
    for (const r of records) assert.equal(r.partition, t.partition)
    this.records.push(...records)
    this.generations.push(generation)
  }

  offsets(t: TP): number[] {
    return this.records.filter((r) => r.topic === t.topic && r.partition === t.partition).map((r) => r.offset)
  }
}

interface Running {
  consumer: ConsumerDriverT
  handler: Handler
  /** Abort the fetch loop and leave the group (idempotent). */
  stop: () => Promise<void>
}

/** Create a consumer, subscribe it and start its fetch loop; cleaned up after the test. */
async function join(
  transport: MemoryTransport,
  name: string,
  topics: string[],
  journal: string[],
  options: Partial<ConsumerDriverOptions> = {},
): Promise<Running> {
  const handler = new Handler(name, journal)
  const consumer = transport.createConsumer({
    groupId: 'group',
    clientId: name,
    handler,
    autoOffsetReset: 'earliest',
    sessionTimeoutMs: 60_000,
    heartbeatIntervalMs: 3000,
    rebalanceTimeoutMs: 60_000,
    maxPartitionFetchBytes: 1 << 20,
    isolationLevel: 'read_uncommitted',
    log: silentLogger,
    ...options,
  })
  await consumer.subscribe(topics)
  const ac = new AbortController()
  const loop = consumer.run(ac.signal)
  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= (async () => {
      ac.abort()
      await loop
      await consumer.close()
    })()
    return stopped
  }
  cleanups.push(stop)
  return { consumer, handler, stop }
}

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

const quiet = (ms = 30) => new Promise((r) => setTimeout(r, ms))

function send(transport: MemoryTransport, topicName: string, partition: number | undefined, value: string, key: string | null = null) {
  return transport.broker.append({
    topic: topicName,
    partition,
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(value),
  })
}

describe('MemoryBroker registry', () => {
  test('one broker per name; memory:// is the default broker', () => {
    const name = `reg-${randomUUID()}`
    cleanups.push(() => MemoryBroker.delete(`memory://${name}`))
    const a = MemoryBroker.get(`memory://${name}`)
    assert.equal(MemoryBroker.get(`memory://${name}/`), a)
    assert.equal(a.name, name)
    assert.notEqual(MemoryBroker.get(`memory://other-${randomUUID()}`), a)
    assert.equal(MemoryBroker.get('memory://'), MemoryBroker.get('memory://default'))
    MemoryBroker.delete(`memory://${name}`)
    assert.notEqual(MemoryBroker.get(`memory://${name}`), a, 'a deleted broker is forgotten')
  })

  test('separate brokers do not share topics', async () => {
    const t1 = freshTransport()
    const t2 = freshTransport()
    topic(t1, 'only-in-1', 2)
    const admin = t2.createAdmin()
    assert.equal((await admin.describeTopics(['only-in-1'])).size, 0)
  })
})

describe('MemoryBroker partitioning and offsets', () => {
  test('a keyed record lands on keyPartition(key), the same partition every time', async () => {
    const transport = freshTransport()
    topic(transport, 't', 8)
    const producer = transport.createProducer({
      clientId: 'p',
      acks: -1,
      lingerMs: 0,
      maxBatchSize: 16384,
      compression: 'none',
      idempotent: false,
      requestTimeoutMs: 1000,
      log: silentLogger,
    })
    await producer.start()
    const used = new Set<number>()
    for (let i = 0; i < 40; i++) {
      const key = Buffer.from(`user-${i}`)
      const first = await producer.send({ topic: 't', key, value: Buffer.from('v') })
      const again = await producer.send({ topic: 't', key, value: Buffer.from('v2') })
      assert.equal(first.partition, keyPartition(key, 8), `user-${i}`)
      assert.equal(again.partition, first.partition)
      used.add(first.partition)
    }
    assert.ok(used.size > 4, 'keys spread over the partitions')
    await producer.flush()
    await producer.close()
  })

  test('records with a null key go round-robin over the partitions', () => {
    const transport = freshTransport()
    topic(transport, 'rr', 4)
    topic(transport, 'rr2', 3)
    const placed = Array.from({ length: 8 }, () => send(transport, 'rr', undefined, 'v').partition)
    assert.deepEqual(placed, [0, 1, 2, 3, 0, 1, 2, 3])
    assert.equal(send(transport, 'rr2', undefined, 'v').partition, 0, 'each topic has its own turn')
    assert.equal(send(transport, 'rr', undefined, 'v').partition, 0)
  })

  test('an explicit partition wins over the key', () => {
    const transport = freshTransport()
    topic(transport, 't', 8)
    const key = 'k'
    const other = (keyPartition(Buffer.from(key), 8) + 1) % 8
    assert.equal(send(transport, 't', other, 'v', key).partition, other)
  })

  test('offsets start at 0 and increase by one per partition', () => {
    const transport = freshTransport()
    topic(transport, 't', 2)
    const p0 = [send(transport, 't', 0, 'a'), send(transport, 't', 0, 'b'), send(transport, 't', 0, 'c')]
    const p1 = [send(transport, 't', 1, 'x')]
    assert.deepEqual(
      p0.map((m) => m.offset),
      [0, 1, 2],
    )
    assert.deepEqual(
      p1.map((m) => m.offset),
      [0],
    )
    const read = transport.broker.read(tp('t', 0), 1, 10)
    assert.deepEqual(
      read.map((r) => [r.offset, r.value?.toString()]),
      [
        [1, 'b'],
        [2, 'c'],
      ],
    )
    assert.deepEqual(transport.broker.read(tp('t', 0), 0, 2).length, 2, 'max is respected')
    assert.deepEqual(transport.broker.read(tp('t', 0), 3, 10), [], 'nothing past the end')
  })

  test('records keep key, value, headers and timestamp', () => {
    const transport = freshTransport()
    topic(transport, 't', 1)
    const before = Date.now()
    const meta = transport.broker.append({ topic: 't', key: Buffer.from('k'), value: null })
    const stamped = transport.broker.append({
      topic: 't',
      key: null,
      value: Buffer.from('v'),
      timestamp: 1234,
      headers: [['h', Buffer.from('1')]],
    })
    assert.ok(meta.timestamp >= before && meta.timestamp <= Date.now())
    assert.equal(stamped.timestamp, 1234)
    const [first, second] = transport.broker.read(tp('t', 0), 0, 10)
    assert.deepEqual(first?.key, Buffer.from('k'))
    assert.equal(first?.value, null)
    assert.deepEqual(first?.headers, [])
    assert.deepEqual(second?.headers, [['h', Buffer.from('1')]])
    assert.equal(second?.timestamp, 1234)
  })

  test('a partition that does not exist is a TransportError naming topic and partition', () => {
    const transport = freshTransport()
    topic(transport, 't', 2)
    for (const bad of [2, -1, 1.5]) {
      assert.throws(
        () => send(transport, 't', bad, 'v'),
        (err: unknown) =>
          err instanceof TransportError && err.code === 'FAUST_ERR_TRANSPORT' && err.topic === 't' && err.partition === bad,
      )
    }
    assert.throws(() => transport.broker.read(tp('t', 5), 0, 1), TransportError)
  })

  test('sending to an unknown topic creates it with defaultPartitions', () => {
    const transport = freshTransport()
    transport.broker.defaultPartitions = 3
    send(transport, 'implicit', undefined, 'v')
    assert.equal(transport.broker.topics.get('implicit')?.partitions.length, 3)
  })
})

describe('MemoryAdmin', () => {
  test('creates, describes, measures and deletes topics', async () => {
    const transport = freshTransport()
    const admin = transport.createAdmin()
    const spec = { name: 'a', partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'compact' } }
    assert.equal(await admin.createTopic(spec), true)
    assert.equal(await admin.createTopic({ ...spec, partitions: 9 }), false, 'exists already; unchanged')
    const described = await admin.describeTopics(['a', 'missing'])
    assert.deepEqual([...described.keys()], ['a'])
    assert.deepEqual(described.get('a'), { name: 'a', partitions: 3, config: { 'cleanup.policy': 'compact' } })
    send(transport, 'a', 1, 'x')
    send(transport, 'a', 1, 'y')
    const tps = [tp('a', 0), tp('a', 1)]
    assert.deepEqual([...(await admin.endOffsets(tps)).values()], [0, 2])
    assert.deepEqual([...(await admin.beginningOffsets(tps)).values()], [0, 0])
    await admin.deleteTopics(['a'])
    assert.equal((await admin.describeTopics(['a'])).size, 0)
    await admin.close()
  })
})

describe('RoundRobinAssignor', () => {
  const member = (memberId: string, topics: string[]): GroupMember => ({ memberId, topics, userData: Buffer.alloc(0) })
  const flat = (a: Map<string, number[]> | undefined) =>
    [...(a ?? new Map<string, number[]>())].flatMap(([t, ps]) => ps.map((p) => `${t}[${p}]`)).sort()

  test('deals partitions of all topics in turn to members sorted by id', () => {
    const out = new RoundRobinAssignor().assign(
      [member('m2', ['t']), member('m1', ['t'])],
      new Map([['t', 4]]),
    )
    assert.deepEqual(flat(out.get('m1')?.assignment), ['t[0]', 't[2]'])
    assert.deepEqual(flat(out.get('m2')?.assignment), ['t[1]', 't[3]'])
  })

  test('skips members that do not subscribe to a topic (as Kafka does)', () => {
    const out = new RoundRobinAssignor().assign(
      [member('b', ['t1', 't2']), member('a', ['t1'])],
      new Map([
        ['t2', 2],
        ['t1', 3],
      ]),
    )
    assert.deepEqual(flat(out.get('a')?.assignment), ['t1[0]', 't1[2]'])
    assert.deepEqual(flat(out.get('b')?.assignment), ['t1[1]', 't2[0]', 't2[1]'])
  })

  test('every member gets an entry, even with nothing to do', () => {
    const out = new RoundRobinAssignor().assign([member('a', ['t']), member('b', ['t'])], new Map([['t', 1]]))
    assert.deepEqual(flat(out.get('b')?.assignment), [])
    assert.equal(out.size, 2)
  })
})

describe('MemoryConsumer groups', () => {
  test('a lone member gets every partition and reads from the earliest offset', async () => {
    const transport = freshTransport()
    topic(transport, 't', 3)
    for (let p = 0; p < 3; p++) send(transport, 't', p, `before-${p}`)
    const journal: string[] = []
    const c = await join(transport, 'c1', ['t'], journal)
    assert.deepEqual(journal, ['c1 revoke []', 'c1 assign [t[0] t[1] t[2]]'])
    assert.deepEqual(names(c.consumer.assignment()), ['t[0]', 't[1]', 't[2]'])
    await until(() => c.handler.records.length === 3, 'the 3 earlier records')
    send(transport, 't', 1, 'after')
    await until(() => c.handler.records.length === 4, 'the new record')
    assert.deepEqual(c.handler.offsets(tp('t', 1)), [0, 1])
    const info = c.handler.infos[0]
    assert.equal(info?.generation, 1)
    assert.ok(info?.memberId.startsWith('memory-'))
    assert.ok(c.handler.generations.every((g) => g === 1))
  })

  test("autoOffsetReset 'latest' skips what was written before the group had an offset", async () => {
    const transport = freshTransport()
    topic(transport, 't', 1)
    send(transport, 't', 0, 'old')
    const c = await join(transport, 'c1', ['t'], [], { autoOffsetReset: 'latest' })
    send(transport, 't', 0, 'new')
    await until(() => c.handler.records.length === 1, 'the new record')
    await quiet()
    assert.deepEqual(
      c.handler.records.map((r) => r.value?.toString()),
      ['new'],
    )
  })

  test('two members split the partitions with the RoundRobinAssignor; revoke comes before assign', async () => {
    const transport = freshTransport()
    topic(transport, 't', 4)
    const journal: string[] = []
    const c1 = await join(transport, 'c1', ['t'], journal)
    journal.length = 0
    const c2 = await join(transport, 'c2', ['t'], journal)

    const a1 = names(c1.consumer.assignment())
    const a2 = names(c2.consumer.assignment())
    assert.equal(a1.length, 2)
    assert.equal(a2.length, 2)
    assert.deepEqual([...a1, ...a2].sort(), ['t[0]', 't[1]', 't[2]', 't[3]'])
    // The split is exactly what the assignor computes for the two member ids.
    const ids = [c1.handler.infos.at(-1)?.memberId ?? '', c2.handler.infos.at(-1)?.memberId ?? '']
    const expected = new RoundRobinAssignor().assign(
      ids.map((memberId) => ({ memberId, topics: ['t'], userData: Buffer.alloc(0) })),
      new Map([['t', 4]]),
    )
    assert.deepEqual(a1, (expected.get(ids[0] ?? '')?.assignment.get('t') ?? []).map((p) => `t[${p}]`).sort())
    assert.deepEqual(a2, (expected.get(ids[1] ?? '')?.assignment.get('t') ?? []).map((p) => `t[${p}]`).sort())

    // Eager protocol: every member is revoked before any member is assigned.
    assert.equal(journal.length, 4)
    assert.deepEqual(journal.slice(0, 2).sort(), ['c1 revoke [t[0] t[1] t[2] t[3]]', 'c2 revoke []'])
    assert.deepEqual(journal.slice(2).sort(), [`c1 assign [${a1.join(' ')}]`, `c2 assign [${a2.join(' ')}]`])
    assert.equal(c1.handler.infos.at(-1)?.generation, 2)
    assert.equal(c2.handler.infos.at(-1)?.generation, 2)

    // Each member only receives records of its own partitions.
    for (let p = 0; p < 4; p++) send(transport, 't', p, `v${p}`)
    await until(() => c1.handler.records.length + c2.handler.records.length === 4, 'all 4 records')
    assert.deepEqual([...new Set(c1.handler.records.map((r) => `t[${r.partition}]`))].sort(), a1)
    assert.deepEqual([...new Set(c2.handler.records.map((r) => `t[${r.partition}]`))].sort(), a2)
  })

  test('when a member closes, the rest rebalance and resume from the committed offsets', async () => {
    const transport = freshTransport()
    topic(transport, 't', 2)
    const journal: string[] = []
    const c1 = await join(transport, 'c1', ['t'], journal)
    const c2 = await join(transport, 'c2', ['t'], journal)
    const [mine1] = c1.consumer.assignment()
    const [mine2] = c2.consumer.assignment()
    assert.ok(mine1 !== undefined && mine2 !== undefined && mine1 !== mine2)
    for (let i = 0; i < 5; i++) {
      send(transport, 't', mine1.partition, `one-${i}`)
      send(transport, 't', mine2.partition, `two-${i}`)
    }
    await until(() => c1.handler.records.length === 5 && c2.handler.records.length === 5, 'both members read 5')
    // c1 processed only 3 of its 5 records: it commits offset 3 when its partition is revoked,
    // slowly, so the broker must wait for the revoke handler before it assigns the partition.
    c1.handler.beforeRevoke = async (revoked) => {
      assert.deepEqual(revoked, [mine1])
      await quiet(60)
      await c1.consumer.commit(new Map([[mine1, 3]]))
    }
    // c2 processed everything (and also commits slowly, in the group rebalance that follows).
    c2.handler.beforeRevoke = async (revoked) => {
      await quiet(10)
      await c2.consumer.commit(new Map(revoked.map((t) => [t, 5])))
    }
    journal.length = 0
    const before = c2.handler.records.length
    await c1.stop()

    assert.deepEqual(journal, [`c1 revoke [${tpString(mine1)}]`, `c2 revoke [${tpString(mine2)}]`, 'c2 assign [t[0] t[1]]'])
    assert.deepEqual(names(c2.consumer.assignment()), ['t[0]', 't[1]'])
    assert.deepEqual(c1.consumer.assignment(), [])
    assert.deepEqual(
      [...(await c2.consumer.committed([mine1, mine2])).values()],
      [3, 5],
    )
    await until(() => c2.handler.records.length === before + 2, 'the 2 uncommitted records of c1')
    await quiet()
    const redelivered = c2.handler.records.slice(before)
    assert.deepEqual(
      redelivered.map((r) => [r.partition, r.offset]),
      [
        [mine1.partition, 3],
        [mine1.partition, 4],
      ],
    )
    assert.ok(c2.handler.generations.at(-1) === c2.handler.infos.at(-1)?.generation)
  })

  test('a partition without a committed offset is reset; committed() says undefined', async () => {
    const transport = freshTransport()
    topic(transport, 't', 1)
    const c = await join(transport, 'c1', ['t'], [])
    assert.deepEqual([...(await c.consumer.committed([tp('t', 0)])).entries()], [[tp('t', 0), undefined]])
    await c.consumer.commit(new Map([[tp('t', 0), 7]]))
    assert.equal((await c.consumer.committed([tp('t', 0)])).get(tp('t', 0)), 7)
  })

  test('pause stops delivery for that partition only; resume delivers what was held back', async () => {
    const transport = freshTransport()
    topic(transport, 't', 2)
    const c = await join(transport, 'c1', ['t'], [])
    const p0 = tp('t', 0)
    const p1 = tp('t', 1)
    c.consumer.pause([p0])
    send(transport, 't', 0, 'held')
    send(transport, 't', 1, 'flows')
    await until(() => c.handler.offsets(p1).length === 1, 'the record of the running partition')
    await quiet(50)
    assert.deepEqual(c.handler.offsets(p0), [], 'nothing from the paused partition')
    send(transport, 't', 1, 'flows again')
    await until(() => c.handler.offsets(p1).length === 2, 'more records of the running partition')
    assert.deepEqual(c.handler.offsets(p0), [])
    c.consumer.resume([p0])
    await until(() => c.handler.offsets(p0).length === 1, 'the held record after resume')
    assert.equal(c.handler.records.find((r) => r.partition === 0)?.value?.toString(), 'held')
  })

  test(
    'a rebalance does not preserve pause state, as in Kafka',
    async () => {
      const transport = freshTransport()
      topic(transport, 't', 2)
      const c1 = await join(transport, 'c1', ['t'], [])
      c1.consumer.pause([tp('t', 0), tp('t', 1)])
      // A second member joins and leaves: c1 is revoked and re-assigned both partitions twice.
      const c2 = await join(transport, 'c2', ['t'], [])
      await c2.stop()
      assert.equal(c1.consumer.assignment().length, 2)
      send(transport, 't', 0, 'x')
      send(transport, 't', 1, 'y')
      await until(() => c1.handler.records.length === 2, 'records of the re-assigned partitions', 500)
    },
  )

  test('seek re-delivers from the given offset', async () => {
    const transport = freshTransport()
    topic(transport, 't', 1)
    const p0 = tp('t', 0)
    for (const v of ['a', 'b', 'c']) send(transport, 't', 0, v)
    const c = await join(transport, 'c1', ['t'], [])
    await until(() => c.handler.records.length === 3, 'the 3 records')
    c.consumer.seek(p0, 1)
    await until(() => c.handler.records.length === 5, 'the 2 records again')
    assert.deepEqual(c.handler.offsets(p0), [0, 1, 2, 1, 2])
    c.consumer.seek(p0, 3)
    send(transport, 't', 0, 'd')
    await until(() => c.handler.records.length === 6, 'the next record')
    await quiet()
    assert.deepEqual(c.handler.offsets(p0), [0, 1, 2, 1, 2, 3])
  })

  test('members of different groups each read everything', async () => {
    const transport = freshTransport()
    topic(transport, 't', 2)
    send(transport, 't', 0, 'x')
    send(transport, 't', 1, 'y')
    const a = await join(transport, 'a', ['t'], [], { groupId: 'g1' })
    const b = await join(transport, 'b', ['t'], [], { groupId: 'g2' })
    await until(() => a.handler.records.length === 2 && b.handler.records.length === 2, 'both groups read both')
    assert.equal(a.consumer.assignment().length, 2)
    assert.equal(b.consumer.assignment().length, 2)
  })

  test('closing a consumer that never subscribed is a no-op', async () => {
    const transport = freshTransport()
    const consumer = transport.createConsumer({
      groupId: 'g',
      clientId: 'x',
      handler: new Handler('x', []),
      autoOffsetReset: 'earliest',
      sessionTimeoutMs: 1,
      heartbeatIntervalMs: 1,
      rebalanceTimeoutMs: 1,
      maxPartitionFetchBytes: 1,
      isolationLevel: 'read_uncommitted',
      log: silentLogger,
    })
    await consumer.close()
    assert.equal(transport.broker.groups.get('g')?.members.size ?? 0, 0)
  })
})
