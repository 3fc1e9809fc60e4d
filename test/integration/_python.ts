/** The Python outside clients (kafka-python, faust-streaming) in the project's venv. */
import { spawn, spawnSync } from 'node:child_process'
import { bootstrap } from './_kafka.ts'

let python: string | undefined

/** Create (once) the venv with the pinned clients and return its python. Takes ~12 s the first time. */
export function pythonPath(): string {
  if (python !== undefined) return python
  const r = spawnSync('bash', ['scripts/python-env.sh'], { encoding: 'utf8', timeout: 300_000 })
  if (r.status !== 0) throw new Error(`scripts/python-env.sh failed:\n${r.stderr}`)
  python = r.stdout.trim().split('\n').pop()!
  return python
}

/** Run test/interop/python/kafka_client.py and parse its JSON lines. */
export async function kafkaPython(args: string[], timeoutMs = 120_000): Promise<Array<Record<string, unknown>>> {
  const child = spawn(pythonPath(), ['test/interop/python/kafka_client.py', ...args], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', KAFKA_BOOTSTRAP_SERVERS: bootstrap },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  if (code !== 0) throw new Error(`kafka_client.py ${args.join(' ')} exited ${code}:\n${stderr}`)
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}
