/**
 * Three nodes (three actor systems, each with its own Redis and NATS connections) sharing a real
 * Redis L2 and real NATS invalidation: invalidation reaches every node, a dropped invalidation is
 * healed within the staleness window (syncGrace + 2 × syncInterval), and concurrent writers and
 * late loads never leave an older value over a newer one.
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { CacheView } from '../../../actors/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { startCluster, type CacheNode } from './support.ts'

let nodes: CacheNode[] = []
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()))
  nodes = []
})

const view = (n: CacheNode) => CacheView.of(n.system, 'users')

describe('Cache over real Redis and NATS, 3 nodes', () => {
  it('a set, a delete and a tag invalidation reach every node', async () => {
    nodes = await startCluster({ redisUrl: inject('redisUrl'), natsUrl: inject('natsUrl') })
    const [a, b, c] = nodes as [CacheNode, CacheNode, CacheNode]
    expect(await a.cache.ask('set', 'user:1', { name: 'Ada' }, { tags: ['team'] })).toMatchObject({ l2: 'written' })
    for (const n of nodes) expect(await n.cache.ask('get', 'user:1')).toEqual({ name: 'Ada' })
    await b.cache.ask('set', 'user:1', { name: 'Grace' }, { tags: ['team'] })
    await waitFor(() => nodes.every((n) => view(n).get('user:1') === undefined || (view(n).get('user:1') as { name: string }).name === 'Grace'), { timeoutMs: 5_000, message: 'set did not reach every node' })
    for (const n of nodes) expect(await n.cache.ask('get', 'user:1')).toEqual({ name: 'Grace' })
    await c.cache.ask('delete', 'user:1')
    await waitFor(() => nodes.every((n) => view(n).get('user:1') === undefined), { timeoutMs: 5_000, message: 'delete did not reach every node' })
    for (const n of nodes) expect(await n.cache.ask('get', 'user:1')).toBeUndefined()
    await a.cache.ask('set', 'user:2', 2, { tags: ['team'] })
    for (const n of nodes) expect(await n.cache.ask('get', 'user:2')).toBe(2)
    await c.cache.ask('invalidate', { tag: 'team' })
    await waitFor(() => nodes.every((n) => view(n).get('user:2') === undefined), { timeoutMs: 5_000, message: 'tag invalidation did not reach every node' })
    for (const n of nodes) expect((await n.cache.ask('stats')).heals).toBe(0)
  })

  it('heals a dropped invalidation within the staleness window', async () => {
    // Lose exactly the next invalidation into n3: a time window would race with delivery (flush
    // confirms the server got the message, not that n3 has read it).
    let toDrop = 0
    const dropInto = (node: string) => node === 'n3' && toDrop > 0 && toDrop-- > 0
    nodes = await startCluster({ redisUrl: inject('redisUrl'), natsUrl: inject('natsUrl'), dropInto })
    const [a, , c] = nodes as [CacheNode, CacheNode, CacheNode]
    await a.cache.ask('set', 'k', 'v1')
    expect(await c.cache.ask('get', 'k')).toBe('v1')
    toDrop = 1
    await a.cache.ask('set', 'k', 'v2')
    const written = performance.now()
    await waitFor(() => view(c).get('k') !== 'v1', { timeoutMs: 10_000, message: 'the dropped invalidation was never healed' })
    expect(toDrop).toBe(0)
    const healedAfterMs = performance.now() - written
    // Window: syncGrace (100) + 2 × syncInterval (200) = 500 ms; timers on this shared machine run late, hence the margin.
    expect(healedAfterMs).toBeLessThan(500 + 1_500)
    expect(await c.cache.ask('get', 'k')).toBe('v2')
    expect((await c.cache.ask('stats')).heals).toBe(1)
  })

  it('write ordering: concurrent writers and late loads never leave an older value over a newer one', async () => {
    // This one on ioredis connections of the nodes' own (RedisCacheL2's other wiring); the others on RedisClient actors.
    nodes = await startCluster({ redisUrl: inject('redisUrl'), natsUrl: inject('natsUrl'), l2Via: 'ioredis' })
    const keys = ['a', 'b', 'c', 'd']
    // Slow loads of an "old" value race with sets of increasing values from every node.
    const slowOld = (key: string) => new Promise<string>((resolve) => setTimeout(() => resolve(`${key}:old`), 30))
    const writers = nodes.flatMap((n, w) =>
      keys.map(async (key) => {
        for (let i = 0; i < 25; i++) {
          await n.cache.ask('set', key, `${key}:${w}:${i}`)
          if (i % 5 === 0) await n.cache.ask('delete', key).then(() => n.cache.ask('getOrLoad', key, slowOld))
        }
      }),
    )
    await Promise.all(writers)
    // The last invalidations are on their way: flush each connection.
    await Promise.all(nodes.map((n) => n.nats.flush()))
    for (const key of keys) {
      const last = await Promise.all(nodes.map((n) => n.cache.ask('getOrLoad', key, slowOld)))
      // Every node agrees, and the value is a write, never the late "old" load.
      await waitFor(() => new Set(nodes.map((n) => view(n).get(key))).size === 1, { timeoutMs: 5_000, message: `nodes disagree on ${key}: ${JSON.stringify(last)}` })
      const agreed = view(nodes[0]!).get(key) as string
      expect(agreed).toMatch(new RegExp(`^${key}:\\d:24$`))
    }
  })
})
