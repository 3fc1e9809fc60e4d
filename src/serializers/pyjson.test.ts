import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pythonFloat, pythonJson } from './pyjson.ts'

test("pythonJson writes what Python Faust's json codec writes (golden strings from faust.utils.json.dumps, faust-streaming 0.15.3)", () => {
  // dumps(("page", (1699999950.0, 1700000009.9))) and friends.
  assert.equal(`[${pythonJson('page')},[${pythonFloat(1699999950)},${pythonFloat(1700000009.9)}]]`, '["page",[1699999950.0,1700000009.9]]')
  assert.equal(pythonJson('päge'), '"p\\u00e4ge"')
  assert.equal(pythonJson('😀'), '"\\ud83d\\ude00"')
  assert.equal(pythonJson('a"b\\c\n\u007f'), '"a\\"b\\\\c\\n\u007f"')
  assert.equal(pythonJson({ a: 1, b: [true, null, 2.5] }), '{"a":1,"b":[true,null,2.5]}')
  assert.equal(pythonJson(1e-7), '1e-07')
  assert.equal(pythonFloat(-50), '-50.0')
  assert.equal(pythonFloat(9.9), '9.9')
})
