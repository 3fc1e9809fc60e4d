/**
 * Python Faust and faust-ts read each other's table changelogs: faust-ts counts words into a
 * table and stops; a Python Faust worker with the same app id and table recovers the counts from
 * the changelog. Then Python counts more, stops, and a faust-ts worker recovers Python's counts.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, test } from 'node:test'
import { App } from '../../src/index.ts'
import { bootstrap, brokerUrl, eventually, kafka, testAdmin, unique } from './_kafka.ts'
import { pythonPath } from './_python.ts'

before(() => {
  pythonPath()
})

async function produce(topic: string, words: string[]) {
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: words.map((w) => ({ key: w, value: w })) })
  await producer.disconnect()
}

test('table changelogs are shared: Python Faust recovers faust-ts counts, faust-ts recovers Python counts', async (t) => {
  const k = await testAdmin(t)
  const id = unique('tables-interop')
  const words = await k.topic(unique('ti-words'), 4)
  k.cleanupTopic(`${id}-counts-changelog`)
  k.cleanupTopic(`${id}-__assignor-__leader`)
  k.cleanupGroup(id)

  // 1. faust-ts counts.
  const first = new App(id, { broker: brokerUrl, topicPartitions: 4, brokerCommitInterval: 0.2 })
  const counts = first.table<string, number>('counts', { default: () => 0, partitions: 4 })
  first.agent(first.topic(words, { keyType: String, valueType: String, valueSerializer: 'raw' }), async (stream) => {
    for await (const w of stream) counts.set(w, counts.get(w) + 1)
  }, { name: 'count' })
  k.stopLater(first)
  await first.start()
  await produce(words, ['alpha', 'beta', 'alpha', 'gamma', 'alpha', 'beta'])
  await eventually(() => counts.get('alpha') === 3 && counts.get('gamma') === 1, 'faust-ts counted')
  await first.stop()

  // 2. Python Faust recovers them, and counts more.
  const dir = mkdtempSync(join(tmpdir(), 'faust-tables-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'table.jsonl')
  const latest = (): Record<string, number> | undefined => {
    try {
      const lines = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean)
      return (JSON.parse(lines[lines.length - 1]!) as { table: Record<string, number> }).table
    } catch {
      return undefined
    }
  }
  const python = spawn(pythonPath(), ['-m', 'faust', '-A', 'faust_tables', 'worker', '-l', 'warn'], {
    cwd: 'test/interop/python',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', KAFKA_BOOTSTRAP_SERVERS: bootstrap, FAUST_APP_ID: id, FAUST_IN_TOPIC: words, FAUST_OUT_FILE: out, FAUST_PARTITIONS: '4' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  python.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => python.on('exit', resolve))
  k.stopLater({ stop: async () => void (python.kill('SIGTERM'), await exited) })
  await eventually(() => latest()?.alpha === 3, `Python Faust to recover the faust-ts counts\n${stderr.slice(-1500)}`, 90_000)
  assert.deepEqual(latest(), { alpha: 3, beta: 2, gamma: 1 })
  await produce(words, ['gamma', 'delta', 'alpha'])
  await eventually(() => latest()?.delta === 1 && latest()?.alpha === 4, 'Python counted on')
  python.kill('SIGTERM')
  assert.equal(await exited, 0)

  // 3. faust-ts recovers what Python wrote.
  const second = new App(id, { broker: brokerUrl, topicPartitions: 4 })
  const restored = second.table<string, number>('counts', { default: () => 0, partitions: 4 })
  second.agent(second.topic(words, { keyType: String, valueType: String, valueSerializer: 'raw' }), async (stream) => {
    for await (const _ of stream);
  }, { name: 'count' })
  k.stopLater(second)
  await second.start()
  await eventually(() => second.tables.ready && restored.size === 4, 'faust-ts recovered')
  assert.deepEqual(restored.asObject(), { alpha: 4, beta: 2, delta: 1, gamma: 2 })
})
