/**
 * Token leasing against a real Redis: 3 limiters (3 connections, as 3 systems would have) × 50
 * concurrent callers on one key, each limiter leasing 10 tokens per script call. In one window
 * (10 min long) they admit no more than the limit, and no less than the limit minus the tokens
 * that can sit in leases (10 × 3), with about a tenth of the script calls.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { LeasedLimiter, RedisLimiter, type LimiterSpec } from '../../../../actors/index.ts'
import { SystemClock } from '../../../../runtime/index.ts'
import { uniqueRedisPrefix } from '../../../support/dataServices.ts'

const HOLDERS = 3
const CALLERS = 50
const LEASE = 10
const LIMIT = 600
let connections: Redis[] = []
beforeAll(() => {
  connections = Array.from({ length: HOLDERS }, () => new Redis(inject('redisUrl')))
})
afterAll(() => {
  for (const c of connections) c.disconnect()
})

describe('LeasedLimiter over the Redis store', () => {
  for (const spec of [
    { algorithm: 'fixed-window', limit: LIMIT, windowMs: 600_000 },
    { algorithm: 'gcra', maxBurst: LIMIT - 1, countPerPeriod: 1, periodMs: 600_000 },
  ] satisfies LimiterSpec[]) {
    it(`${spec.algorithm}: 3 holders × 50 callers admit ≤ limit and ≥ limit − leaseSize × holders, in far fewer calls`, async () => {
      const clock = new SystemClock()
      const prefix = uniqueRedisPrefix('lease')
      const holders = connections.map((redis) => new LeasedLimiter(new RedisLimiter(spec, { redis, clock, prefix }), spec, { leaseSize: LEASE, leaseMs: 5000, clock }))
      let admitted = 0
      const errors: unknown[] = []
      await Promise.all(
        holders.flatMap((holder) =>
          Array.from({ length: CALLERS }, async () => {
            for (;;) {
              try {
                const d = await holder.decide('shared', 1)
                if (!d.allowed) return
                admitted++
              } catch (error) {
                errors.push(error)
                return
              }
            }
          }),
        ),
      )
      expect(errors).toEqual([])
      expect(admitted).toBeLessThanOrEqual(LIMIT)
      expect(admitted).toBeGreaterThanOrEqual(LIMIT - LEASE * HOLDERS)
      const leases = holders.reduce((n, h) => n + h.stats.leases, 0)
      const local = holders.reduce((n, h) => n + h.stats.local, 0)
      expect(leases).toBeLessThanOrEqual(LIMIT / LEASE)
      expect(local).toBeGreaterThan(admitted * 0.8)
    }, 60_000)
  }
})
