import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/faust-ts.js', ...args], { encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const APP = 'test/fixtures/cli-app.ts'

test('agents --json lists the agents with their topics', () => {
  const r = cli('agents', '-A', APP, '--json')
  assert.equal(r.code, 0, r.stderr)
  const rows = JSON.parse(r.stdout) as Array<{ name: string; topic: string; concurrency: number }>
  assert.deepEqual(
    rows.map((a) => [a.name, a.topic, a.concurrency]),
    [
      ['process-orders', 'orders', 2],
      ['audit', 'cli-fixture-audit', 1],
    ],
  )
})

test('topics prints a table, and --json the same rows', () => {
  const text = cli('topics', '-A', APP)
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /^TOPIC\s+PARTITIONS/m)
  assert.match(text.stdout, /orders\s+3\s+false\s+raw\s+json\s+process-orders\s+retention\.ms=3600000/)
  const json = JSON.parse(cli('topics', '-A', APP, '--json').stdout) as Array<{ topic: string; internal: boolean }>
  assert.deepEqual(json.map((t) => [t.topic, t.internal]), [['cli-fixture-audit', true], ['cli-fixture-order-counts-changelog', true], ['cli-fixture-orders-per-minute-changelog', true], ['cli-fixture-seen-changelog', true], ['customers', false], ['notes', false], ['orders', false]])
})

test('send encodes and validates, and prints where the message went', () => {
  const r = cli('send', '-A', APP, 'orders', '{"id": 1, "amount": 9.5}', '--key', 'o-1', '--repeat', '2', '--json')
  assert.equal(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; offset: number })
  assert.deepEqual(lines.map((l) => [l.topic, l.offset]), [['orders', 0], ['orders', 1]])
  assert.match(r.stderr, /memory:\/\/ broker lives inside one process/)
})

test('send to an agent goes to its topic', () => {
  const r = cli('send', '-A', APP, 'audit', '"hello"')
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^cli-fixture-audit\[\d\]@0$/m)
})

const failures: Array<[string, string[], RegExp]> = [
  ['a missing app module', ['agents', '-A', 'test/fixtures/nope.ts'], /app module test\/fixtures\/nope\.ts not found/],
  ['a broken app module', ['agents', '-A', 'test/fixtures/broken-app.ts'], /cannot load app module test\/fixtures\/broken-app\.ts/],
  ['a module without an App', ['agents', '-A', 'test/fixtures/no-app.ts'], /exports no App/],
  ['no app module at all', ['agents'], /no app module given/],
  ['an unknown topic', ['send', '-A', APP, 'nope', '1'], /unknown topic or agent "nope"; known: .*orders/],
  ['invalid JSON', ['send', '-A', APP, 'orders', '{id: 1'], /value is not valid JSON/],
  ['a value that fails its schema', ['send', '-A', APP, 'orders', '{"id": 1, "amount": -3}'], /invalid value for orders: .*amount/],
  ['an unknown command option', ['agents', '--bogus'], /unknown option '--bogus'/],
]

for (const [what, args, pattern] of failures) {
  test(`${what} gives one clear error line and exit code 2`, () => {
    const r = cli(...args)
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, pattern)
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace without --debug')
  })
}

test('models lists the records; model shows a record\'s fields and types', () => {
  const models = JSON.parse(cli('models', '-A', APP, '--json').stdout) as Array<{ name: string; namespace: string; fields: number }>
  assert.deepEqual(models, [
    { name: 'Address', namespace: 'cli.models.Address', fields: 2, serializer: 'json' },
    { name: 'Customer', namespace: 'cli.models.Customer', fields: 6, serializer: 'json' },
  ])
  const text = cli('model', '-A', APP, 'Customer')
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /^since\s+datetime\s+true/m)
  assert.match(text.stdout, /^address\s+cli\.models\.Address\s+true/m)
  assert.match(text.stdout, /^tags\s+string\[\]\s+false\s+\[\]/m)
  const byNamespace = JSON.parse(cli('model', '-A', APP, 'cli.models.Address', '--json').stdout) as Array<{ field: string; required: boolean }>
  assert.deepEqual(byNamespace.map((f) => [f.field, f.required]), [['city', true], ['zip', false]])
  const unknown = cli('model', '-A', APP, 'Nope')
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /unknown model "Nope"; known: Address, Customer/)
})

test('send validates records: nested records and datetimes', () => {
  const ok = cli('send', '-A', APP, 'customers', '{"id": 1, "name": "Ada", "address": {"city": "London"}, "since": "2026-01-01T00:00:00Z"}', '--json')
  assert.equal(ok.code, 0, ok.stderr)
  const bad = cli('send', '-A', APP, 'customers', '{"id": 1, "name": "Ada", "address": {"town": "London"}, "since": "yesterday"}')
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /invalid value for customers: .*(city|ISO-8601)/)
})

test('tables lists the tables; reset removes the local table state', async () => {
  const rows = JSON.parse(cli('tables', '-A', APP, '--json').stdout) as Array<Record<string, unknown>>
  assert.deepEqual(rows.map((r) => [r.table, r.kind, r.changelog, r.partitions, r.store, r.window]), [
    ['order-counts', 'table', 'cli-fixture-order-counts-changelog', 3, 'lmdb://', ''],
    ['seen', 'set', 'cli-fixture-seen-changelog', 3, 'memory://', ''],
    ['orders-per-minute', 'table', 'cli-fixture-orders-per-minute-changelog', 3, 'memory://', 'hopping 60s every 10s, grace 3600s, expires 3600s'],
  ])
  const { mkdirSync, writeFileSync, existsSync, mkdtempSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const datadir = mkdtempSync(join(tmpdir(), 'faust-reset-'))
  mkdirSync(join(datadir, 'tables', 'order-counts-0'), { recursive: true })
  writeFileSync(join(datadir, 'tables', 'order-counts-0', 'data.mdb'), 'x')
  const r = spawnSync(process.execPath, ['bin/faust-ts.js', 'reset', '-A', APP, '--json'], { encoding: 'utf8', env: { ...process.env, FAUST_DATADIR: datadir } })
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { datadir, removed: join(datadir, 'tables') })
  assert.equal(existsSync(join(datadir, 'tables')), false)
})

test('every command has help text', () => {
  const top = cli('--help')
  assert.equal(top.code, 0)
  for (const command of ['worker', 'send', 'agents', 'topics', 'tables', 'reset', 'models', 'model', 'settings']) {
    assert.match(top.stdout, new RegExp(`^\\s+${command}\\b`, 'm'))
    const r = cli(command, '--help')
    assert.equal(r.code, 0, `${command} --help`)
    assert.match(r.stdout, new RegExp(`Usage: faust-ts ${command}`))
  }
})

test('settings --json lists every setting with its environment variable', () => {
  const rows = JSON.parse(cli('settings', '--json').stdout) as Array<{ setting: string; env: string }>
  const broker = rows.find((r) => r.setting === 'broker')
  assert.equal(broker?.env, 'FAUST_BROKER, BROKER_URL')
  assert.ok(rows.some((r) => r.setting === 'brokerCommitInterval' && r.env === 'FAUST_BROKER_COMMIT_INTERVAL'))
})

test("routes lists the built-in views and the app's pages; --url prints a running worker's router", async () => {
  const rows = JSON.parse(cli('routes', '-A', APP, '--json').stdout) as Array<{ method: string; path: string; origin: string; help: string }>
  const paths = rows.map((r) => `${r.method} ${r.path} ${r.origin}`)
  for (const p of ['GET / builtin', 'GET /stats builtin', 'GET /router builtin', 'GET /metrics builtin', 'GET /health builtin', 'GET /table/:name/:key builtin', 'GET /orders/summary app', 'GET /orders/count/:customer app']) {
    assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`)
  }
  assert.equal(rows.find((r) => r.path === '/orders/count/:customer')?.help, 'Orders of one customer')
  const text = cli('routes', '-A', APP)
  assert.match(text.stdout, /^METHOD\s+PATH\s+ORIGIN\s+HELP/m)

  // --url against a worker running in this process (spawned asynchronously, so this process answers).
  const { App } = await import('../../src/index.ts')
  const app = new App(`routes-${process.pid}`, { broker: `memory://routes-${process.pid}`, webPort: 0, webHost: '127.0.0.1', webBind: '127.0.0.1', topicPartitions: 2 })
  const words = app.topic('words', { partitions: 2 })
  app.table('counts', { partitions: 2 })
  app.agent(words, async (stream) => {
    for await (const _ of stream);
  }, { name: 'count' })
  app.serveWeb = true
  await app.start()
  try {
    const child = spawn(process.execPath, ['bin/faust-ts.js', 'routes', '--url', app.canonicalUrl], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const [code] = (await once(child, 'exit')) as [number]
    assert.equal(code, 0)
    assert.match(out, /^TABLE\s+PARTITION\s+ACTIVE\s+STANDBYS/m)
    assert.match(out, new RegExp(`counts\\s+0\\s+${app.canonicalUrl.replace(/[.:/]/g, '\\$&')}\\s+\\(none\\)`))
    assert.match(out, /counts\s+1\s+http:\/\/127\.0\.0\.1:\d+/)
  } finally {
    await app.stop()
  }
  const bad = cli('routes', '--url', 'http://127.0.0.1:1')
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /cannot read http:\/\/127\.0\.0\.1:1\/router/)
})

test('worker prints its web URL in the banner and the ready line, and --without-web turns the server off', async () => {
  async function runWorker(...args: string[]) {
    const child = spawn(process.execPath, ['bin/faust-ts.js', 'worker', '-A', APP, '--web-host', '127.0.0.1', '--web-bind', '127.0.0.1', '--log-format', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const deadline = Date.now() + 20_000
    while (!/worker ready/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`worker did not start:\n${out}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const url = /worker ready in \d+ ms; web (http:\/\/\S+)/.exec(out)?.[1]
    const health = url === undefined ? undefined : await fetch(`${url}/health`).then((r) => r.status)
    child.kill('SIGTERM')
    const [code] = (await once(child, 'exit')) as [number]
    return { out, url, health, code }
  }
  const on = await runWorker('-p', '0')
  assert.equal(on.code, 0)
  assert.match(on.out, /│ web\s+http:\/\/127\.0\.0\.1:<port chosen at start> \(bind 127\.0\.0\.1\)/)
  assert.match(on.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(on.health, 200)
  const off = await runWorker('--without-web')
  assert.equal(off.code, 0)
  assert.match(off.out, /│ web\s+off/)
  assert.equal(off.url, undefined)
})
