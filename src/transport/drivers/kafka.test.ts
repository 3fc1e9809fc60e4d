import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { resolveSettings } from '../../app/settings.ts'
import { ImproperlyConfigured } from '../../errors.ts'
import { silentLogger } from '../../types/logging.ts'
import { KafkaTransport, parseBrokers, securityFromEnv } from './kafka.ts'

test('parseBrokers accepts kafka:// URLs, ; and , separators, and adds the default port', () => {
  assert.deepEqual(parseBrokers('kafka://h1:9093'), ['h1:9093'])
  assert.deepEqual(parseBrokers('kafka://h1:9092;h2:9093'), ['h1:9092', 'h2:9093'])
  assert.deepEqual(parseBrokers('kafka://h1, kafka://h2:19092/'), ['h1:9092', 'h2:19092'])
  assert.deepEqual(parseBrokers('aiokafka://localhost'), ['localhost:9092'])
  assert.throws(() => parseBrokers('kafka://'), ImproperlyConfigured)
})

test('security settings map to kafkajs sasl and ssl options', () => {
  assert.deepEqual(securityFromEnv({}), {})
  assert.deepEqual(
    securityFromEnv({ FAUST_BROKER_SASL_MECHANISM: 'SCRAM-SHA-512', FAUST_BROKER_SASL_USERNAME: 'u', FAUST_BROKER_SASL_PASSWORD: 'p' }),
    { sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } },
  )
  assert.deepEqual(securityFromEnv({ FAUST_BROKER_SASL_MECHANISM: 'plain', FAUST_BROKER_SASL_USERNAME: 'a', FAUST_BROKER_SASL_PASSWORD: 'b' }).sasl, {
    mechanism: 'plain',
    username: 'a',
    password: 'b',
  })
  assert.deepEqual(securityFromEnv({ FAUST_BROKER_SSL: 'true', FAUST_BROKER_SSL_CA: 'PEM', FAUST_BROKER_SSL_REJECT_UNAUTHORIZED: 'false' }), {
    ssl: { rejectUnauthorized: false, ca: ['PEM'] },
  })
  assert.deepEqual(securityFromEnv({ FAUST_BROKER_SSL: '1' }), { ssl: { rejectUnauthorized: true } })
  assert.throws(() => securityFromEnv({ FAUST_BROKER_SASL_MECHANISM: 'gssapi' }), /use plain, scram-sha-256 or scram-sha-512/)
})

test('snappy and lz4 are refused up front on the kafka driver; gzip and zstd are accepted', () => {
  const conf = resolveSettings('x', { broker: 'kafka://127.0.0.1:1' }, {})
  const transport = new KafkaTransport('kafka://127.0.0.1:1', conf, {})
  const options = { clientId: 'c', acks: -1, lingerMs: 0, maxBatchSize: 1, idempotent: false, requestTimeoutMs: 1000, log: silentLogger }
  assert.throws(() => transport.createProducer({ ...options, compression: 'snappy' }), /snappy is not available/)
  assert.throws(() => transport.createProducer({ ...options, compression: 'lz4' }), ImproperlyConfigured)
  assert.ok(transport.createProducer({ ...options, compression: 'zstd' }))
  assert.ok(transport.createProducer({ ...options, compression: 'gzip' }))
})

test('kafkajs groups a batch per partition in order, in linear time (the driver replaced the quadratic version)', () => {
  const require = createRequire(import.meta.url)
  const group = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (args: {
    topic: string
    partitionMetadata: unknown[]
    messages: Array<{ n: number }>
    partitioner: (a: { message: { n: number } }) => number
  }) => Record<number, Array<{ n: number }>>
  const messages = Array.from({ length: 200_000 }, (_, n) => ({ n }))
  const started = performance.now()
  const out = group({ topic: 't', partitionMetadata: [{}, {}], messages, partitioner: ({ message }) => message.n % 2 })
  const ms = performance.now() - started
  assert.equal(out[0]!.length, 100_000)
  assert.deepEqual(out[1]!.slice(0, 3).map((m) => m.n), [1, 3, 5])
  // The upstream version copies the partition's array per message: minutes for 200,000.
  assert.ok(ms < 2000, `grouping took ${ms} ms`)
})
