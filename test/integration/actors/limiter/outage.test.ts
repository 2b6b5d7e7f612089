/**
 * Redis killed and restarted under load, with a RateLimiterActor under a supervisor in front of
 * it: the insurance limiter engages (or the failure policy answers), nothing crashes, the store is
 * used again once Redis is back. And contention: a Redis that keeps answering BUSY yields
 * ERR_LIMITER_CONTENTION, never an allow. These tests start (and kill) their own redis-server.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LimiterErrorCodes, RateLimiterActor, RedisLimiter, type Decision, type RateLimiterProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { childSpec, Supervisor, SupervisorEventTopic, type SupervisorEvent, type SupervisorProtocol } from '../../../../supervision/index.ts'
import { waitFor } from '../../../../testing/index.ts'
import { LocalRedisServer, uniqueRedisPrefix } from '../../../support/dataServices.ts'

let server: LocalRedisServer
beforeAll(async () => {
  server = await LocalRedisServer.start()
})
afterAll(async () => {
  await server.stop()
})

/** A client that reconnects quickly; its offline queue holds commands during the outage, so only the limiter's own timeout bounds a call. */
function client(): Redis {
  const redis = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: null })
  redis.on('error', () => {})
  return redis
}

/** Callers that keep deciding on a few keys until stopped; every answer and failure is recorded. */
function load(limiter: ActorRef<RateLimiterProtocol>, callers: number) {
  const decisions: Decision[] = []
  const failures: unknown[] = []
  let running = true
  const loops = Array.from({ length: callers }, async (_, i) => {
    while (running) {
      try {
        decisions.push(await limiter.ask('decide', `user-${i % 4}`))
      } catch (error) {
        failures.push(error)
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
  })
  return {
    decisions,
    failures,
    count: (source: Decision['source']) => decisions.filter((d) => d.source === source).length,
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

async function spawnLimiter(system: ActorSystem, options: ConstructorParameters<typeof RateLimiterActor>[0]): Promise<ActorRef<RateLimiterProtocol>> {
  const sup: ActorRef<SupervisorProtocol> = system.spawn(Supervisor, { name: 'limits', args: [{ intensity: 3, children: [childSpec({ id: 'limiter', actor: RateLimiterActor, args: [options] })] }] })
  let ref: ActorRef<RateLimiterProtocol> | null = null
  await waitFor(() => ref !== null || (void sup.ask('lookupChild', 'limiter').then((r) => (ref = r as ActorRef<RateLimiterProtocol> | null)), false))
  return ref as unknown as ActorRef<RateLimiterProtocol>
}

describe('Redis outage under load', () => {
  it('insurance engages while Redis is down, nothing crashes, the store is back after restart', async () => {
    const system = ActorSystem.create({ name: 'outage-insurance', clock: new SystemClock() })
    const events: SupervisorEvent[] = []
    system.subscribe(SupervisorEventTopic, (e) => events.push(e))
    const redis = client()
    const limiter = await spawnLimiter(system, {
      spec: { algorithm: 'sliding-log', limit: 1000, windowMs: 1000 },
      redis: { redis, prefix: uniqueRedisPrefix('outage'), commandTimeoutMs: 200 },
      insurance: { algorithm: 'sliding-log', limit: 5, windowMs: 1000 },
      storeRetryMs: 100,
    })
    const run = load(limiter, 20)
    await waitFor(() => run.count('store') > 200, { timeoutMs: 15_000, message: 'no store decisions before the outage' })

    await server.crash()
    const before = run.count('insurance')
    await waitFor(() => run.count('insurance') > before + 50, { timeoutMs: 15_000, message: 'the insurance limiter did not engage' })
    // The insurance limiter enforces its own (smaller) limit: it refuses too, it does not just wave through.
    await waitFor(() => run.decisions.some((d) => d.source === 'insurance' && !d.allowed), { timeoutMs: 5000 })

    await server.resume()
    const storeBefore = run.count('store')
    await waitFor(() => run.count('store') > storeBefore + 200, { timeoutMs: 20_000, message: 'the store was not used again after Redis came back' })
    await run.stop()

    expect(run.failures).toEqual([])
    expect(events.filter((e) => e.type !== 'child-started')).toEqual([])
    const stats = await limiter.ask('stats')
    expect(stats.storeFailures).toBeGreaterThan(0)
    expect(stats.bySource['fail-open']).toBe(0)
    redis.disconnect()
    await system.terminate()
  }, 90_000)

  it('without insurance: fail-closed refuses during the outage (never a silent allow), then recovers', async () => {
    const system = ActorSystem.create({ name: 'outage-closed', clock: new SystemClock() })
    const redis = client()
    const limiter = await spawnLimiter(system, {
      spec: { algorithm: 'gcra', maxBurst: 999, countPerPeriod: 1000, periodMs: 1000 },
      redis: { redis, prefix: uniqueRedisPrefix('closed'), commandTimeoutMs: 200 },
      failurePolicy: 'closed',
      storeRetryMs: 100,
    })
    const run = load(limiter, 10)
    await waitFor(() => run.count('store') > 100, { timeoutMs: 15_000 })
    await server.crash()
    await waitFor(() => run.count('fail-closed') > 20, { timeoutMs: 15_000, message: 'fail-closed never answered' })
    await server.resume()
    const storeBefore = run.count('store')
    await waitFor(() => run.count('store') > storeBefore + 100, { timeoutMs: 20_000 })
    await run.stop()
    expect(run.failures).toEqual([])
    expect(run.decisions.filter((d) => d.source === 'fail-closed').every((d) => !d.allowed && d.retryAfterMs >= 0)).toBe(true)
    expect(run.decisions.filter((d) => d.allowed && d.source !== 'store')).toEqual([])
    redis.disconnect()
    await system.terminate()
  }, 90_000)

  it("policy 'error' rejects with ERR_LIMITER_UNAVAILABLE while Redis is down", async () => {
    const system = ActorSystem.create({ name: 'outage-error', clock: new SystemClock() })
    const redis = new Redis(server.url, { retryStrategy: () => 50, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
    redis.on('error', () => {})
    await waitFor(() => redis.status === 'ready', { timeoutMs: 10_000 })
    const limiter = await spawnLimiter(system, {
      spec: { algorithm: 'fixed-window', limit: 10, windowMs: 1000 },
      redis: { redis, prefix: uniqueRedisPrefix('error') },
      failurePolicy: 'error',
    })
    expect((await limiter.ask('decide', 'k')).source).toBe('store')
    await server.crash()
    await expect(limiter.ask('decide', 'k')).rejects.toMatchObject({ code: LimiterErrorCodes.Unavailable })
    await server.resume()
    redis.disconnect()
    await system.terminate()
  }, 60_000)
})

describe('contention', () => {
  it('a Redis answering BUSY yields ERR_LIMITER_CONTENTION after the attempts, never an allow', async () => {
    const admin = client()
    await admin.config('SET', 'busy-reply-threshold', '20')
    const hog = client()
    // A script that never ends: Redis answers BUSY to every other script until SCRIPT KILL.
    const hogging = hog.eval('while true do end', 0).catch(() => 'killed')
    const redis = client()
    const limiter = new RedisLimiter({ algorithm: 'fixed-window', limit: 10, windowMs: 1000 }, { redis, clock: new SystemClock(), prefix: uniqueRedisPrefix('busy'), maxAttempts: 3, commandTimeoutMs: 5000 })
    try {
      // Wait until Redis is in fact refusing scripts.
      for (;;) {
        const probe = await admin.eval('return 1', 0).then(() => 'ok', (e: unknown) => String(e))
        if (probe.includes('BUSY')) break
      }
      const outcome = await limiter.decide('k', 1).catch((e: unknown) => e)
      expect(outcome).toMatchObject({ code: LimiterErrorCodes.Contention, data: { attempts: 3 } })
    } finally {
      await admin.script('KILL').catch(() => {})
      await hogging
      await admin.config('SET', 'busy-reply-threshold', '5000')
      for (const c of [admin, hog, redis]) c.disconnect()
    }
  }, 30_000)
})
