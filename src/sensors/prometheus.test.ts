import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { metricSpecs } from './prometheus.ts'

test('docs/metrics.md lists every metric with its type and labels, and nothing else', () => {
  const rows = new Map<string, string>()
  for (const line of readFileSync('docs/metrics.md', 'utf8').split('\n')) {
    const m = /^\| `(faust_[a-z_]+)` \| (counter|gauge) \| ([^|]*) \|/.exec(line)
    if (m) rows.set(m[1]!, `${m[2]} ${m[3]!.trim()}`)
  }
  for (const spec of metricSpecs) {
    assert.equal(rows.get(spec.name), `${spec.type} ${(spec.labels ?? []).map((l) => `\`${l}\``).join(', ')}`, spec.name)
    assert.equal(spec.type === 'counter', spec.name.endsWith('_total'), `${spec.name}: counters and only counters end in _total`)
  }
  assert.deepEqual([...rows.keys()].sort(), metricSpecs.map((s) => s.name).sort())
})
