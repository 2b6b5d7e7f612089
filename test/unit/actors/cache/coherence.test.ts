/**
 * Cluster coherence and outages in virtual time, with the bus and L2 twins: invalidations reach
 * every node, a dropped one is healed by the generation check within the staleness window, writes
 * queue (or drop, counted) while L2 is down and land in order after, and the Bloom filter skips
 * known misses.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { CacheView } from '../../../../actors/index.ts'
import { settle, World } from './helpers.ts'

let world: World
afterEach(async () => {
  await world?.terminate()
})

async function three(options = {}) {
  return [await world.node('n1', options), await world.node('n2', options), await world.node('n3', options)] as const
}

describe('Cache: cluster invalidation (twins)', () => {
  it('a set or delete on one node drops the older copies on every other node', async () => {
    world = new World()
    const nodes = await three()
    await nodes[0].cache.ask('set', 'k', 'v1')
    for (const n of nodes) expect(await n.cache.ask('get', 'k')).toBe('v1')
    await nodes[1].cache.ask('set', 'k', 'v2')
    await settle(5)
    for (const n of nodes) expect(await n.cache.ask('get', 'k')).toBe('v2')
    await nodes[2].cache.ask('delete', 'k')
    await settle(5)
    for (const n of nodes) expect(CacheView.of(n.system, 'users').get('k')).toBeUndefined()
  })

  it('invalidates by prefix and by tag everywhere', async () => {
    world = new World()
    const nodes = await three()
    await nodes[0].cache.ask('set', 'user:1', 'a', { tags: ['team:x'] })
    await nodes[0].cache.ask('set', 'user:2', 'b')
    await nodes[0].cache.ask('set', 'order:1', 'c', { tags: ['team:x'] })
    for (const n of nodes) for (const k of ['user:1', 'user:2', 'order:1']) await n.cache.ask('get', k)
    await nodes[1].cache.ask('invalidate', { prefix: 'user:' })
    await settle(5)
    for (const n of nodes) {
      const view = CacheView.of(n.system, 'users')
      expect([view.get('user:1'), view.get('user:2'), view.get('order:1')]).toEqual([undefined, undefined, 'c'])
    }
    await nodes[2].cache.ask('invalidate', { tag: 'team:x' })
    await settle(5)
    for (const n of nodes) {
      expect(CacheView.of(n.system, 'users').get('order:1')).toBeUndefined()
      expect(await n.cache.ask('get', 'order:1')).toBeUndefined()
    }
  })

  it('heals a dropped invalidation within syncGrace + 2 × syncInterval', async () => {
    world = new World()
    const opts = { syncIntervalMs: 100, syncGraceMs: 50, retryIntervalMs: 100 }
    const nodes = await three(opts)
    await nodes[0].cache.ask('set', 'k', 'v1')
    for (const n of nodes) await n.cache.ask('get', 'k')
    // n3 never hears of the next write.
    world.hub.faults.drop = (_, to) => to === 'n3'
    await nodes[0].cache.ask('set', 'k', 'v2')
    world.hub.faults.drop = null
    await settle(5)
    expect(CacheView.of(nodes[2].system, 'users').get('k')).toBe('v1')
    const window = 50 + 2 * 100
    await world.advance(window, 10)
    expect(await nodes[2].cache.ask('get', 'k')).toBe('v2')
    expect((await nodes[2].cache.ask('stats')).heals).toBe(1)
    expect((await nodes[1].cache.ask('stats')).heals).toBe(0)
  })

  it('heals at once on a sequence gap from an origin', async () => {
    world = new World()
    const nodes = await three()
    await nodes[0].cache.ask('set', 'a', 1)
    await nodes[2].cache.ask('get', 'a')
    await nodes[2].cache.ask('set', 'b', 2)
    world.hub.faults.drop = (m, to) => to === 'n3' && m.target === 'a'
    await nodes[0].cache.ask('set', 'a', 10)
    world.hub.faults.drop = null
    await nodes[0].cache.ask('set', 'c', 3)
    await settle(5)
    expect((await nodes[2].cache.ask('stats')).heals).toBe(1)
    expect(await nodes[2].cache.ask('get', 'a')).toBe(10)
  })
})

describe('Cache: L2 outage', () => {
  it('keeps serving L1, queues writes and lands them after the outage; a superseded one is dropped', async () => {
    world = new World()
    const [a, b] = await three({ retryIntervalMs: 100 })
    await a.cache.ask('set', 'x', 'x1')
    await a.cache.ask('set', 'y', 'y1')
    world.l2.faults.down = true
    expect(await a.cache.ask('get', 'x')).toBe('x1')
    expect(await a.cache.ask('set', 'x', 'x2')).toMatchObject({ l2: 'queued' })
    expect(await a.cache.ask('set', 'y', 'y2')).toMatchObject({ l2: 'queued' })
    expect(await a.cache.ask('get', 'x')).toBe('x2')
    world.l2.faults.down = false
    // Before a's retry, b writes y: a's queued y2 is older and must not overwrite it.
    await b.cache.ask('set', 'y', 'y3')
    await world.advance(200, 50)
    const stats = await a.cache.ask('stats')
    expect(stats.writesFlushed).toBe(2)
    expect(stats.writesDropped).toMatchObject({ superseded: 1 })
    expect(await b.cache.ask('get', 'x')).toBe('x2')
    expect(await a.cache.ask('get', 'y')).toBe('y3')
  })

  it('drops writes by policy or when the queue is full, counted by reason', async () => {
    world = new World()
    const { cache } = await world.node('d', { l2WritePolicy: 'drop' })
    const q = await world.node('q', { writeQueueMax: 1 })
    world.l2.faults.down = true
    expect(await cache.ask('set', 'k', 1)).toMatchObject({ l2: 'dropped' })
    expect(await q.cache.ask('set', 'k1', 1)).toMatchObject({ l2: 'queued' })
    expect(await q.cache.ask('set', 'k2', 1)).toMatchObject({ l2: 'dropped' })
    expect((await cache.ask('stats')).writesDropped).toEqual({ policy_drop: 1 })
    expect((await q.cache.ask('stats')).writesDropped).toEqual({ queue_full: 1 })
  })

  it('the Bloom filter skips L2 reads for keys it knows are absent', async () => {
    world = new World()
    const { cache } = await world.node('n1', { bloom: { expectedKeys: 1_000, falsePositiveRate: 0.01 } })
    await cache.ask('set', 'present', 1)
    const before = world.l2.calls['read'] ?? 0
    for (let i = 0; i < 100; i++) await cache.ask('get', `absent-${i}`)
    const stats = await cache.ask('stats')
    expect(stats.l2BloomSkips).toBeGreaterThanOrEqual(95)
    expect((world.l2.calls['read'] ?? 0) - before).toBeLessThanOrEqual(5)
    await cache.ask('delete', 'present')
    expect(await cache.ask('get', 'present')).toBeUndefined()
  })
})

describe('Cache: L2 data loss', () => {
  it('heals L1 when L2 lost its data (generation went back), so stale versions cannot outrank new values', async () => {
    world = new World()
    const [a, b] = await three({ syncIntervalMs: 100, retryIntervalMs: 100 })
    for (let i = 0; i < 5; i++) await a.cache.ask('set', 'k', `v${i}`)
    expect(await b.cache.ask('get', 'k')).toBe('v4')
    world.l2.loseEverything()
    await a.cache.ask('set', 'k', 'after')
    await world.advance(300, 50)
    expect(await b.cache.ask('get', 'k')).toBe('after')
    expect((await b.cache.ask('stats')).heals).toBeGreaterThanOrEqual(1)
  })
})
