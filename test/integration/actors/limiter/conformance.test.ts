/**
 * One behavioural test of the Redis limiter store, run twice: against a real Redis (the Lua scripts,
 * Redis TIME) and against its in-memory twin (MemoryLimiterServer, the simulator's store, on a
 * virtual clock). Windows are long (10 min) so the real server's passing time changes nothing; the
 * assertions are what both must answer alike, for every algorithm.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { MemoryLimiterServer, RedisLimiter, type AlgorithmSpec, type LimiterSpec, type RedisLimiterOptions } from '../../../../actors/index.ts'
import { SystemClock } from '../../../../runtime/index.ts'
import { VirtualClock } from '../../../../testing/index.ts'
import { uniqueRedisPrefix } from '../../../support/dataServices.ts'

const LONG = 600_000
const SPECS: AlgorithmSpec[] = [
  { algorithm: 'gcra', maxBurst: 4, countPerPeriod: 1, periodMs: LONG },
  { algorithm: 'token-bucket', capacity: 5, refillTokens: 1, refillIntervalMs: LONG },
  { algorithm: 'fixed-window', limit: 5, windowMs: LONG },
  { algorithm: 'sliding-log', limit: 5, windowMs: LONG },
  { algorithm: 'sliding-window', limit: 5, windowMs: LONG },
]

type Make = (spec: LimiterSpec) => RedisLimiter

/** The shared conformance function: what a store answering RedisLimiter's scripts must do. */
async function conformance(make: Make, spec: AlgorithmSpec): Promise<void> {
  const l = make(spec)
  expect(l.limit).toBe(5)
  expect(await l.get('k')).toBe(null)
  // A cost above the limit never passes and consumes nothing.
  expect(await l.decide('k', 6)).toMatchObject({ allowed: false, retryAfterMs: -1, remaining: 5 })
  for (let i = 0; i < 5; i++) expect(await l.decide('k', 1)).toMatchObject({ allowed: true, remaining: 4 - i, retryAfterMs: 0, source: 'store' })
  const refused = await l.decide('k', 1)
  expect(refused).toMatchObject({ allowed: false, remaining: 0 })
  expect(refused.retryAfterMs).toBeGreaterThan(0)
  // 0 peeks.
  expect(await l.decide('k', 0)).toMatchObject({ allowed: true, remaining: 0 })
  expect((await l.get('k'))?.remaining).toBe(0)
  // Reward 2, then exactly 2 more pass.
  expect(await l.adjust('k', -2)).toMatchObject({ remaining: 2 })
  expect(await l.decide('k', 2)).toMatchObject({ allowed: true, remaining: 0 })
  expect((await l.decide('k', 1)).allowed).toBe(false)
  // A penalty on a rested key.
  expect(await l.adjust('p', 3)).toMatchObject({ remaining: 2 })
  // Delete forgets.
  expect(await l.delete('k')).toBe(true)
  expect(await l.get('k')).toBe(null)
  expect(await l.delete('k')).toBe(false)
  // Block refuses whatever the algorithm says, for its duration.
  const blocked = await l.block('b', 60_000)
  expect(blocked.allowed).toBe(false)
  const whileBlocked = await l.decide('b', 1)
  expect(whileBlocked.allowed).toBe(false)
  expect(whileBlocked.retryAfterMs).toBeGreaterThan(50_000)
  expect(await l.delete('b')).toBe(true)
  expect((await l.decide('b', 1)).allowed).toBe(true)
  // Set replaces the state.
  expect(await l.set('s', 3)).toMatchObject({ remaining: 2 })
  // Concurrent decisions (batched into script calls) admit exactly the limit.
  const many = await Promise.all(Array.from({ length: 20 }, () => l.decide('c', 1)))
  expect(many.filter((d) => d.allowed).length).toBe(5)
  // blockDurationMs: a refusal blocks the key.
  const b = make({ ...spec, blockDurationMs: 30_000 })
  for (let i = 0; i < 5; i++) expect((await b.decide('x', 1)).allowed).toBe(true)
  const first = await b.decide('x', 1)
  expect(first.allowed).toBe(false)
  expect(first.retryAfterMs).toBeGreaterThanOrEqual(29_000)
  expect((await b.get('x'))?.allowed).toBe(false)
}

describe('the Redis limiter store on a real Redis', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'))
  })
  afterAll(() => {
    redis.disconnect()
  })
  const options = (): RedisLimiterOptions => ({ redis, clock: new SystemClock(), prefix: uniqueRedisPrefix('conf') })
  for (const spec of SPECS) it(`${spec.algorithm}`, () => conformance((s) => new RedisLimiter(s, options()), spec))
})

describe('the same on the in-memory twin (MemoryLimiterServer)', () => {
  for (const spec of SPECS) {
    it(`${spec.algorithm}`, async () => {
      const clock = new VirtualClock(1_000_000)
      const server = new MemoryLimiterServer(clock)
      await conformance((s) => new RedisLimiter(s, { port: server, clock, prefix: 'conf:' }), spec)
      expect(server.calls).toBeGreaterThan(20)
    })
  }
})
