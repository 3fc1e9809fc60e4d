/**
 * Helpers for tests against the real Kafka broker (started by `npm test`, or the one
 * KAFKA_BOOTSTRAP_SERVERS names). Every test uses unique topic and group names and deletes them.
 */
// The driver first: it filters kafkajs' harmless TimeoutNegativeWarning and fixes its batch grouping.
import '../../src/transport/drivers/kafka.ts'
import { randomUUID } from 'node:crypto'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { type Admin, Kafka, logLevel } from 'kafkajs'

export const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092'
export const brokerUrl = `kafka://${bootstrap.split(',').join(';')}`

export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

export const kafka = new Kafka({ clientId: 'faust-ts-tests', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING })

/** An admin client that deletes the topics and groups registered with it when the test ends. */
export async function testAdmin(t: { after(fn: () => Promise<void>): void }) {
  const admin: Admin = kafka.admin()
  await admin.connect()
  const topics = new Set<string>()
  const groups = new Set<string>()
  const services: Array<{ stop(): Promise<void> }> = []
  t.after(async () => {
    // Stop apps before their topics disappear under them.
    for (const s of services.reverse()) await s.stop().catch(() => {})
    if (groups.size > 0) await admin.deleteGroups([...groups]).catch(() => {})
    const existing = new Set(await admin.listTopics())
    const doomed = [...topics].filter((n) => existing.has(n))
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed }).catch(() => {})
    await admin.disconnect()
  })
  return {
    admin,
    /** Stop this (an app) at the end of the test, before topics are deleted. */
    stopLater<S extends { stop(): Promise<void> }>(service: S): S {
      services.push(service)
      return service
    },
    /** Create a topic now and delete it at the end. */
    async topic(name: string, partitions: number, config: Record<string, string> = {}) {
      topics.add(name)
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: name, numPartitions: partitions, configEntries: Object.entries(config).map(([n, v]) => ({ name: n, value: v })) }],
      })
      return name
    },
    /** Delete at the end (for topics the app creates, and groups). */
    cleanupTopic(name: string) {
      topics.add(name)
    },
    cleanupGroup(name: string) {
      groups.add(name)
    },
    async committed(group: string, topic: string): Promise<Map<number, number>> {
      const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
    },
  }
}

/** Poll `check` until it returns true (`what` may be a function, to describe the state at the timeout). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A worker process running a fixture app. */
export function startProcess(file: string, env: Record<string, string>, args: string[] = []) {
  // Each worker's web server on a port of its own (two workers of one test share the host).
  const child = spawn(process.execPath, [file, ...args], { env: { FAUST_WEB_PORT: '0', FAUST_WEB_HOST: '127.0.0.1', FAUST_WEB_BIND: '127.0.0.1', ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitFor(pattern: RegExp, timeoutMs = 60_000) {
      await eventually(() => pattern.test(stdout) || pattern.test(stderr), `${pattern} from ${file}\n--- stderr:\n${stderr.slice(-3000)}`, timeoutMs)
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
  }
}
