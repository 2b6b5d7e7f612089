/** Retry backoff schedule and the validation of task records read from Redis (hostile until decoded). */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeTask, resolveBackoff, retryDelay } from '../../../../actors/index.ts'

// A fresh seed each run (fast-check prints it on failure); TQ_SEED replays one.
const SEED = process.env['TQ_SEED'] === undefined ? undefined : Number(process.env['TQ_SEED'])
const ok = ['h', '42:0:3:1700000000000', 'p', '{"a":1}']
const header = (h: string): string[] => ok.map((x, i) => (i === 1 ? h : x))

describe('retryDelay', () => {
  const backoff = resolveBackoff({ baseMs: 100, maxMs: 5000, jitter: 0 }, [])

  it('doubles from baseMs per attempt and stops at maxMs', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelay(n, backoff, 0.9))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000])
    expect(retryDelay(10_000, backoff, 0)).toBe(5000)
  })

  it('jitter draws from [(1 − jitter)·d, d] and never exceeds the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, random, jitter) => {
        const b = resolveBackoff({ baseMs: 50, maxMs: 60_000, jitter }, [])
        const full = Math.min(60_000, 50 * 2 ** (attempt - 1))
        const d = retryDelay(attempt, b, random)
        expect(d).toBeLessThanOrEqual(full)
        expect(d).toBeGreaterThanOrEqual(Math.floor(full * (1 - jitter)))
      }),
      { ...(SEED === undefined ? {} : { seed: SEED }), numRuns: 300 },
    )
  })

  it('reports bad options', () => {
    const problems: string[] = []
    resolveBackoff({ baseMs: -1, maxMs: 10, jitter: 2 }, problems)
    expect(problems).toHaveLength(2)
  })
})

describe('decodeTask', () => {
  it('decodes a well-formed record and its payload', () => {
    const d = decodeTask([...ok, 'k', 'order-1', 'ff', '5', 'lc', 'ERR_X', 'lm', 'boom'], 'normal', 1024)
    expect(d).toEqual({ ok: true, value: { a: 1 }, task: { id: '42', payload: '{"a":1}', attempts: 0, maxAttempts: 3, enqueuedAt: 1700000000000, priority: 'normal', idempotencyKey: 'order-1', firstFailureAt: 5, lastError: { code: 'ERR_X', message: 'boom' } } })
  })

  it.each([
    ['not a list', 'hello'],
    ['odd length', ['h', '1:0:3:1', 'p']],
    ['a non-string value', ['h', 1, 'p', '1']],
    ['an older format (named fields)', ['v', '1', 'id', '42', 'p', '{"a":1}', 'a', '0', 'm', '3', 't', '1', 'pr', 'normal']],
    ['a bad id', header('4x:0:3:1')],
    ['an empty id', header(':0:3:1')],
    ['a header with a fifth part', header('4:0:3:1:9')],
    ['a header with three parts', header('4:0:3')],
    ['a payload that is not JSON', ok.map((x, i) => (i === 3 ? '{' : x))],
    ['attempts already used up', header('42:3:3:1')],
    ['negative attempts', header('42:-1:3:1')],
    ['zero max attempts', header('42:0:0:1')],
    ['an extra field that is not a string', [...ok, 'k', 5]],
    ['a payload over the size limit', ok.map((x, i) => (i === 3 ? JSON.stringify('x'.repeat(2000)) : x))],
    ['a payload over the size limit in multi-byte characters', ok.map((x, i) => (i === 3 ? JSON.stringify('é'.repeat(600)) : x))],
  ])('refuses %s with a reason', (_what, fields) => {
    const d = decodeTask(fields, 'normal', 1024)
    expect(d.ok).toBe(false)
    if (!d.ok) expect(d.reason.length).toBeGreaterThan(0)
  })

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.array(fc.string(), { maxLength: 30 }), fc.array(fc.constantFrom(...ok, 'x', '', ':', '1:2:3:4', '-5', '999999999999999999999'), { maxLength: 30 })), (fields) => {
        const d = decodeTask(fields, 'normal', 1024)
        expect(typeof d.ok).toBe('boolean')
      }),
      { ...(SEED === undefined ? {} : { seed: SEED }), numRuns: 500 },
    )
  })
})
