/**
 * The limiter actors under a supervisor, through the public entry: RateLimiterActor (local store,
 * metrics on a caller's registry, typed refusals across the ask) and ConcurrencyLimiterActor.
 */
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import {
  ConcurrencyLimiterActor,
  LimiterErrorCodes,
  LimiterMetrics,
  RateLimiterActor,
  withPermit,
  type ConcurrencyLimiterProtocol,
  type RateLimiterProtocol,
} from '../../../../actors/index.ts'
import { ActorSystem, type ActorRef } from '../../../../runtime/index.ts'
import { childSpec, Supervisor, type SupervisorProtocol } from '../../../../supervision/index.ts'
import { settle, VirtualClock, waitFor } from '../../../../testing/index.ts'

let system: ActorSystem | null = null
afterEach(async () => {
  await system?.terminate()
  system = null
})

async function child<P>(sup: ActorRef<SupervisorProtocol>, id: string): Promise<ActorRef<P>> {
  let ref: ActorRef<P> | null = null
  await waitFor(() => ref !== null || (void sup.ask('lookupChild', id).then((r) => (ref = r as ActorRef<P> | null)), false), { message: `no child ${id}` })
  return ref as unknown as ActorRef<P>
}

describe('RateLimiterActor', () => {
  it('decides under a supervisor, rejects consume with a typed error, and reports metrics', async () => {
    const clock = new VirtualClock(0)
    system = ActorSystem.create({ name: 'limiter-actor', clock })
    const registry = new Registry()
    const metrics = new LimiterMetrics(registry)
    const sup = system.spawn(Supervisor, {
      name: 'limits',
      args: [{ intensity: 3, children: [childSpec({ id: 'api', actor: RateLimiterActor, args: [{ spec: { algorithm: 'gcra', maxBurst: 1, countPerPeriod: 1, periodMs: 1000 }, metrics, name: 'api' }] })] }],
    })
    const limiter = await child<RateLimiterProtocol>(sup, 'api')
    expect(await limiter.ask('decide', 'user-1')).toMatchObject({ allowed: true, remaining: 1, limit: 2 })
    expect(await limiter.ask('consume', 'user-1')).toMatchObject({ allowed: true, remaining: 0 })
    const refused = await limiter.ask('consume', 'user-1').catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: LimiterErrorCodes.RateLimited, data: { allowed: false, retryAfterMs: 1000 } })
    // A bad argument is a rejection: the actor carries on with its state.
    await expect(limiter.ask('decide', 'user-1', -1)).rejects.toMatchObject({ code: LimiterErrorCodes.Invalid })
    expect(await limiter.ask('get', 'user-1')).toMatchObject({ remaining: 0 })
    clock.advance(1000)
    expect(await limiter.ask('decide', 'user-1')).toMatchObject({ allowed: true })
    const text = await registry.metrics()
    expect(text).toContain('troupe_rate_limiter_decisions_total{limiter="api",outcome="allowed",source="any"} 3')
    expect(text).toContain('troupe_rate_limiter_decisions_total{limiter="api",outcome="refused",source="any"} 1')
  })

  it('refuses an insurance limiter without a Redis store', async () => {
    system = ActorSystem.create({ name: 'limiter-bad', clock: new VirtualClock(0) })
    const spec = { algorithm: 'fixed-window', limit: 1, windowMs: 10 } as const
    let thrown: unknown = null
    try {
      system.spawn(RateLimiterActor, { args: [{ spec, insurance: spec }] })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ code: 'ERR_ACTOR_INIT', cause: { code: LimiterErrorCodes.Invalid } })
  })
})

describe('ConcurrencyLimiterActor', () => {
  it('holds at most maxConcurrent permits, queues, times out waiters, and takes back expired leases', async () => {
    const clock = new VirtualClock(0)
    system = ActorSystem.create({ name: 'concurrency', clock })
    const ref: ActorRef<ConcurrencyLimiterProtocol> = system.spawn(ConcurrencyLimiterActor, { args: [{ maxConcurrent: 2, maxQueue: 1, queueTimeoutMs: 100, leaseMs: 1000 }] })
    const a = await ref.ask('acquire')
    const b = await ref.ask('acquire')
    expect(await ref.ask('tryAcquire')).toBeNull()
    let third: string | null = null
    const waiting = ref.ask('acquire').then((p) => (third = p.id))
    await settle()
    await expect(ref.ask('acquire')).rejects.toMatchObject({ code: LimiterErrorCodes.ConcurrencyLimited })
    expect(await ref.ask('release', a.id)).toBe(true)
    await waiting
    expect(third).not.toBeNull()
    expect(await ref.ask('release', a.id)).toBe(false)
    // A waiter that gets nothing in time is refused.
    const timedOut = ref.ask('acquire').catch((e: unknown) => e)
    await settle()
    clock.advance(100)
    expect(await timedOut).toMatchObject({ code: LimiterErrorCodes.ConcurrencyLimited })
    // Leases end: b and the third permit come back by themselves.
    clock.advance(1000)
    expect((await ref.ask('stats')).inUse).toBe(0)
    expect((await ref.ask('stats')).expired).toBe(2)
    expect(b.expiresAtMs).toBe(1000)
  })

  it('withPermit releases however the work ends', async () => {
    system = ActorSystem.create({ name: 'with-permit', clock: new VirtualClock(0) })
    const ref: ActorRef<ConcurrencyLimiterProtocol> = system.spawn(ConcurrencyLimiterActor, { args: [{ maxConcurrent: 1 }] })
    expect(await withPermit(ref, () => 42)).toBe(42)
    await expect(withPermit(ref, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    // release is a tell; the mailbox keeps order, so this ask sees it handled.
    expect((await ref.ask('stats')).inUse).toBe(0)
  })
})
