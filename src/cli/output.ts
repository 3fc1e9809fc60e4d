/**
 * CLI output: aligned tables for people, JSON for scripts.
 * @module
 */

export type Row = Record<string, string | number | boolean | null | undefined>

/** Print rows as an aligned table, or as a JSON array with `--json`. */
export function printTable(rows: Row[], columns: string[], json: boolean, out: NodeJS.WritableStream = process.stdout): void {
  if (json) {
    out.write(`${JSON.stringify(rows)}\n`)
    return
  }
  if (rows.length === 0) {
    out.write('(none)\n')
    return
  }
  const cell = (v: Row[string]) => (v === undefined || v === null ? '' : String(v))
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)))
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()
  out.write(`${line(columns.map((c) => c.toUpperCase()))}\n`)
  for (const r of rows) out.write(`${line(columns.map((c) => cell(r[c])))}\n`)
}
