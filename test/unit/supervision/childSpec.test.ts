import { describe, expect, it } from 'vitest'
import { errorCode } from '../../../runtime/index.ts'
import { childSpec, InvalidChildSpecError, RestartIntensity, validateChildSpec, type ChildSpec } from '../../../supervision/index.ts'
import { Probe } from './helpers.ts'

const log: string[] = []
const good = childSpec({ id: 'w', actor: Probe, args: ['w', log] })

function rejects(spec: unknown, message: RegExp): void {
  let thrown: unknown
  try {
    validateChildSpec(spec as ChildSpec)
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(InvalidChildSpecError)
  expect(errorCode(thrown)).toBe('ERR_INVALID_CHILD_SPEC')
  expect((thrown as Error).message).toMatch(message)
}

describe('child spec validation', () => {
  it('accepts a well-formed spec, with every option', () => {
    expect(() => validateChildSpec(good)).not.toThrow()
    expect(() =>
      validateChildSpec({ ...good, restart: 'transient', shutdown: 0, kind: 'worker', significant: true, backoff: { minMs: 1, maxMs: 1, randomFactor: 1, resetAfterMs: 5 } }),
    ).not.toThrow()
  })

  it('rejects an id that is not a valid actor name', () => {
    rejects({ ...good, id: 'a/b' }, /valid actor name/)
    rejects({ ...good, id: '' }, /valid actor name/)
    rejects({ ...good, id: 42 }, /valid actor name/)
  })

  it('rejects a spec without an actor class', () => {
    rejects({ ...good, actor: undefined }, /no actor class/)
  })

  it('rejects a negative or NaN shutdown', () => {
    rejects({ ...good, shutdown: -1 }, /shutdown must be/)
    rejects({ ...good, shutdown: Number.NaN }, /shutdown must be/)
  })

  it('rejects a backoff without 0 < minMs <= maxMs, or randomFactor outside [0, 1]', () => {
    rejects({ ...good, backoff: { minMs: 0, maxMs: 10 } }, /0 < minMs <= maxMs/)
    rejects({ ...good, backoff: { minMs: 20, maxMs: 10 } }, /0 < minMs <= maxMs/)
    rejects({ ...good, backoff: { minMs: 1, maxMs: 10, randomFactor: 1.5 } }, /randomFactor/)
    rejects({ ...good, backoff: { minMs: 1, maxMs: 10, randomFactor: -0.1 } }, /randomFactor/)
  })

  it('lists every problem of a spec in one error (data.problems)', () => {
    let thrown: unknown
    try {
      validateChildSpec({ id: 'a/b', shutdown: -1, restart: 'sometimes' } as unknown as ChildSpec)
    } catch (error) {
      thrown = error
    }
    expect(errorCode(thrown)).toBe('ERR_INVALID_CHILD_SPEC')
    expect((thrown as InvalidChildSpecError).data).toEqual({
      problems: [
        "child id 'a/b' must be a valid actor name (letters, digits, _-.~:@+=)",
        "child 'a/b' has no actor class and no start function",
        "child 'a/b': unknown restart type 'sometimes'",
        "child 'a/b': shutdown must be >= 0 ms, 'brutal' or 'infinity'",
      ],
    })
  })
})

describe('RestartIntensity', () => {
  it('counts the restarts inside the sliding window', () => {
    const budget = new RestartIntensity(2, 1000)
    expect(budget.record(0)).toBe(true)
    expect(budget.record(500)).toBe(true)
    expect(budget.count(999)).toBe(2)
    expect(budget.count(1000)).toBe(1)
    expect(budget.record(1000)).toBe(true)
    expect(budget.record(1400)).toBe(false)
  })
})
