/**
 * `npm run bench -- <name> [--messages N]`: run one benchmark from bench/<name>.ts. Progress goes
 * to stderr; the last line on stdout is one JSON object with the figures and the ratio to the
 * reference measured in the same run.
 */
import { existsSync, readdirSync } from 'node:fs'

const [name, ...rest] = process.argv.slice(2)
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''))
if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [options]\nbenchmarks: ${available.join(', ')}`)
  process.exit(name === undefined ? 0 : 2)
}
const file = new URL(`./${name}.ts`, import.meta.url)
if (!existsSync(file)) process.exit(2)
const mod = (await import(file.href)) as { run(args: string[]): Promise<Record<string, unknown>> }
const result = await mod.run(rest)
process.stdout.write(`${JSON.stringify({ name, ...result })}\n`)
process.exit(0)
