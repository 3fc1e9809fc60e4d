/** Shared helpers for benchmarks. */

export function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback
}

export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`)
}

export const round = (n: number, digits = 0) => Number(n.toFixed(digits))

/** Poll until `done()` is true, reporting progress every second. */
export async function waitUntil(done: () => boolean, describe: () => string, timeoutMs = 600_000): Promise<void> {
  const started = Date.now()
  let last = started
  while (!done()) {
    if (Date.now() - started > timeoutMs) throw new Error(`benchmark timed out: ${describe()}`)
    await new Promise((r) => setTimeout(r, 5))
    if (Date.now() - last >= 1000) {
      last = Date.now()
      progress(describe())
    }
  }
}
