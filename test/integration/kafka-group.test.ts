import assert from 'node:assert/strict'
import { test } from 'node:test'
import { App, type PartitionAssignorT, RoundRobinAssignor } from '../../src/index.ts'
import type { GroupMember, MemberAssignment } from '../../src/types/transport.ts'
import { brokerUrl, eventually, kafka, testAdmin, unique } from './_kafka.ts'

/** Round-robin, plus userData both ways: each member sends its URL; each gets the whole URL map back. */
class UrlAssignor implements PartitionAssignorT {
  readonly name = 'url-test'
  readonly version = 1
  readonly url: string
  received: Record<string, string> | undefined
  leaderSaw: string[] = []
  constructor(url: string) {
    this.url = url
  }
  memberMetadata(): Buffer {
    return Buffer.from(JSON.stringify({ url: this.url }))
  }
  assign(members: GroupMember[], partitions: Map<string, number>): Map<string, MemberAssignment> {
    const urls = Object.fromEntries(members.map((m) => [m.memberId, (JSON.parse(m.userData.toString()) as { url: string }).url]))
    this.leaderSaw = Object.values(urls).sort()
    const plain = new RoundRobinAssignor().assign(members, partitions)
    return new Map([...plain].map(([id, a]) => [id, { assignment: a.assignment, userData: Buffer.from(JSON.stringify(urls)) }]))
  }
  onAssignment(assignment: MemberAssignment): void {
    this.received = JSON.parse(assignment.userData.toString()) as Record<string, string>
  }
}

test('a custom assignor: member metadata reaches the leader, and each member gets its assignment userData', async (t) => {
  const k = await testAdmin(t)
  const id = unique('assignor')
  const topicName = await k.topic(unique('assignor-topic'), 4)
  k.cleanupGroup(id)
  const apps = ['http://a:6066', 'http://b:6066'].map((url) => {
    const app = new App(id, { broker: brokerUrl, brokerSessionTimeout: 10, brokerHeartbeatInterval: 1 })
    app.assignor = new UrlAssignor(url)
    app.agent(app.topic(topicName), async (stream) => {
      for await (const _ of stream);
    }, { name: 'noop' })
    return app
  })
  for (const app of apps) {
    k.stopLater(app)
    await app.start()
  }
  const assignors = apps.map((a) => a.assignor as UrlAssignor)
  await eventually(
    () => assignors.every((a) => a.received !== undefined && Object.keys(a.received).length === 2) && apps.every((a) => a.assignment().length === 2),
    'both members assigned with both URLs',
  )
  for (const a of assignors) assert.deepEqual(Object.values(a.received!).sort(), ['http://a:6066', 'http://b:6066'])
  assert.ok(assignors.some((a) => a.leaderSaw.length === 2), 'the leader saw both members metadata')
  const all = apps.flatMap((a) => a.assignment().map((tp) => tp.partition)).sort()
  assert.deepEqual(all, [0, 1, 2, 3])
})

test('on revoke, a worker commits what it acked before the group moves its partitions', async (t) => {
  const k = await testAdmin(t)
  const id = unique('revoke')
  const topicName = await k.topic(unique('revoke-topic'), 4)
  k.cleanupGroup(id)
  const settings = { broker: brokerUrl, brokerCommitInterval: 3600, brokerCommitEvery: 1_000_000, brokerSessionTimeout: 10, brokerHeartbeatInterval: 1 }
  const first = new App(id, settings)
  let processed = 0
  first.agent(first.topic(topicName), async (stream) => {
    for await (const _ of stream) processed += 1
  }, { name: 'count' })
  k.stopLater(first)
  await first.start()
  await first.consumer.waitAssigned()
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: topicName, messages: Array.from({ length: 40 }, (_, i) => ({ value: '{}', partition: i % 4 })) })
  await producer.disconnect()
  await eventually(() => processed === 40, '40 processed')
  assert.deepEqual([...(await k.committed(id, topicName)).values()], [-1, -1, -1, -1], 'no timer or count commit yet')

  const second = new App(id, settings)
  second.agent(second.topic(topicName), async (stream) => {
    for await (const _ of stream);
  }, { name: 'count' })
  k.stopLater(second)
  await second.start()
  await eventually(() => second.assignment().length === 2 && first.assignment().length === 2, 'rebalanced 2/2')
  assert.deepEqual(Object.fromEntries(await k.committed(id, topicName)), { 0: 10, 1: 10, 2: 10, 3: 10 })
})

test('an idempotent producer with zstd compression round-trips through a worker', async (t) => {
  const k = await testAdmin(t)
  const id = unique('zstd')
  const topicName = await k.topic(unique('zstd-topic'), 2)
  k.cleanupGroup(id)
  const app = new App(id, { broker: brokerUrl, producerCompressionType: 'zstd', producerIdempotence: true, producerLinger: 0.005 })
  const topic = app.topic(topicName, { keyType: String })
  const got: unknown[] = []
  app.agent(topic, async (stream) => {
    for await (const v of stream) got.push(v)
  }, { name: 'reader' })
  k.stopLater(app)
  await app.start()
  await app.consumer.waitAssigned()
  const sent = await Promise.all(Array.from({ length: 200 }, (_, i) => topic.send({ key: `k${i % 7}`, value: { i, pad: 'x'.repeat(200) } })))
  assert.equal(new Set(sent.map((m) => `${m.partition}:${m.offset}`)).size, 200)
  await eventually(() => got.length === 200, '200 zstd messages')
  assert.deepEqual(new Set(got.map((v) => (v as { i: number }).i)).size, 200)
})
