/**
 * The local limiters' invariants under any request sequence (fast-check), and the behaviour each
 * algorithm promises: refusals consume nothing, cost 0 peeks, fractional tokens, aligned windows.
 */
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { LimiterErrorCodes, LocalLimiter, type AlgorithmSpec, type Decision } from '../../../../actors/index.ts'
import { VirtualClock } from '../../../../testing/index.ts'

type Step = readonly [advanceMs: number, cost: number]
const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 300 })

function run(spec: AlgorithmSpec, sequence: readonly Step[]): { at: number; cost: number; decision: Decision; peekBefore: Decision; peekAfter: Decision }[] {
  const clock = new VirtualClock(10_000)
  const limiter = new LocalLimiter(spec, clock)
  return sequence.map(([advance, cost]) => {
    clock.advance(advance)
    const peekBefore = limiter.decide('k', 0)
    const decision = limiter.decide('k', cost)
    const peekAfter = limiter.decide('k', 0)
    return { at: clock.now(), cost, decision, peekBefore, peekAfter }
  })
}

/** Units admitted with a timestamp in [from, to]. */
function admittedBetween(trace: ReturnType<typeof run>, from: number, to: number): number {
  return trace.filter((e) => e.decision.allowed && e.at >= from && e.at <= to).reduce((sum, e) => sum + e.cost, 0)
}

describe('limiter invariants (fast-check)', () => {
  test.prop([steps])('sliding log: never more than limit units in any window', (sequence) => {
    const trace = run({ algorithm: 'sliding-log', limit: 5, windowMs: 1000 }, sequence)
    for (const e of trace) expect(admittedBetween(trace, e.at - 999, e.at)).toBeLessThanOrEqual(5)
  })

  test.prop([steps])('fixed window: never more than limit units in one window', (sequence) => {
    const trace = run({ algorithm: 'fixed-window', limit: 5, windowMs: 1000 }, sequence)
    // Windows start at a key's first admitted request after the previous one ended.
    let start = -Infinity
    let used = 0
    for (const e of trace) {
      if (!e.decision.allowed || e.cost === 0) continue
      if (e.at >= start + 1000) {
        start = e.at
        used = 0
      }
      used += e.cost
      expect(used).toBeLessThanOrEqual(5)
    }
  })

  test.prop([steps])('GCRA: admitted in [t1, t2] never exceeds limit + (t2 - t1) / emission', (sequence) => {
    const trace = run({ algorithm: 'gcra', maxBurst: 4, countPerPeriod: 10, periodMs: 1000 }, sequence)
    for (const a of trace) for (const b of trace) if (b.at >= a.at) expect(admittedBetween(trace, a.at, b.at)).toBeLessThanOrEqual(5 + (b.at - a.at) / 100 + 1e-9)
  })

  test.prop([steps])('token bucket: admitted in [t1, t2] never exceeds capacity + rate × (t2 - t1)', (sequence) => {
    const trace = run({ algorithm: 'token-bucket', capacity: 5, refillTokens: 1, refillIntervalMs: 250 }, sequence)
    for (const a of trace) for (const b of trace) if (b.at >= a.at) expect(admittedBetween(trace, a.at, b.at)).toBeLessThanOrEqual(5 + (b.at - a.at) / 250 + 1e-9)
  })

  test.prop([steps])('sliding window counter: the weighted estimate never passes the limit', (sequence) => {
    const trace = run({ algorithm: 'sliding-window', limit: 5, windowMs: 1000 }, sequence)
    for (const e of trace) expect(e.peekAfter.remaining).toBeGreaterThanOrEqual(0)
    // Aligned windows: the units admitted inside one window never exceed the limit.
    const byWindow = new Map<number, number>()
    for (const e of trace) if (e.decision.allowed) byWindow.set(Math.floor(e.at / 1000), (byWindow.get(Math.floor(e.at / 1000)) ?? 0) + e.cost)
    for (const used of byWindow.values()) expect(used).toBeLessThanOrEqual(5)
  })

  const specs: AlgorithmSpec[] = [
    { algorithm: 'gcra', maxBurst: 4, countPerPeriod: 10, periodMs: 1000 },
    { algorithm: 'token-bucket', capacity: 5, refillTokens: 1, refillIntervalMs: 250 },
    { algorithm: 'fixed-window', limit: 5, windowMs: 1000 },
    { algorithm: 'sliding-log', limit: 5, windowMs: 1000 },
    { algorithm: 'sliding-window', limit: 5, windowMs: 1000 },
  ]
  for (const spec of specs) {
    test.prop([steps])(`${spec.algorithm}: a refusal consumes nothing, a peek changes nothing, replies are well formed`, (sequence) => {
      for (const e of run(spec, sequence)) {
        const d = e.decision
        expect(d.limit).toBe(5)
        expect(d.remaining).toBeGreaterThanOrEqual(0)
        expect(d.remaining).toBeLessThanOrEqual(5)
        expect(d.resetAtMs).toBeCloseTo(e.at + d.resetAfterMs, 6)
        if (d.allowed) expect(d.retryAfterMs).toBe(0)
        else if (e.cost > 5) expect(d.retryAfterMs).toBe(-1)
        else expect(d.retryAfterMs).toBeGreaterThan(0)
        if (!d.allowed || e.cost === 0) expect(e.peekAfter).toEqual(e.peekBefore)
        else expect(e.peekAfter.remaining).toBeLessThanOrEqual(e.peekBefore.remaining)
      }
    })

    test.prop([steps])(`${spec.algorithm}: after a refusal, waiting retryAfterMs admits the same request (no other traffic)`, (sequence) => {
      const clock = new VirtualClock(10_000)
      const limiter = new LocalLimiter(spec, clock)
      for (const [advance, cost] of sequence) {
        clock.advance(advance)
        const d = limiter.decide('k', cost)
        if (!d.allowed && d.retryAfterMs > 0) {
          clock.advance(d.retryAfterMs)
          expect(limiter.decide('k', 0).allowed).toBe(true)
          expect(limiter.decide('k', cost).allowed).toBe(true)
        }
      }
    })
  }
})

describe('algorithm details', () => {
  it('token bucket keeps fractional tokens at ms resolution and charges a cost', () => {
    const clock = new VirtualClock(0)
    const limiter = new LocalLimiter({ algorithm: 'token-bucket', capacity: 2, refillTokens: 1, refillIntervalMs: 1000 }, clock)
    expect(limiter.decide('k', 1.5)).toMatchObject({ allowed: true, remaining: 0 })
    expect(limiter.decide('k', 1)).toMatchObject({ allowed: false, retryAfterMs: 500 })
    clock.advance(499)
    expect(limiter.decide('k', 1).allowed).toBe(false)
    clock.advance(1)
    expect(limiter.decide('k', 1)).toMatchObject({ allowed: true, remaining: 0, resetAfterMs: 2000 })
    expect(limiter.decide('k', 3)).toMatchObject({ allowed: false, retryAfterMs: -1 })
  })

  it('sliding log: same-instant requests are separate entries (no collapse, no over-admission)', () => {
    const clock = new VirtualClock(0)
    const limiter = new LocalLimiter({ algorithm: 'sliding-log', limit: 3, windowMs: 100 }, clock)
    const allowed = Array.from({ length: 10 }, () => limiter.decide('k', 1).allowed).filter(Boolean).length
    expect(allowed).toBe(3)
    expect(limiter.decide('k', 1).retryAfterMs).toBe(100)
    clock.advance(100)
    expect(limiter.decide('k', 3).allowed).toBe(true)
  })

  it('a sub-second window works at ms granularity', () => {
    const clock = new VirtualClock(0)
    const limiter = new LocalLimiter({ algorithm: 'fixed-window', limit: 2, windowMs: 50 }, clock)
    expect(limiter.decide('k', 2).allowed).toBe(true)
    clock.advance(49)
    expect(limiter.decide('k', 1)).toMatchObject({ allowed: false, retryAfterMs: 1 })
    clock.advance(1)
    expect(limiter.decide('k', 1).allowed).toBe(true)
  })

  it('sliding window counter weighs the previous window', () => {
    const clock = new VirtualClock(0)
    const limiter = new LocalLimiter({ algorithm: 'sliding-window', limit: 10, windowMs: 1000 }, clock)
    expect(limiter.decide('k', 10).allowed).toBe(true)
    clock.advanceTo(1500) // half the previous window still overlaps: estimate 5
    expect(limiter.decide('k', 0).remaining).toBe(5)
    expect(limiter.decide('k', 6)).toMatchObject({ allowed: false, retryAfterMs: 100 })
    expect(limiter.decide('k', 5).allowed).toBe(true)
  })

  it('penalty, reward, set, block and delete', () => {
    const clock = new VirtualClock(0)
    const limiter = new LocalLimiter({ algorithm: 'fixed-window', limit: 5, windowMs: 1000 }, clock)
    expect(limiter.get('k')).toBeNull()
    expect(limiter.adjust('k', 4).remaining).toBe(1)
    expect(limiter.adjust('k', -2).remaining).toBe(3)
    expect(limiter.set('k', 5, 200).remaining).toBe(0)
    expect(limiter.decide('k', 1).allowed).toBe(false)
    clock.advance(200) // the set's duration rests the key
    expect(limiter.get('k')).toBeNull()
    expect(limiter.block('k', 300)).toMatchObject({ allowed: false, retryAfterMs: 300 })
    clock.advance(100)
    expect(limiter.decide('k', 1)).toMatchObject({ allowed: false, retryAfterMs: 200 })
    expect(limiter.delete('k')).toBe(true)
    expect(limiter.decide('k', 1).allowed).toBe(true)
    expect(limiter.delete('nothing')).toBe(false)
  })

  it('blockDurationMs blocks a key after a refusal', () => {
    const clock = new VirtualClock(0)
    const limiter = new LocalLimiter({ algorithm: 'fixed-window', limit: 1, windowMs: 100, blockDurationMs: 1000 }, clock)
    expect(limiter.decide('k', 1).allowed).toBe(true)
    expect(limiter.decide('k', 1)).toMatchObject({ allowed: false, retryAfterMs: 1000 })
    clock.advance(500) // the window has ended, the block has not
    expect(limiter.decide('k', 1)).toMatchObject({ allowed: false, retryAfterMs: 500 })
    clock.advance(500)
    expect(limiter.decide('k', 1).allowed).toBe(true)
  })

  it('rested keys are dropped: memory follows active keys', () => {
    const clock = new VirtualClock(0)
    const limiter = new LocalLimiter({ algorithm: 'gcra', maxBurst: 9, countPerPeriod: 10, periodMs: 1000 }, clock)
    for (let i = 0; i < 5000; i++) limiter.decide(`k${i}`, 1)
    expect(limiter.size).toBe(5000)
    clock.advance(200)
    for (let i = 0; i < 5000; i++) limiter.decide('hot', 0)
    expect(limiter.size).toBeLessThan(5000)
  })

  it('bad input is a typed error and consumes nothing', () => {
    const clock = new VirtualClock(0)
    expect(() => new LocalLimiter({ algorithm: 'gcra', maxBurst: 1, countPerPeriod: 0, periodMs: 1000 }, clock)).toThrow(expect.objectContaining({ code: LimiterErrorCodes.Invalid }))
    expect(() => new LocalLimiter({ algorithm: 'nope' } as never, clock)).toThrow(expect.objectContaining({ code: LimiterErrorCodes.Invalid }))
    const limiter = new LocalLimiter({ algorithm: 'fixed-window', limit: 2, windowMs: 100 }, clock)
    for (const [key, cost] of [['', 1], ['k', -1], ['k', Number.NaN], ['k', 1.5]] as const) {
      expect(() => limiter.decide(key, cost)).toThrow(expect.objectContaining({ code: LimiterErrorCodes.Invalid }))
    }
    expect(limiter.get('k')).toBeNull()
  })
})
