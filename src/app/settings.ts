/**
 * Settings with Faust's defaults, each readable from an environment variable.
 *
 * Precedence (as in Faust): a value passed to `new App(id, settings)` wins; otherwise the
 * environment variable; otherwise the default. Every variable is `FAUST_` plus the setting's
 * name in UPPER_SNAKE_CASE (`brokerCommitInterval` → `FAUST_BROKER_COMMIT_INTERVAL`); Faust's own
 * `BROKER_URL`, `STORE_URL` and `WEB_PORT` are read too. The table in docs/settings.md is
 * generated from `settingsTable()` and checked by a test.
 * @module
 */
import { hostname } from 'node:os'
import { ImproperlyConfigured } from '../errors.ts'
import type { Settings, SettingsInput } from '../types/settings.ts'
import { systemClock } from '../utils/time.ts'

export const VERSION = '0.1.0'

type Kind = 'string' | 'int' | 'float' | 'bool' | 'enum' | 'optional-int'

interface Spec<K extends keyof Settings> {
  kind: Kind
  default: (id: string) => Settings[K]
  values?: readonly string[]
  aliases?: readonly string[]
  doc: string
}

type EnvSettings = Exclude<keyof Settings, 'clock' | 'logger'>

const specs: { [K in EnvSettings]: Spec<K> } = {
  broker: { kind: 'string', default: () => 'memory://', aliases: ['BROKER_URL'], doc: 'Transport URL' },
  store: { kind: 'string', default: () => 'memory://', aliases: ['STORE_URL'], doc: 'Default table store URL' },
  processingGuarantee: {
    kind: 'enum',
    values: ['at_least_once', 'exactly_once'],
    default: () => 'at_least_once',
    doc: 'at_least_once or exactly_once',
  },
  topicPartitions: { kind: 'int', default: () => 8, doc: 'Partitions of internal topics' },
  topicReplicationFactor: { kind: 'int', default: () => 1, doc: 'Replication factor of internal topics' },
  topicAllowDeclare: { kind: 'bool', default: () => true, doc: 'Create internal topics' },
  streamBufferMaxsize: { kind: 'int', default: () => 4096, doc: 'Events buffered per stream before pausing' },
  streamWaitEmpty: { kind: 'bool', default: () => true, doc: 'Wait for in-flight events on rebalance/stop' },
  streamProcessingTimeout: { kind: 'float', default: () => 300, doc: 'Seconds before a slow event is reported' },
  brokerCommitEvery: { kind: 'int', default: () => 10_000, doc: 'Commit after N acked messages' },
  brokerCommitInterval: { kind: 'float', default: () => 2.8, doc: 'Commit at least every N seconds' },
  brokerClientId: { kind: 'string', default: () => `faust-ts-${VERSION}`, doc: 'Kafka client id' },
  brokerSessionTimeout: { kind: 'float', default: () => 60, doc: 'Consumer group session timeout (s)' },
  brokerHeartbeatInterval: { kind: 'float', default: () => 3, doc: 'Consumer group heartbeat interval (s)' },
  brokerRebalanceTimeout: { kind: 'float', default: () => 60, doc: 'Consumer group rebalance timeout (s)' },
  brokerRequestTimeout: { kind: 'float', default: () => 90, doc: 'Kafka request timeout (s)' },
  brokerMaxPollRecords: { kind: 'optional-int', default: () => undefined, doc: 'Records per fetch (unset: driver default)' },
  consumerAutoOffsetReset: {
    kind: 'enum',
    values: ['earliest', 'latest'],
    default: () => 'earliest',
    doc: 'Where a group with no committed offset starts',
  },
  consumerMaxFetchSize: { kind: 'int', default: () => 1024 * 1024, doc: 'Bytes fetched per partition per request' },
  keySerializer: { kind: 'string', default: () => 'raw', doc: 'Default key codec' },
  valueSerializer: { kind: 'string', default: () => 'json', doc: 'Default value codec' },
  producerAcks: { kind: 'int', default: () => -1, doc: 'Producer acks: -1 (all), 1 or 0' },
  producerLinger: { kind: 'float', default: () => 0, doc: 'Seconds the producer waits to fill a batch' },
  producerMaxBatchSize: { kind: 'int', default: () => 16_384, doc: 'Producer batch size (bytes)' },
  producerCompressionType: {
    kind: 'enum',
    values: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    default: () => 'none',
    doc: 'Producer compression',
  },
  producerRequestTimeout: { kind: 'float', default: () => 1200, doc: 'Producer request timeout (s)' },
  producerIdempotence: { kind: 'bool', default: () => false, doc: 'Idempotent producer' },
  errorPolicy: {
    kind: 'enum',
    values: ['skip', 'dlq', 'fail'],
    default: () => 'skip',
    doc: 'Bad input and agent errors: skip, dlq or fail',
  },
  agentSupervisor: {
    kind: 'enum',
    values: ['one_for_one', 'one_for_all', 'crashing'],
    default: () => 'one_for_one',
    doc: 'What a crashed agent does',
  },
  webEnabled: { kind: 'bool', default: () => true, doc: 'Start the web server' },
  webPort: { kind: 'int', default: () => 6066, aliases: ['WEB_PORT'], doc: 'Web server port' },
  webBind: { kind: 'string', default: () => '0.0.0.0', doc: 'Web server bind address' },
  webHost: { kind: 'string', default: () => hostname(), doc: 'Host name in the advertised web URL' },
  datadir: { kind: 'string', default: (id) => `${id}-data`, doc: 'Directory for local state' },
  tabledir: { kind: 'string', default: () => 'tables', doc: 'Table stores, under datadir' },
  tableStandbyReplicas: { kind: 'int', default: () => 1, doc: 'Standby replicas per table partition' },
  tableCleanupInterval: { kind: 'float', default: () => 1, doc: 'Seconds between sweeps that close and expire windows, also on idle partitions (Faust: 30)' },
  timezone: { kind: 'string', default: () => 'UTC', doc: 'Default crontab timezone' },
  loglevel: { kind: 'string', default: () => 'info', doc: 'Log level' },
  version: { kind: 'int', default: () => 1, doc: 'App version (>1 changes the group id and topics)' },
  shutdownTimeout: { kind: 'float', default: () => 30, doc: 'Seconds a graceful shutdown may take' },
}

export function envName(setting: string): string {
  return `FAUST_${setting.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`
}

function parse(name: string, variable: string, spec: Spec<EnvSettings>, raw: string): unknown {
  const bad = (what: string) =>
    new ImproperlyConfigured(`environment variable ${variable}=${JSON.stringify(raw)} for ${name}: ${what}`)
  switch (spec.kind) {
    case 'string':
      return raw
    case 'int':
    case 'optional-int': {
      if (spec.kind === 'optional-int' && raw === '') return undefined
      if (raw.trim() === '') throw bad('expected an integer')
      const n = Number(raw)
      if (!Number.isInteger(n)) throw bad('expected an integer')
      return n
    }
    case 'float': {
      if (raw.trim() === '') throw bad('expected a number')
      const n = Number(raw)
      if (!Number.isFinite(n)) throw bad('expected a number')
      return n
    }
    case 'bool': {
      const v = raw.toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) return true
      if (['0', 'false', 'no', 'off'].includes(v)) return false
      throw bad('expected true or false')
    }
    case 'enum':
      if (!spec.values?.includes(raw)) throw bad(`expected one of ${spec.values?.join(', ')}`)
      return raw
  }
}

/** Resolve settings: explicit values, then environment, then defaults. */
export function resolveSettings(id: string, input: SettingsInput = {}, env: NodeJS.ProcessEnv = process.env): Settings {
  const out: Record<string, unknown> = {}
  /** Where each value came from, so a validation error can name the variable to fix. */
  const sources = new Map<string, string>()
  for (const [name, spec] of Object.entries(specs) as Array<[EnvSettings, Spec<EnvSettings>]>) {
    if (input[name] !== undefined) {
      out[name] = input[name]
      continue
    }
    const variables = [envName(name), ...(spec.aliases ?? [])]
    const variable = variables.find((v) => env[v] !== undefined)
    if (variable !== undefined) sources.set(name, variable)
    out[name] = variable === undefined ? spec.default(id) : parse(name, variable, spec, env[variable] ?? '')
  }
  out.clock = input.clock ?? systemClock
  out.logger = input.logger
  const settings = out as unknown as Settings
  validateSettings(settings, (name) => {
    const variable = sources.get(name)
    return variable === undefined ? `setting ${name}` : `setting ${name} (from environment variable ${variable})`
  })
  return settings
}

function validateSettings(s: Settings, origin: (name: string) => string): void {
  const positive: Array<keyof Settings> = ['topicPartitions', 'streamBufferMaxsize', 'brokerCommitEvery', 'brokerCommitInterval']
  for (const name of positive) {
    const v = s[name]
    if (typeof v !== 'number' || !(v > 0)) throw new ImproperlyConfigured(`${origin(name)} must be a positive number, got ${String(v)}`)
  }
  if (!/^(memory|kafka|aiokafka):\/\//.test(s.broker)) {
    throw new ImproperlyConfigured(
      `${origin('broker')}: URL ${JSON.stringify(s.broker)} has an unknown scheme: use memory:// or kafka://host:port`,
    )
  }
  if (s.brokerSessionTimeout > s.brokerRequestTimeout) {
    throw new ImproperlyConfigured(`${origin('brokerSessionTimeout')} must not exceed brokerRequestTimeout`)
  }
}

/** Every setting with its environment variable(s), default and description (for docs and `--help`). */
export function settingsTable(): Array<{ setting: string; env: string; default: string; doc: string }> {
  return (Object.entries(specs) as Array<[EnvSettings, Spec<EnvSettings>]>).map(([name, spec]) => ({
    setting: name,
    env: [envName(name), ...(spec.aliases ?? [])].join(', '),
    default: name === 'webHost' ? '(hostname)' : name === 'datadir' ? '<id>-data' : JSON.stringify(spec.default('<id>')) ?? 'unset',
    doc: spec.doc,
  }))
}
