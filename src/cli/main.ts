/**
 * The `faust-ts` command line (Faust's `faust` CLI).
 *
 * Every command that needs the app takes `-A/--app <module>` (or FAUST_APP); `worker` also takes
 * it as its argument. Options that set app settings (`--broker`, `--web-port`, ...) are passed to
 * the app as FAUST_* environment variables before the module is imported, so they apply wherever
 * the code does not set the value itself. Errors print one line and exit with code 2.
 * @module
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import type { App } from '../app/app.ts'
import { envName, settingsTable, VERSION } from '../app/settings.ts'
import { Channel } from '../channels/channel.ts'
import { describeError, FaustError, UnknownTopic, ValidationError } from '../errors.ts'
import { Worker } from '../worker/worker.ts'
import { findRecord, records } from '../models/record.ts'
import { describeFields } from '../models/describe.ts'
import { loadApp } from './app-module.ts'
import { printTable } from './output.ts'

interface GlobalOptions {
  app?: string
  json?: boolean
  debug?: boolean
}

class UsageError extends Error {}

function setEnv(setting: string, value: string | number | boolean | undefined): void {
  if (value !== undefined) process.env[envName(setting)] = String(value)
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>()
}

async function appFrom(cmd: Command, positional?: string): Promise<App> {
  return loadApp(positional ?? globals(cmd).app ?? process.env.FAUST_APP)
}

/** The topic or channel a `send` goes to: a known topic, or an agent (its channel). */
function resolveTarget(app: App, name: string): Channel<unknown, unknown> {
  const agent = app.agents.get(name)
  if (agent !== undefined && agent.channel instanceof Channel) return agent.channel as unknown as Channel<unknown, unknown>
  const topic = app.topics.get(name)
  if (topic !== undefined) return topic
  const known = [...app.topics.keys(), ...[...app.agents.keys()].map((a) => `${a} (agent)`)].sort()
  throw new UnknownTopic(`unknown topic or agent "${name}"; known: ${known.join(', ') || '(none)'}`, { topic: name })
}

/** Parse a CLI value for a codec: JSON for json-like codecs, the text itself for raw. */
function parseInput(text: string | undefined, codecName: string, what: string): unknown {
  if (text === undefined) return null
  if (codecName === 'raw') return text
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON (${describeError(err)}): ${text}`)
  }
}

export function buildProgram(): Command {
  const program = new Command('faust-ts')
    .description('faust-ts: Faust stream processing for TypeScript (agents, tables, windows over Kafka)')
    .version(VERSION)
    .option('-A, --app <module>', 'the app module: a .ts or .js file exporting an App (env FAUST_APP)')
    .option('--json', 'print tables and results as JSON')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()

  program
    .command('worker')
    .description('Run a worker for the app: consume, process, commit; Ctrl-C for a graceful shutdown')
    .argument('[app-module]', 'the app module (or -A)')
    .option('-l, --loglevel <level>', 'log level: trace, debug, info, warn, error', 'info')
    .addOption(new Option('--log-format <format>', 'log lines as pretty text or JSON').choices(['pretty', 'json']))
    .option('-b, --broker <url>', 'broker URL (memory:// or kafka://host:port)')
    .option('-p, --web-port <port>', 'web server port', (v) => Number.parseInt(v, 10))
    .option('--web-bind <address>', 'web server bind address')
    .option('--web-host <host>', 'host name advertised in the web URL')
    .option('--without-web', 'do not start the web server')
    .action(async (module: string | undefined, opts: Record<string, string | number | boolean | undefined>, cmd: Command) => {
      setEnv('broker', opts.broker)
      setEnv('webPort', opts.webPort)
      setEnv('webBind', opts.webBind)
      setEnv('webHost', opts.webHost)
      if (opts.withoutWeb === true) setEnv('webEnabled', false)
      setEnv('loglevel', opts.loglevel)
      const app = await appFrom(cmd, module)
      const worker = new Worker(app, {
        loglevel: String(opts.loglevel),
        logFormat: opts.logFormat === 'json' ? 'json' : opts.logFormat === 'pretty' ? 'pretty' : undefined,
      })
      process.exitCode = await worker.run()
    })

  program
    .command('send')
    .description('Send a message to a topic or agent, encoded and validated with its serializers and schema')
    .argument('<target>', 'topic name or agent name')
    .argument('[value]', 'the value (JSON unless the value serializer is raw)')
    .option('-k, --key <key>', 'the key (JSON unless the key serializer is raw)')
    .option('--partition <n>', 'partition to send to (default: by key)', (v) => Number.parseInt(v, 10))
    .option('-r, --repeat <n>', 'send the message n times', (v) => Number.parseInt(v, 10), 1)
    .option('--key-serializer <codec>', 'override the key codec')
    .option('--value-serializer <codec>', 'override the value codec')
    .action(async (targetName: string, valueText: string | undefined, opts: Record<string, string | number | undefined>, cmd: Command) => {
      const { json } = globals(cmd)
      const app = await appFrom(cmd)
      const target = resolveTarget(app, targetName)
      const keyCodec = app.codecs.get(String(opts.keySerializer ?? target.schema.key.codec.name))
      const valueCodec = app.codecs.get(String(opts.valueSerializer ?? target.schema.value.codec.name))
      const key = parseInput(opts.key as string | undefined, keyCodec.name, 'key')
      const value = parseInput(valueText, valueCodec.name, 'value')
      // Encode and decode once: decoding runs the schema's validation before anything is sent.
      try {
        target.schema.loadsValue(target.schema.dumpsValue(value))
        target.schema.loadsKey(target.schema.dumpsKey(key))
      } catch (err) {
        if (err instanceof ValidationError) throw new UsageError(`invalid value for ${targetName}: ${err.message}`)
        throw new UsageError(`cannot encode for ${targetName}: ${describeError(err)}`)
      }
      if (app.conf.broker.startsWith('memory://')) {
        process.stderr.write('faust-ts: note: the memory:// broker lives inside one process; this send reaches no worker\n')
      }
      await app.prepareTransport()
      await app.producer.start()
      try {
        const results = []
        for (let i = 0; i < Number(opts.repeat ?? 1); i++) {
          results.push(
            await target.send({
              key,
              value,
              partition: opts.partition as number | undefined,
              keySerializer: opts.keySerializer as string | undefined,
              valueSerializer: opts.valueSerializer as string | undefined,
            }),
          )
        }
        for (const r of results) process.stdout.write(`${json ? JSON.stringify(r ?? null) : r === undefined ? 'sent' : `${r.topic}[${r.partition}]@${r.offset}`}\n`)
      } finally {
        await app.producer.stop()
      }
    })

  program
    .command('agents')
    .description('List the agents of the app')
    .action(async (_opts: unknown, cmd: Command) => {
      const app = await appFrom(cmd)
      const rows = [...app.agents.values()].map((a) => {
        const d = a.describe()
        return { name: d.name, topic: d.topic, concurrency: d.concurrency, sinks: d.sinks.join(','), help: d.help }
      })
      printTable(rows, ['name', 'topic', 'concurrency', 'sinks', 'help'], globals(cmd).json === true)
    })

  program
    .command('topics')
    .description('List the topics the app reads and writes')
    .action(async (_opts: unknown, cmd: Command) => {
      const app = await appFrom(cmd)
      const readers = new Map<string, string[]>()
      for (const agent of app.agents.values()) {
        for (const name of agent.channel.names) readers.set(name, [...(readers.get(name) ?? []), agent.name])
      }
      const rows = [...new Set(app.topics.values())].flatMap((t) =>
        t.topics.map((name) => ({
          topic: name,
          partitions: t.partitions ?? (t.internal ? app.conf.topicPartitions : null),
          internal: t.internal,
          key: t.schema.key.codec.name,
          value: t.schema.value.codec.name,
          agents: (readers.get(name) ?? []).join(','),
          config: Object.entries(t.config).map(([k, v]) => `${k}=${v}`).join(','),
        })),
      )
      rows.sort((a, b) => (a.topic < b.topic ? -1 : 1))
      printTable(rows, ['topic', 'partitions', 'internal', 'key', 'value', 'agents', 'config'], globals(cmd).json === true)
    })

  program
    .command('tables')
    .description('List the tables of the app: kind, changelog topic, partitions, store, window')
    .action(async (_opts: unknown, cmd: Command) => {
      const app = await appFrom(cmd)
      const rows = [...app.tables.tables.values()].map((t) => ({ window: '', ...t.describe() }))
      printTable(rows, ['table', 'kind', 'changelog', 'partitions', 'store', 'key', 'value', 'window', 'help'], globals(cmd).json === true)
    })

  program
    .command('routes')
    .description("List the app's web routes (Faust's `faust routes`); with --url, print a running worker's router: which worker holds which table partitions")
    .option('--url <worker-url>', 'a running worker (e.g. http://localhost:6066): print its /router instead')
    .action(async (opts: { url?: string }, cmd: Command) => {
      const json = globals(cmd).json === true
      if (opts.url !== undefined) {
        const base = opts.url.replace(/\/+$/, '')
        let body: { self: string; workers: Record<string, { actives: Record<string, number[]>; standbys: Record<string, number[]> }>; tables: Record<string, Record<string, { active?: string; standbys: string[] }>> }
        try {
          const res = await fetch(`${base}/router`, { signal: AbortSignal.timeout(10_000) })
          if (!res.ok) throw new Error(`HTTP ${res.status}`)
          body = (await res.json()) as typeof body
        } catch (err) {
          throw new UsageError(`cannot read ${base}/router: ${describeError(err)}`)
        }
        const rows = Object.entries(body.tables).flatMap(([table, owners]) =>
          Object.entries(owners).map(([partition, o]) => ({ table, partition: Number(partition), active: o.active ?? '(none)', standbys: o.standbys.join(', ') || '(none)' })),
        )
        if (json) process.stdout.write(`${JSON.stringify(body)}\n`)
        else printTable(rows, ['table', 'partition', 'active', 'standbys'], false)
        return
      }
      const app = await appFrom(cmd)
      const rows = app.web.routes.map((r) => ({ method: r.method, path: r.path, origin: r.origin, help: r.help }))
      printTable(rows, ['method', 'path', 'origin', 'help'], json)
    })

  program
    .command('reset')
    .description("Delete the app's local table state (<datadir>/tables); tables are rebuilt from their changelogs on the next start")
    .action(async (_opts: unknown, cmd: Command) => {
      const app = await appFrom(cmd)
      const dir = join(app.conf.datadir, 'tables')
      const existed = existsSync(dir)
      rmSync(dir, { recursive: true, force: true })
      const result = { datadir: app.conf.datadir, removed: existed ? dir : null }
      process.stdout.write(globals(cmd).json === true ? `${JSON.stringify(result)}\n` : existed ? `removed ${dir}\n` : `nothing to remove (${dir} does not exist)\n`)
    })

  program
    .command('models')
    .description('List the records (models) the app defines')
    .action(async (_opts: unknown, cmd: Command) => {
      await appFrom(cmd)
      const rows = records().map((r) => {
        const fields = describeFields(r)
        return { name: r.name, namespace: r.namespace, fields: fields === undefined ? '?' : fields.length, serializer: r.serializer ?? 'json' }
      })
      printTable(rows, ['name', 'namespace', 'fields', 'serializer'], globals(cmd).json === true)
    })

  program
    .command('model')
    .description('Show the fields and types of one record')
    .argument('<name>', 'record name or namespace')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await appFrom(cmd)
      const record = findRecord(name)
      if (record === undefined) {
        const known = records().map((r) => r.name).join(', ')
        throw new UsageError(`unknown model "${name}"; known: ${known || '(none)'}`)
      }
      const fields = describeFields(record)
      if (fields === undefined) {
        throw new UsageError(`model ${record.name} uses a ${record.schema['~standard'].vendor} schema, whose fields faust-ts cannot list (zod can)`)
      }
      printTable(fields.map((f) => ({ ...f })), ['field', 'type', 'required', 'default'], globals(cmd).json === true)
    })

  program
    .command('settings')
    .description('List every setting with its environment variable and default')
    .action((_opts: unknown, cmd: Command) => {
      printTable(settingsTable(), ['setting', 'env', 'default', 'doc'], globals(cmd).json === true)
    })

  return program
}

/** Run the CLI; resolves with the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram()
  let debug = argv.includes('--debug')
  try {
    await program.parseAsync(argv)
    debug = program.opts<GlobalOptions>().debug === true
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the message (or help/version, which exit 0).
      return err.exitCode === 0 ? 0 : 2
    }
    const message = err instanceof FaustError || err instanceof UsageError ? err.message : describeError(err)
    process.stderr.write(`faust-ts: error: ${message}\n`)
    if (debug && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`)
    return 2
  }
}

/** The bin entry: run, then exit once output is flushed (or after a grace period if handles linger). */
export async function run(): Promise<void> {
  const code = await main()
  process.exitCode = code
  setTimeout(() => process.exit(code), 1500).unref()
}
