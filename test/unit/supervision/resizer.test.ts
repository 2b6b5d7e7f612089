/**
 * Akka's DefaultResizer (ResizerSpec): the delta it proposes never takes a pool outside its bounds,
 * it ramps up when every routee is busy and backs off when few are; a pool grows under pressure up
 * to its upper bound and shrinks back to its lower bound once idle.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Actor } from '../../../runtime/index.ts'
import { resizeDelta, resolveResizer, roundRobin, spawnPool } from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { Gate, testSystem } from './helpers.ts'

describe('DefaultResizer', () => {
  it('must use settings to evaluate capacity: ramp up when all are busy, back off when few are', () => {
    const r = resolveResizer({ lowerBound: 2, upperBound: 10, rampupRate: 0.2, backoffThreshold: 0.3, backoffRate: 0.1 })
    expect(resizeDelta(r, 5, 5)).toBe(1) // ceil(0.2 * 5)
    expect(resizeDelta(r, 5, 3)).toBe(0) // busy, not all: hold
    expect(resizeDelta(r, 10, 2)).toBe(-1) // 20 % busy < 30 %: floor(-0.1 * 10)
    expect(resizeDelta(r, 0, 0)).toBe(2) // up to the lower bound
    expect(resizeDelta(r, 12, 0)).toBe(-2) // down to the upper bound
  })

  it('must keep the pool within [lowerBound, upperBound] for any size and pressure (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 60 }),
        fc.nat(),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (lower, span, size, busySeed, rampupRate, backoffThreshold, backoffRate) => {
          const r = resolveResizer({ lowerBound: lower, upperBound: lower + span, rampupRate, backoffThreshold, backoffRate })
          const busy = size === 0 ? 0 : busySeed % (size + 1)
          const next = size + resizeDelta(r, size, busy)
          expect(next).toBeGreaterThanOrEqual(r.lowerBound)
          expect(next).toBeLessThanOrEqual(r.upperBound)
        },
      ),
    )
  })

  it('rejects bounds that cannot hold', () => {
    expect(() => resolveResizer({ lowerBound: 5, upperBound: 2 })).toThrow(/upperBound/)
    expect(() => resolveResizer({ messagesPerResize: 0 })).toThrow(/messagesPerResize/)
  })
})

class Busy extends Actor<{ block(gate: Gate): Promise<void>; work(): void }> {
  block(gate: Gate): Promise<void> {
    return gate.wait()
  }
  work(): void {}
}

describe('a pool with a resizer', () => {
  it('grows under pressure up to upperBound, never beyond, and shrinks back to lowerBound when idle', async () => {
    const t = testSystem()
    const pool = spawnPool(t.system, {
      routee: { actor: Busy, args: [] },
      size: 1,
      logic: roundRobin(),
      resizer: { lowerBound: 1, upperBound: 4, messagesPerResize: 1, rampupRate: 1, backoffThreshold: 0.5, backoffRate: 0.5 },
    })
    await waitFor(() => pool.routees.length === 1)
    const gate = new Gate()
    let most = 0
    await waitFor(() => {
      pool.tell('block', gate) // each routee blocks on its first; the rest queue up behind it
      most = Math.max(most, pool.routees.length)
      return pool.routees.length === 4
    })
    for (let i = 0; i < 50; i++) {
      pool.tell('block', gate)
      most = Math.max(most, pool.routees.length)
      await settle(1)
    }
    expect(most).toBe(4)
    gate.open()
    await waitFor(() => {
      pool.tell('work')
      return pool.routees.length === 1
    }, { timeoutMs: 20_000 })
    for (let i = 0; i < 20; i++) {
      pool.tell('work')
      await settle(1)
    }
    expect(pool.routees.length).toBe(1)
  }, 30_000)
})
