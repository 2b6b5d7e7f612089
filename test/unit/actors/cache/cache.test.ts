/**
 * The Cache actor in virtual time (VirtualClock, L2 and bus twins): stampede protection, L1 fills
 * that keep L2's remaining TTL, stale-while-revalidate, fail-safe, loader failures and timeouts,
 * negative caching, write ordering, and the synchronous read view.
 */
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { CacheErrorCodes, CacheView, CacheMetrics, ActorsErrorCodes } from '../../../../actors/index.ts'
import { settle, slowLoader, World } from './helpers.ts'

let world: World
afterEach(async () => {
  await world?.terminate()
})

describe('Cache: loads', () => {
  it('serves 1,000 concurrent misses of one key with one load (single-flight) and one L2 read', async () => {
    world = new World()
    const { cache } = await world.node('n1')
    const loader = slowLoader(world.clock, 100)
    const reads = world.l2.calls['read'] ?? 0
    const answers = Array.from({ length: 1000 }, () => cache.ask('getOrLoad', 'hot', loader.fn))
    await settle(10)
    await world.advance(100)
    const values = await Promise.all(answers)
    expect(new Set(values)).toEqual(new Set(['hot#1']))
    expect(loader.calls).toBe(1)
    expect((world.l2.calls['read'] ?? 0) - reads).toBe(1)
    const stats = await cache.ask('stats')
    expect(stats.loads).toBe(1)
    expect(stats.singleFlightJoins).toBe(999)
    // Now a hit: no further load.
    expect(await cache.ask('getOrLoad', 'hot', loader.fn)).toBe('hot#1')
    expect(loader.calls).toBe(1)
  })

  it('fills L1 from L2 with the remaining TTL, never a fresh one', async () => {
    world = new World()
    const a = await world.node('a')
    const b = await world.node('b')
    await a.cache.ask('set', 'k', 'v1', { ttlMs: 10_000 })
    await world.advance(7_000)
    expect(await b.cache.ask('get', 'k')).toBe('v1')
    const view = CacheView.of(b.system, 'users')
    await world.advance(2_990)
    expect(view.get('k')).toBe('v1')
    await world.advance(20)
    // 10 s after the write: expired in L2, so B's copy (filled 3 s before the end) is gone too.
    expect(view.get('k')).toBeUndefined()
    expect(await b.cache.ask('get', 'k')).toBeUndefined()
  })

  it('caches "not found" with its own TTL', async () => {
    world = new World()
    const { cache } = await world.node('n1', { negativeTtlMs: 1_000 })
    let calls = 0
    const loader = (): undefined => void calls++
    expect(await cache.ask('getOrLoad', 'ghost', loader)).toBeUndefined()
    expect(await cache.ask('getOrLoad', 'ghost', loader)).toBeUndefined()
    expect(calls).toBe(1)
    expect((await cache.ask('stats')).l1NegativeHits).toBe(1)
    await world.advance(1_001)
    await cache.ask('getOrLoad', 'ghost', loader)
    expect(calls).toBe(2)
  })

  it('rejects a failed load with ERR_CACHE_LOAD_FAILED (cause kept) and the actor carries on', async () => {
    world = new World()
    const { cache } = await world.node('n1')
    const error = await cache.ask('getOrLoad', 'k', () => Promise.reject(new Error('db down'))).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: CacheErrorCodes.LoadFailed, data: { key: 'k' } })
    expect(await cache.ask('getOrLoad', 'k', () => 'ok')).toBe('ok')
    await expect(cache.ask('getOrLoad', '', () => 'x')).rejects.toMatchObject({ code: CacheErrorCodes.BadCall })
    await expect(cache.ask('getOrLoad', 'k2')).rejects.toMatchObject({ code: CacheErrorCodes.BadCall })
  })

  it('fails a load past its hard timeout, then lets it complete in the background and fill', async () => {
    world = new World()
    const { cache } = await world.node('n1', { hardTimeoutMs: 50 })
    const loader = slowLoader(world.clock, 200)
    const answer = cache.ask('getOrLoad', 'slow', loader.fn).catch((e: unknown) => e)
    await settle(5)
    await world.advance(60, 10)
    expect(await answer).toMatchObject({ code: CacheErrorCodes.LoadTimeout, data: { timeoutMs: 50 } })
    await world.advance(200, 50)
    expect(await cache.ask('get', 'slow')).toBe('slow#1')
    expect((await cache.ask('stats')).loadTimeouts).toBe(1)
  })

  it('answers stale at the soft timeout while the load completes in the background', async () => {
    world = new World()
    const { cache } = await world.node('n1', { ttlMs: 1_000, maxStaleMs: 10_000, softTimeoutMs: 20 })
    await cache.ask('set', 'k', 'old')
    await world.advance(1_500)
    const loader = slowLoader(world.clock, 100, () => 'new')
    const answer = cache.ask('getOrLoad', 'k', loader.fn)
    await settle(5)
    await world.advance(30, 10)
    expect(await answer).toBe('old')
    await world.advance(100, 50)
    expect(await cache.ask('get', 'k')).toBe('new')
  })
})

describe('Cache: stale-while-revalidate and fail-safe', () => {
  it('serves stale at once and refreshes in the background (one refresh)', async () => {
    world = new World()
    const { cache } = await world.node('n1', { ttlMs: 1_000, maxStaleMs: 5_000, staleWhileRevalidate: true })
    const loader = slowLoader(world.clock, 100)
    const first = cache.ask('getOrLoad', 'k', loader.fn)
    await settle(5)
    await world.advance(100)
    expect(await first).toBe('k#1')
    await world.advance(1_200)
    expect(await Promise.all([cache.ask('getOrLoad', 'k', loader.fn), cache.ask('getOrLoad', 'k', loader.fn)])).toEqual(['k#1', 'k#1'])
    await world.advance(100, 50)
    expect(loader.calls).toBe(2)
    expect(await cache.ask('getOrLoad', 'k', loader.fn)).toBe('k#2')
    expect((await cache.ask('stats')).staleServes).toBe(2)
  })

  it('fail-safe: a failing loader or L2 gets the stale value within max-stale, an error past it', async () => {
    world = new World()
    const { cache } = await world.node('n1', { ttlMs: 1_000, maxStaleMs: 5_000, failSafeThrottleMs: 500 })
    expect(await cache.ask('getOrLoad', 'k', () => 'v1')).toBe('v1')
    await world.advance(2_000)
    let calls = 0
    const failing = (): Promise<never> => (calls++, Promise.reject(new Error('source down')))
    expect(await cache.ask('getOrLoad', 'k', failing)).toBe('v1')
    // Throttle: the stale value counts as fresh for 500 ms, so the failing source is not hammered.
    expect(await cache.ask('getOrLoad', 'k', failing)).toBe('v1')
    expect(calls).toBe(1)
    world.l2.faults.down = true
    await world.advance(600)
    expect(await cache.ask('get', 'k')).toBe('v1')
    world.l2.faults.down = false
    await world.advance(5_000)
    await expect(cache.ask('getOrLoad', 'k', failing)).rejects.toMatchObject({ code: CacheErrorCodes.LoadFailed })
  })

  it('a breaker around the loader opens after failures and rejects loads without calling it', async () => {
    world = new World()
    const { cache } = await world.node('n1', { breaker: { windowType: 'count', windowSize: 4, minimumCalls: 4, failureRateThreshold: 50, waitInOpenMs: 1_000 }, negativeTtlMs: 0 })
    let calls = 0
    const failing = (): Promise<never> => (calls++, Promise.reject(new Error('down')))
    for (let i = 0; i < 4; i++) await cache.ask('getOrLoad', `k${i}`, failing).catch(() => {})
    await expect(cache.ask('getOrLoad', 'k9', failing)).rejects.toMatchObject({ code: ActorsErrorCodes.CallNotPermitted })
    expect(calls).toBe(4)
    expect((await cache.ask('stats')).loadsRejected).toBe(1)
  })
})

describe('Cache: writes, ordering, view and metrics', () => {
  it('a load that started before a set never overwrites it (compare-and-set on the version)', async () => {
    world = new World()
    const a = await world.node('a')
    const b = await world.node('b')
    const loader = slowLoader(world.clock, 100, () => 'from-db-old')
    const loading = a.cache.ask('getOrLoad', 'k', loader.fn)
    await settle(5)
    expect((await b.cache.ask('set', 'k', 'newer')).l2).toBe('written')
    await world.advance(100, 25)
    expect(await loading).toBe('from-db-old')
    await settle(5)
    expect((await a.cache.ask('stats')).writesDropped).toMatchObject({ superseded: 1 })
    expect(await a.cache.ask('get', 'k')).toBe('newer')
    expect(await b.cache.ask('get', 'k')).toBe('newer')
  })

  it('hits through the synchronous view without a message; misses and writes go through the actor', async () => {
    world = new World()
    const { system, cache } = await world.node('n1')
    const view = CacheView.of<string>(system, 'users')
    expect(view.bound).toBe(true)
    expect(view.get('k')).toBeUndefined()
    await cache.ask('set', 'k', 'v')
    expect(view.get('k')).toBe('v')
    expect(view.lookup('k')).toMatchObject({ value: 'v', negative: false })
    expect((await cache.ask('stats')).viewHits).toBe(2)
    await cache.ask('delete', 'k')
    expect(view.get('k')).toBeUndefined()
  })

  it('reports metrics on a caller registry', async () => {
    world = new World()
    const registry = new Registry()
    const { cache } = await world.node('n1', { metrics: CacheMetrics.of(registry) })
    await cache.ask('getOrLoad', 'a', () => 1)
    await cache.ask('getOrLoad', 'a', () => 1)
    const text = await registry.metrics()
    expect(text).toContain('troupe_cache_requests_total{cache="users",tier="l1",result="hit"} 1')
    expect(text).toContain('troupe_cache_requests_total{cache="users",tier="load",result="success"} 1')
    expect(text).toContain('troupe_cache_size{cache="users",unit="entries"} 1')
    expect(text).toContain('troupe_cache_loads_total{cache="users",kind="started"} 1')
  })

  it('refuses invalid options with every problem listed', async () => {
    world = new World()
    const { system } = await world.node('n1')
    const { Cache } = await import('../../../../actors/index.ts')
    expect(() => system.spawn(Cache, { args: [{ name: 'bad name', ttlMs: -1, staleWhileRevalidate: true }] })).toThrow(
      expect.objectContaining({ cause: expect.objectContaining({ code: CacheErrorCodes.InvalidConfig }) }),
    )
  })
})
