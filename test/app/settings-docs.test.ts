import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { settingsTable } from '../../src/index.ts'

test('docs/settings.md lists every setting with its environment variables and default', () => {
  const doc = readFileSync('docs/settings.md', 'utf8')
  for (const row of settingsTable()) {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${row.setting}\` |`))
    assert.ok(line !== undefined, `docs/settings.md has no row for ${row.setting}`)
    for (const env of row.env.split(', ')) assert.ok(line.includes(`\`${env}\``), `${row.setting}: ${env} missing`)
    assert.ok(line.includes(`\`${row.default}\``), `${row.setting}: default ${row.default} missing`)
  }
})
