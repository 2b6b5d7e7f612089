/**
 * Weighted fair selection across priority levels (WeightedSelector + fillPlan, the model of the
 * fetch script): exact shares while every level has work, no starvation, and a level with work
 * always gets at least its planned share however the others' backlogs come and go.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fillPlan, WeightedSelector } from '../../../../actors/index.ts'

// A fresh seed each run (fast-check prints it on failure); TQ_SEED replays one.
const SEED = process.env['TQ_SEED'] === undefined ? undefined : Number(process.env['TQ_SEED'])
const RUNS = Number(process.env['TQ_RUNS'] ?? 100)
const weightsArb = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 })

describe('WeightedSelector', () => {
  it('every window of W = Σ weights consecutive picks holds exactly `weight` picks of each level', () => {
    fc.assert(
      fc.property(weightsArb, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), (weights, batches) => {
        const selector = new WeightedSelector(weights)
        const picks: number[] = []
        // Plans of any sizes continue one sequence.
        for (const n of batches) {
          const quotas = selector.plan(n)
          expect(quotas.reduce((a, b) => a + b, 0)).toBe(n)
          // Expand in level order: the window property below only needs counts per full period.
          quotas.forEach((q, level) => { for (let k = 0; k < q; k++) picks.push(level) })
        }
        const total = weights.reduce((a, b) => a + b, 0)
        const sequence = new WeightedSelector(weights)
        const seq = Array.from({ length: total * 3 }, () => sequence.next())
        for (let start = 0; start + total <= seq.length; start++) {
          const counts = weights.map(() => 0)
          for (const level of seq.slice(start, start + total)) counts[level] = (counts[level] as number) + 1
          expect(counts).toEqual(weights)
        }
        // Over plans: after T picks each level's count is within one of T·w/W.
        const counts = weights.map(() => 0)
        for (const level of picks) counts[level] = (counts[level] as number) + 1
        weights.forEach((w, level) => expect(Math.abs((counts[level] as number) - (picks.length * w) / total)).toBeLessThanOrEqual(weights.length))
      }),
      { ...(SEED === undefined ? {} : { seed: SEED }), numRuns: RUNS },
    )
  })

  it('no starvation: a level with work waits at most W picks for its turn', () => {
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const selector = new WeightedSelector(weights)
        const total = weights.reduce((a, b) => a + b, 0)
        const last = weights.map(() => -1)
        for (let i = 0; i < total * 5; i++) {
          last[selector.next()] = i
          if (i >= total) last.forEach((at) => expect(i - at).toBeLessThanOrEqual(total))
        }
      }),
      { ...(SEED === undefined ? {} : { seed: SEED }), numRuns: RUNS },
    )
  })

  it('with backlogs that come and go, a level with work gets at least its planned share and no slot idles while work exists', () => {
    fc.assert(
      fc.property(
        weightsArb.chain((weights) => fc.tuple(
          fc.constant(weights),
          fc.array(fc.tuple(fc.integer({ min: 1, max: 16 }), fc.array(fc.integer({ min: 0, max: 30 }), { minLength: weights.length, maxLength: weights.length })), { minLength: 1, maxLength: 30 }),
        )),
        ([weights, rounds]) => {
          const selector = new WeightedSelector(weights)
          const backlog = weights.map(() => 0)
          for (const [slots, arrivals] of rounds) {
            arrivals.forEach((a, i) => (backlog[i] = (backlog[i] as number) + a))
            const quotas = selector.plan(slots)
            const { delivered, short } = fillPlan(quotas, backlog)
            const served = delivered.reduce((a, b) => a + b, 0)
            const available = backlog.reduce((a, b) => a + b, 0)
            // Work-conserving: every slot used while tasks wait.
            expect(served).toBe(Math.min(slots, available))
            delivered.forEach((d, i) => {
              // A level with at least its quota of work gets at least its quota.
              if ((backlog[i] as number) >= (quotas[i] as number)) expect(d).toBeGreaterThanOrEqual(quotas[i] as number)
              expect(d).toBeLessThanOrEqual(backlog[i] as number)
              if (short[i] === true) expect(d).toBe(backlog[i])
              backlog[i] = (backlog[i] as number) - d
            })
          }
        },
      ),
      { ...(SEED === undefined ? {} : { seed: SEED }), numRuns: RUNS },
    )
  })

  it('refuses weights that are not positive integers', () => {
    expect(() => new WeightedSelector([])).toThrow(RangeError)
    expect(() => new WeightedSelector([1, 0])).toThrow(RangeError)
    expect(() => new WeightedSelector([1.5])).toThrow(RangeError)
  })
})
