import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { before, test } from 'node:test'
import { z } from 'zod'
import { App } from '../../src/index.ts'
import { bootstrap, brokerUrl, eventually, testAdmin, unique } from './_kafka.ts'
import { kafkaPython, pythonPath } from './_python.ts'

before(() => {
  pythonPath()
})

const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`)

test('key-to-partition: faust-ts, kafka-python and kcat (murmur2_random) put every key on the same partition', async (t) => {
  const k = await testAdmin(t)
  const topicName = await k.topic(unique('keys'), 6)
  const app = new App(unique('keys-app'), { broker: brokerUrl })
  const topic = app.topic(topicName, { keyType: String })
  k.stopLater(app)
  await app.start()
  const ours = new Map<string, number>()
  for (const key of keys) ours.set(key, (await topic.send({ key, value: 1 })).partition)
  const theirs = await kafkaPython(['partition', '--partitions', '6', ...keys])
  const pythonPartitions = new Map(theirs.map((r) => [String(r.key), Number(r.partition)]))
  for (const key of keys) assert.equal(ours.get(key), pythonPartitions.get(key), `kafka-python disagrees on ${key}`)
  assert.ok(new Set(ours.values()).size > 1)

  const kcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' })
  assert.equal(kcat.status, 0, 'kcat is installed by .ci/run (apt-get install kcat)')
  const kcatTopic = await k.topic(unique('keys-kcat'), 6)
  const input = keys.map((key) => `${key}:v`).join('\n')
  const produced = spawnSync('kcat', ['-b', bootstrap, '-X', 'partitioner=murmur2_random', '-P', '-t', kcatTopic, '-K:'], { input, encoding: 'utf8', timeout: 30_000 })
  assert.equal(produced.status, 0, produced.stderr)
  const read = spawnSync('kcat', ['-b', bootstrap, '-C', '-t', kcatTopic, '-e', '-f', '%k %p\\n', '-o', 'beginning'], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(read.status, 0, read.stderr)
  const kcatPartitions = new Map(read.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]).map(([key, p]) => [key, Number(p)]))
  for (const key of keys) assert.equal(kcatPartitions.get(key), ours.get(key), `kcat disagrees on ${key}`)
})

test('a message produced by kafka-python is consumed by an agent, with its key and headers', async (t) => {
  const k = await testAdmin(t)
  const topicName = await k.topic(unique('from-python'), 3)
  const id = unique('from-python-app')
  k.cleanupGroup(id)
  await kafkaPython(['produce', '--topic', topicName, '--count', '25', '--value-json', '--headers'])
  const app = new App(id, { broker: brokerUrl })
  const Value = z.object({ i: z.number(), key: z.string(), source: z.literal('kafka-python') })
  const topic = app.topic(topicName, { keyType: String, valueType: Value })
  const got: Array<{ key: string; i: number; source: string; header: string }> = []
  app.agent(topic, async (stream) => {
    for await (const e of stream.events()) got.push({ key: e.key, i: e.value.i, source: e.value.source, header: e.headers.source?.toString() ?? '' })
  }, { name: 'reader' })
  k.stopLater(app)
  await app.start()
  await eventually(() => got.length === 25, '25 messages from kafka-python')
  got.sort((a, b) => a.i - b.i)
  for (const [i, m] of got.entries()) {
    assert.deepEqual(m, { key: `key-${i}`, i, source: 'kafka-python', header: 'kafka-python' })
  }
})

test('a message sent with `faust-ts send` is read by kafka-python', async (t) => {
  const k = await testAdmin(t)
  const topicName = await k.topic(unique('from-cli'), 2)
  const r = spawnSync(process.execPath, ['bin/faust-ts.js', 'send', '-A', 'test/fixtures/send-app.ts', topicName, '{"hello": "python"}', '--key', 'k-1', '--repeat', '3', '--json'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, FAUST_BROKER: brokerUrl, SEND_TOPIC: topicName },
  })
  assert.equal(r.status, 0, r.stderr)
  const sent = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: number })
  assert.deepEqual(sent.map((s) => s.offset), [0, 1, 2])
  const read = await kafkaPython(['consume', '--topic', topicName, '--count', '3', '--timeout', '30'])
  assert.equal(read.length, 3)
  for (const m of read) {
    assert.equal(m.key, 'k-1')
    assert.deepEqual(JSON.parse(String(m.value)), { hello: 'python' })
    assert.equal(m.partition, sent[0]!.partition)
  }
})
