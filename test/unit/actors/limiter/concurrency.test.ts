/**
 * ConcurrencyLimiter under any sequence of acquire / release / time (fast-check): permits out never
 * exceed the maximum, waiters are served in order, every acquire settles, nothing leaks.
 */
import { fc, test } from '@fast-check/vitest'
import { expect } from 'vitest'
import { ConcurrencyLimiter, LimiterErrorCodes, type Permit } from '../../../../actors/index.ts'
import { settle, VirtualClock } from '../../../../testing/index.ts'

const op = fc.oneof(
  fc.constant({ kind: 'acquire' as const }),
  fc.constant({ kind: 'try' as const }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 400 }) }),
)

test.prop([fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.array(op, { maxLength: 120 })])(
  'permits never exceed the maximum; every acquire settles; nothing leaks',
  async (max, maxQueue, leases, ops) => {
    const clock = new VirtualClock(0)
    const limiter = new ConcurrencyLimiter({ maxConcurrent: max, maxQueue, queueTimeoutMs: 300, leaseMs: leases ? 500 : 0 }, clock)
    const held: Permit[] = []
    const served: number[] = []
    let asked = 0
    let settled = 0
    const pending: Promise<void>[] = []
    for (const o of ops) {
      if (o.kind === 'acquire') {
        const n = asked++
        pending.push(
          limiter.acquire().then(
            (p) => {
              settled++
              served.push(n)
              held.push(p)
            },
            (e: unknown) => {
              settled++
              expect(e).toMatchObject({ code: LimiterErrorCodes.ConcurrencyLimited })
            },
          ),
        )
      } else if (o.kind === 'try') {
        const p = limiter.tryAcquire()
        if (p !== null) held.push(p)
      } else if (o.kind === 'release') {
        if (held.length > 0) limiter.release((held.splice(o.pick % held.length, 1)[0] as Permit).id)
      } else {
        clock.advance(o.ms)
      }
      await settle(1)
      expect(limiter.inUse).toBeLessThanOrEqual(max)
      expect(limiter.waiting).toBeLessThanOrEqual(maxQueue)
    }
    // Waiters are served in the order they asked.
    expect(served).toEqual([...served].sort((a, b) => a - b))
    for (const p of held.splice(0)) limiter.release(p.id)
    clock.advance(1000)
    await Promise.all(pending)
    expect(settled).toBe(asked)
    for (const p of held.splice(0)) limiter.release(p.id)
    expect(limiter.inUse).toBe(0)
    expect(limiter.waiting).toBe(0)
  },
)
