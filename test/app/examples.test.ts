/** The examples run as their docs say, on the embedded broker, and print live results. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'

function demo(file: string, seconds: number) {
  const r = spawnSync(process.execPath, [file, '--demo'], { encoding: 'utf8', timeout: (seconds + 20) * 1000, env: { ...process.env, FAUST_WEB_PORT: '0', DEMO_SECONDS: String(seconds) } })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
}

test('word count demo: counts within seconds', () => {
  const out = demo('examples/word-count.ts', 3)
  const line = out.split('\n').find((l) => l.startsWith('[word-count]') && l.includes('posts'))
  assert.match(line ?? '', /\d+ posts, [1-9]\d* words counted; top: the=\d+/)
  assert.match(out, /\[word-count\] dashboard at http:\/\/localhost:\d+\//)
})

test('windowed page views demo: windows close on time, report through closed() and onWindowClose', () => {
  const out = demo('examples/windowed-page-views.ts', 14)
  const closed = out.split('\n').filter((l) => l.startsWith('[closed]'))
  assert.ok(closed.length >= 1, out)
  assert.match(closed[0]!, /^\[closed\] \d\d:\d\d:\d0 \/\S* ?: \d+ views$/)
  assert.match(out, /\[views\] \d+ sent; \d open window\(s\); this window: /)
  const reported = out.split('\n').filter((l) => l.startsWith('[report]')).length
  const busy = closed.filter((l) => Number(/: (\d+) views/.exec(l)?.[1]) >= 10).length
  assert.equal(reported, busy, 'the report agent saw every closed window through the closed() stream')
})
