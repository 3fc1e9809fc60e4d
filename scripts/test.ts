/**
 * `npm test`: every test in one node:test run. When integration tests are selected it starts the
 * project's Kafka broker first (unless KAFKA_BOOTSTRAP_SERVERS points at one) and stops it after.
 *
 *   npm test                     # everything
 *   npm test -- --unit           # unit and in-process app tests only (no broker)
 *   npm test -- test/app/x.test.ts   # just these files
 */
import { spawnSync } from 'node:child_process'
import { globSync } from 'node:fs'

const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
const files = args.filter((a) => !a.startsWith('--'))
const unitGlobs = ['src/**/*.test.ts', 'test/app/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/unit/**/*.test.ts']
const integrationGlobs = ['test/integration/**/*.test.ts']
const selected =
  files.length > 0 ? files : [...unitGlobs, ...(unitOnly ? [] : integrationGlobs)].flatMap((g) => globSync(g)).sort()
const needsKafka = selected.some((f) => f.includes('integration'))

function sh(cmd: string, cmdArgs: string[]): number {
  return spawnSync(cmd, cmdArgs, { stdio: 'inherit' }).status ?? 1
}

/** Whether something accepts connections on 127.0.0.1:9092 (a broker left running by `npm run kafka -- start`). */
async function brokerRunning(): Promise<boolean> {
  const { connect } = await import('node:net')
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 9092 })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

let startedBroker = false
if (needsKafka && process.env.KAFKA_BOOTSTRAP_SERVERS === undefined && (await brokerRunning())) {
  process.env.KAFKA_BOOTSTRAP_SERVERS = '127.0.0.1:9092'
}
if (needsKafka && process.env.KAFKA_BOOTSTRAP_SERVERS === undefined) {
  if (sh('bash', ['scripts/kafka-broker.sh', 'start']) !== 0) {
    console.error('npm test: could not start the Kafka broker (see above); set KAFKA_BOOTSTRAP_SERVERS to use another')
    process.exit(1)
  }
  startedBroker = true
  process.env.KAFKA_BOOTSTRAP_SERVERS = '127.0.0.1:9092'
}

const status = sh(process.execPath, [
  '--test',
  '--test-reporter=spec',
  '--test-concurrency=1',
  '--test-timeout=300000',
  ...selected,
])

if (startedBroker) sh('bash', ['scripts/kafka-broker.sh', 'stop'])
process.exit(status)
