/**
 * GCRA against redis-cell's own table (redis-cell-impl/src/lib.rs, `it_rate_limits`): limit 5
 * (max_burst 4), 1 per second, on virtual time. Columns: at (ms from start), quantity, remaining,
 * reset_after, retry_after (-1 = not limited, or never possible), limited.
 */
import { describe, expect, it } from 'vitest'
import { LocalLimiter } from '../../../../actors/index.ts'
import { VirtualClock } from '../../../../testing/index.ts'

const table: readonly [at: number, quantity: number, remaining: number, resetAfter: number, retryAfter: number, limited: boolean][] = [
  // A request larger than the maximum is refused and consumes nothing.
  [0, 6, 5, 0, -1, true],
  [0, 1, 4, 1000, -1, false],
  [0, 1, 3, 2000, -1, false],
  [0, 1, 2, 3000, -1, false],
  [0, 1, 1, 4000, -1, false],
  [0, 1, 0, 5000, -1, false],
  [0, 1, 0, 5000, 1000, true],
  [3000, 1, 2, 3000, -1, false],
  [3100, 1, 1, 3900, -1, false],
  [4000, 1, 1, 4000, -1, false],
  [8000, 1, 4, 1000, -1, false],
  [9500, 1, 4, 1000, -1, false],
  // Quantity 0 peeks.
  [9500, 0, 4, 1000, -1, false],
  [9500, 2, 2, 3000, -1, false],
  // A large request cannot exceed the limit.
  [9500, 5, 2, 3000, 3000, true],
]

describe('GCRA: redis-cell golden table on virtual time', () => {
  it('matches every row', () => {
    const start = 1_700_000_000_000
    const clock = new VirtualClock(start)
    const limiter = new LocalLimiter({ algorithm: 'gcra', maxBurst: 4, countPerPeriod: 1, periodMs: 1000 }, clock)
    table.forEach(([at, quantity, remaining, resetAfter, retryAfter, limited], row) => {
      clock.advanceTo(start + at)
      const d = limiter.decide('foo', quantity)
      const got = { row, limited: !d.allowed, limit: d.limit, remaining: d.remaining, resetAfter: d.resetAfterMs, retryAfter: d.allowed ? -1 : d.retryAfterMs }
      expect(got).toEqual({ row, limited, limit: 5, remaining, resetAfter, retryAfter })
      expect(d.resetAtMs).toBe(start + at + resetAfter)
      if (d.allowed) expect(d.retryAfterMs).toBe(0)
    })
  })
})
