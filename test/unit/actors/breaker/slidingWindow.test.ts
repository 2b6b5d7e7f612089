/**
 * The sliding windows against a naive model (every call kept, totals recomputed from scratch):
 * resilience4j's FixedSizeSlidingWindowMetrics and SlidingTimeWindowMetrics cases, then fast-check
 * over arbitrary sequences of calls and clock steps.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CountWindow, TimeWindow, type CallOutcome } from '../../../../actors/index.ts'
import { coreHarness } from './helpers.ts'

interface Call {
  readonly at: number
  readonly failed: boolean
  readonly slow: boolean
}

function totals(calls: readonly Call[]): { calls: number; failed: number; slow: number } {
  return { calls: calls.length, failed: calls.filter((c) => c.failed).length, slow: calls.filter((c) => c.slow).length }
}

describe('CountWindow', () => {
  it('holds the last N calls', () => {
    const w = new CountWindow(3)
    w.record(0, true, false)
    w.record(0, true, true)
    expect([w.calls, w.failed, w.slow]).toEqual([2, 2, 1])
    w.record(0, false, false)
    w.record(0, false, false) // the first failure leaves
    expect([w.calls, w.failed, w.slow]).toEqual([3, 1, 1])
    w.record(0, false, false) // the slow failure leaves
    expect([w.calls, w.failed, w.slow]).toEqual([3, 0, 0])
    w.reset()
    expect([w.calls, w.failed, w.slow]).toEqual([0, 0, 0])
  })

  it('agrees with the model for any sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.tuple(fc.boolean(), fc.boolean()), { maxLength: 200 }), (size, calls) => {
        const w = new CountWindow(size)
        const kept: Call[] = []
        for (const [failed, slow] of calls) {
          w.record(0, failed, slow)
          kept.push({ at: 0, failed, slow })
          const expected = totals(kept.slice(-size))
          expect({ calls: w.calls, failed: w.failed, slow: w.slow }).toEqual(expected)
        }
      }),
    )
  })
})

describe('TimeWindow', () => {
  it('buckets calls per second and forgets a second once it is windowSize seconds old', () => {
    const w = new TimeWindow(3)
    w.record(0, true, false)
    w.record(999, true, false)
    w.record(1500, false, true)
    expect([w.calls, w.failed, w.slow]).toEqual([3, 2, 1])
    w.advance(2999)
    expect(w.calls).toBe(3)
    w.advance(3000) // second 0 leaves
    expect([w.calls, w.failed, w.slow]).toEqual([1, 0, 1])
    w.advance(60_000) // a long silence empties it in one step
    expect(w.calls).toBe(0)
    w.record(60_001, true, true)
    expect([w.calls, w.failed, w.slow]).toEqual([1, 1, 1])
  })

  it('agrees with the model for any sequence of calls and clock steps', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('call' as const), failed: fc.boolean(), slow: fc.boolean() }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 4000 }) }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(step, { maxLength: 150 }), (seconds, steps) => {
        const w = new TimeWindow(seconds)
        const all: Call[] = []
        let now = 0
        for (const s of steps) {
          if (s.kind === 'wait') {
            now += s.ms
            w.advance(now)
          } else {
            w.record(now, s.failed, s.slow)
            all.push({ at: now, failed: s.failed, slow: s.slow })
          }
          const current = Math.floor(now / 1000)
          const expected = totals(all.filter((c) => Math.floor(c.at / 1000) > current - seconds))
          expect({ calls: w.calls, failed: w.failed, slow: w.slow }).toEqual(expected)
        }
      }),
    )
  })
})

/** The fast path's outcome codes (BreakerCore's OUTCOMES table). */
const CODE: Record<CallOutcome, number> = { success: 0, failure: 1, ignored: 2, timeout: 3 }

describe('a batch of successes sent as a count', () => {
  it('reaches the same state, window and events as the same successes listed one by one', () => {
    // Any history, then a run of fast successes: the count path judges once, the list after each; the verdicts must agree.
    const entry = fc.record({ outcome: fc.constantFrom<CallOutcome>('success', 'failure', 'ignored'), slow: fc.boolean() })
    fc.assert(
      fc.property(
        fc.constantFrom<'count' | 'time'>('count', 'time'),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.array(entry, { maxLength: 10 }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 30 }),
        (windowType, windowSize, minimumCalls, threshold, batches, run) => {
          const options = { windowType, windowSize, minimumCalls, failureRateThreshold: threshold, slowCallRateThreshold: threshold, slowCallDurationMs: 10 }
          const counted = coreHarness(options)
          const listed = coreHarness(options)
          for (const batch of batches) {
            const outcomes = batch.map((e) => CODE[e.outcome])
            const durations = batch.map((e) => (e.slow ? 20 : 0))
            for (const h of [counted, listed]) {
              h.core.completeBatch(h.core.epoch, 0, outcomes, durations, outcomes.length)
              h.clock.advance(300)
            }
          }
          counted.core.completeBatch(counted.core.epoch, run, [], [], 0)
          listed.core.completeBatch(listed.core.epoch, 0, new Array<number>(run).fill(0), new Array<number>(run).fill(0), run)
          expect(counted.events).toEqual(listed.events)
          expect(counted.core.snapshot()).toEqual(listed.core.snapshot())
          expect(counted.core.counters).toEqual(listed.core.counters)
        },
      ),
      { numRuns: 500 },
    )
  })
})
