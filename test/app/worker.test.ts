import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { PassThrough } from 'node:stream'
import { App, Worker } from '../../src/index.ts'

function startFixture(env: Record<string, string>) {
  const child = spawn(process.execPath, ['test/fixtures/sigterm-app.ts'], {
    env: { ...process.env, FAUST_WEB_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  return {
    child,
    exited,
    output: () => stdout,
    errors: () => stderr,
    async waitFor(pattern: RegExp, ms = 20_000) {
      const deadline = Date.now() + ms
      while (!pattern.test(stderr)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr:\n${stderr}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
  }
}

test('SIGTERM mid-stream: graceful exit 0, every acked event committed, nothing unprocessed committed', async (t) => {
  const run = startFixture({ MESSAGES: '4000' })
  t.after(() => run.child.kill('SIGKILL'))
  await run.waitFor(/progress \d+ 200/)
  run.child.kill('SIGTERM')
  const [code] = await run.exited
  assert.equal(code, 0, run.errors())
  const result = JSON.parse(run.output().trim()) as {
    code: number
    total: number
    partitions: Record<string, { processed: number[]; committed: number | null }>
  }
  let processedTotal = 0
  for (const [p, { processed, committed }] of Object.entries(result.partitions)) {
    processedTotal += processed.length
    // One actor processes each partition in order: what was processed is a prefix 0..n-1.
    assert.deepEqual(processed, processed.map((_, i) => i), `partition ${p} processed out of order`)
    // Nothing acked is lost and nothing unprocessed is committed: the commit is exactly n.
    assert.equal(committed ?? 0, processed.length, `partition ${p}: committed ${committed}, processed ${processed.length}`)
  }
  assert.ok(processedTotal > 0 && processedTotal < result.total, `stopped mid-stream (${processedTotal}/${result.total})`)
})

test('a second SIGTERM exits at once while a hung agent blocks the graceful shutdown', async (t) => {
  const run = startFixture({ MESSAGES: '10', MODE: 'hang' })
  t.after(() => run.child.kill('SIGKILL'))
  await run.waitFor(/hanging/)
  run.child.kill('SIGTERM')
  await run.waitFor(/graceful shutdown/)
  const started = Date.now()
  run.child.kill('SIGTERM')
  const [code] = await run.exited
  assert.equal(code, 143)
  assert.ok(Date.now() - started < 5000)
})

test('a worker whose app fails (errorPolicy fail) stops with exit code 1', async () => {
  const app = new App('crash-worker', { broker: `memory://crash-${Date.now()}`, errorPolicy: 'fail' })
  const topic = app.topic('boom', { partitions: 1 })
  app.agent(
    topic,
    async (stream) => {
      for await (const _ of stream) throw new Error('boom')
    },
    { name: 'bomb' },
  )
  const out = new PassThrough()
  let log = ''
  out.on('data', (d: Buffer) => (log += d.toString()))
  const worker = new Worker(app, { handleSignals: false, stream: out, logFormat: 'json' })
  const running = worker.run()
  await app.consumer.waitAssigned()
  await topic.send({ value: 1 })
  assert.equal(await running, 1)
  assert.equal(app.state, 'stopped')
  assert.match(log, /boom/)
  assert.match(log, /┌ faust-ts worker/)
})
