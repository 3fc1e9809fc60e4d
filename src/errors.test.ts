import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import * as errors from './errors.ts'
import { describeError, errorCodes, FaustError, Skip, toError } from './errors.ts'

const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')

/** The `## FAUST_ERR_...` sections of docs/errors.md, by code. */
function sections(): Map<string, string> {
  const out = new Map<string, string>()
  const parts = docs.split(/^## /m).slice(1)
  for (const part of parts) {
    const newline = part.indexOf('\n')
    out.set(part.slice(0, newline).trim(), part.slice(newline + 1))
  }
  return out
}

type ErrorClass = new (...args: never[]) => FaustError

/** Every exported subclass of FaustError. */
const errorClasses: ErrorClass[] = (Object.values(errors) as unknown[]).filter(
  (v): v is ErrorClass => typeof v === 'function' && v.prototype instanceof FaustError,
)

/** Classes that another exported class extends (DecodeError, EncodeError): bases without a code of their own. */
const bases = new Set(errorClasses.filter((c) => errorClasses.some((other) => other !== c && other.prototype instanceof c)))
const concrete = errorClasses.filter((c) => !bases.has(c))

/** Build an instance: (message, [pending|issues], options) covers every constructor in errors.ts. */
function instantiate(cls: ErrorClass): FaustError {
  const Ctor = cls as unknown as new (message: string, second?: unknown, third?: unknown) => FaustError
  const context = { topic: 't', partition: 1 }
  // Two-argument constructors take the options second; three-argument ones take a list second.
  return Ctor.length >= 3 ? new Ctor('message', [], context) : new Ctor('message', context)
}

describe('error codes', () => {
  test('errorCodes has no duplicates and every code is FAUST_ERR_ in upper snake case', () => {
    assert.equal(new Set(errorCodes).size, errorCodes.length)
    for (const code of errorCodes) assert.match(code, /^FAUST_ERR_[A-Z0-9_]+$/)
  })

  test('there are concrete error classes and the code-less bases are the two known ones', () => {
    assert.ok(concrete.length >= errorCodes.length)
    assert.deepEqual([...bases].map((c) => c.name).sort(), ['DecodeError', 'EncodeError'])
  })

  test('every concrete error class has its own code from errorCodes', () => {
    const byCode = new Map<string, string>()
    for (const cls of concrete) {
      const err = instantiate(cls)
      assert.ok(err instanceof Error)
      assert.equal(err.name, cls.name, 'name is the class name')
      assert.ok((errorCodes as readonly string[]).includes(err.code), `${cls.name}: ${err.code} is not in errorCodes`)
      const previous = byCode.get(err.code)
      assert.equal(previous, undefined, `${cls.name} and ${previous} share ${err.code}`)
      byCode.set(err.code, cls.name)
      assert.equal(err.topic, 't', `${cls.name} keeps its context`)
      assert.equal(err.partition, 1)
    }
    // And no code is left without a class.
    assert.deepEqual([...byCode.keys()].sort(), [...errorCodes].sort())
  })

  test('every code has a section in docs/errors.md, and every section is a code', () => {
    const documented = sections()
    for (const code of errorCodes) assert.ok(documented.has(code), `docs/errors.md has no "## ${code}" section`)
    assert.deepEqual([...documented.keys()].sort(), [...errorCodes].sort(), 'docs/errors.md documents codes that do not exist')
  })

  test('each section names its class and says what to do', () => {
    const documented = sections()
    for (const cls of concrete) {
      const code = instantiate(cls).code
      const body = documented.get(code) ?? ''
      assert.ok(body.includes(`\`${cls.name}\``), `the ${code} section names ${cls.name}`)
      assert.match(body, /\*\*What to do:\*\*/, `the ${code} section says what to do`)
    }
  })
})

describe('FaustError', () => {
  test('keeps the cause and reports only the context fields that are set', () => {
    const cause = new Error('root')
    const err = new errors.ValueDecodeError('bad value', { topic: 'orders', partition: 2, offset: 41, cause })
    assert.equal(err.cause, cause)
    assert.equal(err.code, 'FAUST_ERR_VALUE_DECODE')
    assert.ok(err instanceof errors.DecodeError)
    assert.deepEqual(err.context(), { topic: 'orders', partition: 2, offset: 41 })
    const bare = new errors.NotReady('x')
    assert.equal(bare.cause, undefined)
    assert.equal('cause' in bare, false)
    assert.deepEqual(bare.context(), {})
  })

  test('subclass-specific fields are kept', () => {
    const timeout = new errors.ServiceStopTimeout('hung', ['fetcher'])
    assert.deepEqual(timeout.pending, ['fetcher'])
    const invalid = new errors.ValidationError('bad', [{ message: 'required', path: ['id'] }])
    assert.deepEqual(invalid.issues, [{ message: 'required', path: ['id'] }])
  })

  test('Skip is not a FaustError', () => {
    const skip = new Skip()
    assert.equal(skip.name, 'Skip')
    assert.equal(skip instanceof FaustError, false)
  })

  test('describeError and toError handle anything thrown', () => {
    assert.equal(describeError(new errors.UnknownCodec('no codec')), 'UnknownCodec: no codec')
    assert.equal(describeError('plain'), 'plain')
    assert.equal(describeError(undefined), 'undefined')
    const e = new Error('x')
    assert.equal(toError(e), e)
    const wrapped = toError(42)
    assert.ok(wrapped instanceof Error)
    assert.equal(wrapped.message, '42')
  })
})
