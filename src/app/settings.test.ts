import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { describe, test } from 'node:test'
import { ImproperlyConfigured } from '../errors.ts'
import { silentLogger } from '../types/logging.ts'
import type { Settings } from '../types/settings.ts'
import { systemClock, VirtualClock } from '../utils/time.ts'
import { envName, resolveSettings, settingsTable, VERSION } from './settings.ts'

/** Assert that `fn` throws ImproperlyConfigured whose message matches every pattern. */
function throwsConfig(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ImproperlyConfigured, `expected ImproperlyConfigured, got ${String(err)}`)
    assert.equal(err.code, 'FAUST_ERR_IMPROPERLY_CONFIGURED')
    for (const p of patterns) assert.match(err.message, p)
    return true
  })
}

describe('settings defaults', () => {
  test("Faust's defaults with an empty environment", () => {
    const s = resolveSettings('my-app', {}, {})
    const expected: Partial<Settings> = {
      broker: 'memory://',
      store: 'memory://',
      processingGuarantee: 'at_least_once',
      topicPartitions: 8,
      topicReplicationFactor: 1,
      topicAllowDeclare: true,
      streamBufferMaxsize: 4096,
      streamWaitEmpty: true,
      streamProcessingTimeout: 300,
      brokerCommitEvery: 10_000,
      brokerCommitInterval: 2.8,
      brokerClientId: `faust-ts-${VERSION}`,
      brokerSessionTimeout: 60,
      brokerHeartbeatInterval: 3,
      brokerRebalanceTimeout: 60,
      brokerRequestTimeout: 90,
      brokerMaxPollRecords: undefined,
      consumerAutoOffsetReset: 'earliest',
      consumerMaxFetchSize: 1024 * 1024,
      keySerializer: 'raw',
      valueSerializer: 'json',
      producerAcks: -1,
      producerLinger: 0,
      producerMaxBatchSize: 16_384,
      producerCompressionType: 'none',
      producerRequestTimeout: 1200,
      producerIdempotence: false,
      errorPolicy: 'skip',
      agentSupervisor: 'one_for_one',
      webEnabled: true,
      webPort: 6066,
      webBind: '0.0.0.0',
      webHost: hostname(),
      datadir: 'my-app-data',
      tabledir: 'tables',
      tableStandbyReplicas: 1,
      tableCleanupInterval: 1,
      timezone: 'UTC',
      loglevel: 'info',
      version: 1,
      shutdownTimeout: 30,
    }
    for (const [name, value] of Object.entries(expected)) {
      assert.deepEqual(s[name as keyof Settings], value, name)
    }
    assert.equal(s.clock, systemClock)
    assert.equal(s.logger, undefined)
    // Every setting in the table has an expected default here (a new setting needs one).
    assert.deepEqual(settingsTable().map((r) => r.setting).sort(), Object.keys(expected).sort())
  })

  test('datadir depends on the app id', () => {
    assert.equal(resolveSettings('a', {}, {}).datadir, 'a-data')
    assert.equal(resolveSettings('b', {}, {}).datadir, 'b-data')
  })

  test('clock and logger pass through', () => {
    const clock = new VirtualClock()
    const s = resolveSettings('x', { clock, logger: silentLogger }, {})
    assert.equal(s.clock, clock)
    assert.equal(s.logger, silentLogger)
  })

  test('reads process.env when no env is given', () => {
    const before = process.env.FAUST_TOPIC_PARTITIONS
    process.env.FAUST_TOPIC_PARTITIONS = '5'
    try {
      assert.equal(resolveSettings('x').topicPartitions, 5)
    } finally {
      if (before === undefined) delete process.env.FAUST_TOPIC_PARTITIONS
      else process.env.FAUST_TOPIC_PARTITIONS = before
    }
  })
})

describe('settings environment variables', () => {
  test('envName is FAUST_ plus UPPER_SNAKE_CASE', () => {
    assert.equal(envName('brokerCommitInterval'), 'FAUST_BROKER_COMMIT_INTERVAL')
    assert.equal(envName('broker'), 'FAUST_BROKER')
    assert.equal(envName('webPort'), 'FAUST_WEB_PORT')
    assert.equal(envName('datadir'), 'FAUST_DATADIR')
  })

  test('precedence: explicit value > FAUST_* variable > default', () => {
    const env = { FAUST_TOPIC_PARTITIONS: '3', FAUST_LOGLEVEL: 'debug' }
    assert.equal(resolveSettings('x', {}, {}).topicPartitions, 8)
    assert.equal(resolveSettings('x', {}, env).topicPartitions, 3)
    assert.equal(resolveSettings('x', { topicPartitions: 12 }, env).topicPartitions, 12)
    assert.equal(resolveSettings('x', { topicPartitions: 12 }, env).loglevel, 'debug')
  })

  test('an explicit undefined falls through to the environment', () => {
    assert.equal(resolveSettings('x', { topicPartitions: undefined }, { FAUST_TOPIC_PARTITIONS: '4' }).topicPartitions, 4)
  })

  test("Faust's BROKER_URL, STORE_URL and WEB_PORT aliases are read; FAUST_* wins over them", () => {
    const aliases = { BROKER_URL: 'kafka://alias:9092', STORE_URL: 'rocksdb://', WEB_PORT: '8000' }
    const s = resolveSettings('x', {}, aliases)
    assert.equal(s.broker, 'kafka://alias:9092')
    assert.equal(s.store, 'rocksdb://')
    assert.equal(s.webPort, 8000)
    const both = resolveSettings('x', {}, { ...aliases, FAUST_BROKER: 'kafka://faust:9092', FAUST_WEB_PORT: '9000' })
    assert.equal(both.broker, 'kafka://faust:9092')
    assert.equal(both.webPort, 9000)
    assert.equal(resolveSettings('x', { broker: 'memory://explicit' }, aliases).broker, 'memory://explicit')
  })

  test('every kind parses from its variable', () => {
    const s = resolveSettings(
      'x',
      {},
      {
        FAUST_BROKER_COMMIT_INTERVAL: '0.5',
        FAUST_TOPIC_ALLOW_DECLARE: 'false',
        FAUST_PRODUCER_IDEMPOTENCE: 'YES',
        FAUST_WEB_ENABLED: 'off',
        FAUST_STREAM_WAIT_EMPTY: '0',
        FAUST_PROCESSING_GUARANTEE: 'exactly_once',
        FAUST_CONSUMER_AUTO_OFFSET_RESET: 'latest',
        FAUST_AGENT_SUPERVISOR: 'crashing',
        FAUST_BROKER_MAX_POLL_RECORDS: '500',
        FAUST_PRODUCER_ACKS: '-1',
        FAUST_TIMEZONE: 'Europe/Oslo',
      },
    )
    assert.equal(s.brokerCommitInterval, 0.5)
    assert.equal(s.topicAllowDeclare, false)
    assert.equal(s.producerIdempotence, true)
    assert.equal(s.webEnabled, false)
    assert.equal(s.streamWaitEmpty, false)
    assert.equal(s.processingGuarantee, 'exactly_once')
    assert.equal(s.consumerAutoOffsetReset, 'latest')
    assert.equal(s.agentSupervisor, 'crashing')
    assert.equal(s.brokerMaxPollRecords, 500)
    assert.equal(s.producerAcks, -1)
    assert.equal(s.timezone, 'Europe/Oslo')
  })

  test('an empty optional integer means unset', () => {
    assert.equal(resolveSettings('x', {}, { FAUST_BROKER_MAX_POLL_RECORDS: '' }).brokerMaxPollRecords, undefined)
  })

  test('bad values give ImproperlyConfigured naming the variable and the setting', () => {
    throwsConfig(() => resolveSettings('x', {}, { FAUST_TOPIC_PARTITIONS: 'eight' }), /FAUST_TOPIC_PARTITIONS/, /topicPartitions/, /integer/)
    throwsConfig(() => resolveSettings('x', {}, { FAUST_TOPIC_PARTITIONS: '2.5' }), /FAUST_TOPIC_PARTITIONS/, /integer/)
    throwsConfig(() => resolveSettings('x', {}, { FAUST_BROKER_COMMIT_INTERVAL: 'soon' }), /FAUST_BROKER_COMMIT_INTERVAL/, /number/)
    throwsConfig(() => resolveSettings('x', {}, { FAUST_BROKER_COMMIT_INTERVAL: 'Infinity' }), /FAUST_BROKER_COMMIT_INTERVAL/)
    throwsConfig(() => resolveSettings('x', {}, { FAUST_WEB_ENABLED: 'maybe' }), /FAUST_WEB_ENABLED/, /true or false/)
    throwsConfig(
      () => resolveSettings('x', {}, { FAUST_PROCESSING_GUARANTEE: 'at_most_once' }),
      /FAUST_PROCESSING_GUARANTEE/,
      /at_least_once, exactly_once/,
    )
    throwsConfig(() => resolveSettings('x', {}, { FAUST_BROKER_MAX_POLL_RECORDS: 'many' }), /FAUST_BROKER_MAX_POLL_RECORDS/)
    throwsConfig(() => resolveSettings('x', {}, { WEB_PORT: 'http' }), /WEB_PORT/, /webPort/)
  })

  test('a bad variable is ignored when an explicit value is given', () => {
    assert.equal(resolveSettings('x', { webEnabled: true }, { FAUST_WEB_ENABLED: 'maybe' }).webEnabled, true)
  })

  test(
    'an empty or blank integer/float variable is rejected, not read as 0',

    () => {
      throwsConfig(() => resolveSettings('x', {}, { FAUST_PRODUCER_ACKS: '' }), /FAUST_PRODUCER_ACKS/)
      throwsConfig(() => resolveSettings('x', {}, { FAUST_WEB_PORT: ' ' }), /FAUST_WEB_PORT/)
      throwsConfig(() => resolveSettings('x', {}, { FAUST_PRODUCER_LINGER: '' }), /FAUST_PRODUCER_LINGER/)
    },
  )

  test(
    'a variable that parses but fails validation is named in the error',

    () => {
      throwsConfig(() => resolveSettings('x', {}, { FAUST_TOPIC_PARTITIONS: '0' }), /FAUST_TOPIC_PARTITIONS/)
      throwsConfig(() => resolveSettings('x', {}, { BROKER_URL: 'redis://localhost' }), /BROKER_URL/)
    },
  )
})

describe('settings validation', () => {
  test('counts and intervals must be positive', () => {
    for (const name of ['topicPartitions', 'streamBufferMaxsize', 'brokerCommitEvery', 'brokerCommitInterval'] as const) {
      throwsConfig(() => resolveSettings('x', { [name]: 0 }, {}), new RegExp(`${name} must be a positive number, got 0`))
      throwsConfig(() => resolveSettings('x', { [name]: -1 }, {}), new RegExp(name))
      throwsConfig(() => resolveSettings('x', { [name]: Number.NaN }, {}), new RegExp(name))
    }
    assert.equal(resolveSettings('x', { brokerCommitInterval: 0.001 }, {}).brokerCommitInterval, 0.001)
  })

  test('the broker URL needs a known scheme', () => {
    throwsConfig(() => resolveSettings('x', { broker: 'redis://localhost' }, {}), /redis:\/\/localhost/, /unknown scheme/)
    throwsConfig(() => resolveSettings('x', { broker: 'localhost:9092' }, {}), /unknown scheme/)
    for (const ok of ['memory://', 'memory://named', 'kafka://localhost:9092', 'kafka://a:1;b:2', 'aiokafka://h:9092']) {
      assert.equal(resolveSettings('x', { broker: ok }, {}).broker, ok)
    }
  })

  test('brokerSessionTimeout may not exceed brokerRequestTimeout', () => {
    throwsConfig(
      () => resolveSettings('x', { brokerSessionTimeout: 100, brokerRequestTimeout: 90 }, {}),
      /brokerSessionTimeout must not exceed brokerRequestTimeout/,
    )
    assert.equal(resolveSettings('x', { brokerSessionTimeout: 90, brokerRequestTimeout: 90 }, {}).brokerSessionTimeout, 90)
  })
})

describe('settingsTable', () => {
  test('lists every setting with its variable(s), default and a description', () => {
    const table = settingsTable()
    const byName = new Map(table.map((r) => [r.setting, r]))
    assert.equal(byName.size, table.length, 'no duplicate rows')
    for (const row of table) {
      assert.ok(row.env.startsWith(envName(row.setting)), row.setting)
      assert.ok(row.doc.length > 0, `${row.setting} has a description`)
      assert.ok(row.default.length > 0, `${row.setting} has a default`)
    }
    assert.equal(byName.get('broker')?.env, 'FAUST_BROKER, BROKER_URL')
    assert.equal(byName.get('store')?.env, 'FAUST_STORE, STORE_URL')
    assert.equal(byName.get('webPort')?.env, 'FAUST_WEB_PORT, WEB_PORT')
    assert.equal(byName.get('topicPartitions')?.default, '8')
    assert.equal(byName.get('broker')?.default, '"memory://"')
    assert.equal(byName.get('brokerMaxPollRecords')?.default, 'unset')
    assert.equal(byName.get('webHost')?.default, '(hostname)')
    assert.equal(byName.get('datadir')?.default, '<id>-data')
    assert.equal(byName.has('clock'), false)
    assert.equal(byName.has('logger'), false)
  })

  test('every variable in the table is read by resolveSettings', () => {
    // Set each variable to a value the setting accepts and check it arrives.
    for (const row of settingsTable()) {
      for (const variable of row.env.split(', ')) {
        const current = resolveSettings('x', {}, {})[row.setting as keyof Settings]
        let raw: string
        let want: unknown
        if (typeof current === 'boolean') {
          raw = current ? 'false' : 'true'
          want = !current
        } else if (typeof current === 'number' || current === undefined) {
          raw = '77' // below the 90s request timeout, so the session-timeout check still passes
          want = Number(raw)
        } else if (row.setting === 'broker' || row.setting === 'store') {
          raw = want = 'memory://from-env'
        } else if (row.setting === 'processingGuarantee') {
          raw = want = 'exactly_once'
        } else if (row.setting === 'consumerAutoOffsetReset') {
          raw = want = 'latest'
        } else if (row.setting === 'producerCompressionType') {
          raw = want = 'zstd'
        } else if (row.setting === 'agentSupervisor') {
          raw = want = 'one_for_all'
        } else if (row.setting === 'errorPolicy') {
          raw = want = 'dlq'
        } else {
          raw = want = `value-of-${variable}`
        }
        const got = resolveSettings('x', {}, { [variable]: raw })[row.setting as keyof Settings]
        assert.deepEqual(got, want, `${variable} -> ${row.setting}`)
      }
    }
  })
})
