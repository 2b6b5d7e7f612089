/**
 * The Redis store against a real Redis (from the service ladder). Time is the server's, so these
 * assert relations (bounds, orders), not exact milliseconds. Each test uses its own key prefix.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { LimiterErrorCodes, RedisLimiter, type AlgorithmSpec, type LimiterSpec } from '../../../../actors/index.ts'
import { SystemClock } from '../../../../runtime/index.ts'
import { uniqueRedisPrefix } from '../../../support/dataServices.ts'

let redis: Redis
const clock = new SystemClock()
beforeAll(() => {
  redis = new Redis(inject('redisUrl'))
})
afterAll(() => {
  redis.disconnect()
})

const limiter = (spec: LimiterSpec, label = 'rl', batch = true): RedisLimiter => new RedisLimiter(spec, { redis, clock, prefix: uniqueRedisPrefix(label), batch })

describe('RedisLimiter: GCRA with redis-cell semantics on the server clock', () => {
  it('follows the golden table in relations', async () => {
    const l = limiter({ algorithm: 'gcra', maxBurst: 4, countPerPeriod: 1, periodMs: 1000 })
    // Too large: refused, never possible, consumes nothing.
    expect(await l.decide('foo', 6)).toMatchObject({ allowed: false, remaining: 5, retryAfterMs: -1, limit: 5 })
    const burst = []
    for (let i = 0; i < 5; i++) burst.push(await l.decide('foo', 1))
    burst.forEach((d, i) => {
      expect(d).toMatchObject({ allowed: true, retryAfterMs: 0 })
      // remaining falls by one per request (it may lag by one if a whole emission passes meanwhile).
      expect(d.remaining).toBeGreaterThanOrEqual(4 - i)
      expect(d.resetAfterMs).toBeLessThanOrEqual((i + 1) * 1000)
      expect(d.resetAfterMs).toBeGreaterThan((i + 1) * 1000 - 500)
    })
    const refused = await l.decide('foo', 1)
    expect(refused.allowed).toBe(false)
    expect(refused.retryAfterMs).toBeGreaterThan(0)
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1000)
    expect(refused.resetAtMs - refused.resetAfterMs).toBeGreaterThan(1.6e12) // Redis TIME, ms since the epoch
    // Quantity 0 peeks: nothing changes.
    const peek = await l.decide('foo', 0)
    expect(peek.allowed).toBe(true)
    expect(peek.remaining).toBe(0)
    expect(peek.resetAfterMs).toBeLessThanOrEqual(refused.resetAfterMs)
    // The key expires with the TAT, in ms (PEXPIRE), not whole seconds.
    const pttl = await redis.pttl(l.keyOf('foo'))
    expect(pttl).toBeGreaterThan(4000)
    expect(pttl).toBeLessThanOrEqual(5000)
  })

  it('waiting retryAfterMs admits', async () => {
    const l = limiter({ algorithm: 'gcra', maxBurst: 0, countPerPeriod: 20, periodMs: 1000 })
    expect((await l.decide('k', 1)).allowed).toBe(true)
    const refused = await l.decide('k', 1)
    expect(refused.allowed).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(refused.retryAfterMs) + 2))
    expect((await l.decide('k', 1)).allowed).toBe(true)
  })
})

const algorithms: AlgorithmSpec[] = [
  { algorithm: 'gcra', maxBurst: 9, countPerPeriod: 10, periodMs: 10_000 },
  { algorithm: 'token-bucket', capacity: 10, refillTokens: 1, refillIntervalMs: 10_000 },
  { algorithm: 'fixed-window', limit: 10, windowMs: 10_000 },
  { algorithm: 'sliding-log', limit: 10, windowMs: 10_000 },
  { algorithm: 'sliding-window', limit: 10, windowMs: 10_000 },
]

describe.each(algorithms)('RedisLimiter $algorithm', (spec) => {
  it('admits exactly the limit among 50 concurrent callers, and a refusal consumes nothing', async () => {
    const l = limiter(spec)
    const decisions = await Promise.all(Array.from({ length: 50 }, () => l.decide('k', 1)))
    // The sliding-window counter may have a previous window's weight only if the test crossed a boundary; here it starts empty.
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
    for (const d of decisions.filter((x) => !x.allowed)) expect(d.retryAfterMs).toBeGreaterThan(0)
    expect((await l.decide('k', 0)).remaining).toBe(0)
    expect((await l.decide('k', 11)).retryAfterMs).toBe(-1)
  })

  it('unbatched (one script call per decision): the same', async () => {
    const l = limiter(spec, 'unbatched', false)
    const decisions = await Promise.all(Array.from({ length: 50 }, () => l.decide('k', 1)))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
  })

  it('batched: several keys in one script call, each decided on its own', async () => {
    const l = limiter(spec, 'batch')
    const decisions = await Promise.all(Array.from({ length: 60 }, (_, i) => l.decide(`k${i % 3}`, 1)))
    for (const k of [0, 1, 2]) expect(decisions.filter((d, i) => i % 3 === k && d.allowed)).toHaveLength(10)
  })

  it('penalty, reward, get, set, delete and block', async () => {
    const l = limiter(spec)
    expect(await l.get('u')).toBeNull()
    expect((await l.adjust('u', 4)).remaining).toBe(6)
    expect((await l.adjust('u', -2)).remaining).toBe(8)
    expect(await l.get('u')).toMatchObject({ remaining: 8 })
    expect((await l.set('u', 10, 5000)).remaining).toBe(0)
    expect((await l.decide('u', 1)).allowed).toBe(false)
    expect(await redis.pttl(l.keyOf('u'))).toBeLessThanOrEqual(5000)
    expect(await l.delete('u')).toBe(true)
    expect(await l.delete('u')).toBe(false)
    const blocked = await l.block('u', 300)
    expect(blocked.allowed).toBe(false)
    expect(blocked.retryAfterMs).toBeLessThanOrEqual(300)
    expect((await l.decide('u', 1)).allowed).toBe(false)
  })
})

describe('RedisLimiter details', () => {
  it('sliding log: one member per unit, never the timestamp alone (same-µs requests do not collapse)', async () => {
    const l = limiter({ algorithm: 'sliding-log', limit: 100, windowMs: 1000 })
    await Promise.all(Array.from({ length: 60 }, () => l.decide('k', 1)))
    await l.decide('k', 5)
    expect(await redis.zcard(l.keyOf('k'))).toBe(65)
    const members = await redis.zrange(l.keyOf('k'), '0', '-1')
    expect(new Set(members).size).toBe(65)
    expect(members.every((m) => /^\d+:\d+$/.test(m))).toBe(true)
  })

  it('a sub-second window keeps its key for the window (PEXPIRE, not whole seconds)', async () => {
    const l = limiter({ algorithm: 'fixed-window', limit: 2, windowMs: 150 })
    await l.decide('k', 1)
    const pttl = await redis.pttl(l.keyOf('k'))
    expect(pttl).toBeGreaterThan(0)
    expect(pttl).toBeLessThanOrEqual(150)
    expect((await l.decide('k', 1)).allowed).toBe(true)
    expect((await l.decide('k', 1)).allowed).toBe(false)
  })

  it('token bucket keeps fractional tokens', async () => {
    const l = limiter({ algorithm: 'token-bucket', capacity: 2, refillTokens: 1, refillIntervalMs: 10_000 })
    expect((await l.decide('k', 1.5)).allowed).toBe(true)
    const refused = await l.decide('k', 1)
    expect(refused.allowed).toBe(false)
    // Half a token is missing: about 5 s at 0.1 token/s.
    expect(refused.retryAfterMs).toBeGreaterThan(4900)
    expect(refused.retryAfterMs).toBeLessThanOrEqual(5000)
    expect((await l.decide('k', 0.4)).allowed).toBe(true)
  })

  it('blockDurationMs blocks after a refusal, atomically in the script', async () => {
    const l = limiter({ algorithm: 'fixed-window', limit: 1, windowMs: 10_000, blockDurationMs: 2000 })
    await l.decide('k', 1)
    const refused = await l.decide('k', 1)
    expect(refused.retryAfterMs).toBeGreaterThanOrEqual(2000)
    expect(await redis.pttl(`${l.keyOf('k')}:b`)).toBeGreaterThan(1000)
  })

  it('all of a key’s Redis keys share one hash tag (one Redis Cluster slot)', () => {
    const l = limiter({ algorithm: 'fixed-window', limit: 1, windowMs: 10 }, 'tag')
    expect(l.keyOf('user:42')).toMatch(/\{user:42\}$/)
  })

  it('bad arguments are typed errors; Redis errors are typed, never an allow', async () => {
    const l = limiter({ algorithm: 'fixed-window', limit: 1, windowMs: 10 })
    await expect(l.decide('k', -1)).rejects.toMatchObject({ code: LimiterErrorCodes.Invalid })
    await expect(l.decide('', 1)).rejects.toMatchObject({ code: LimiterErrorCodes.Invalid })
    // The state key holds the wrong type: the script fails, the call is refused with a code.
    await redis.set(l.keyOf('wrong'), 'x')
    await expect(l.decide('wrong', 1)).rejects.toMatchObject({ code: LimiterErrorCodes.Unavailable })
  })
})
