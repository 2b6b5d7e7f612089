import { describe, expect, it } from 'vitest'
import { waitForValue } from '../../../../testing/index.ts'
import { hashShard, ShardedSystem, type PlacementOptions } from '../../../../transport/index.ts'
import { Counter, Placer } from './testApp.ts'
import { shardedSystems } from './support.ts'

const app = new URL('./testApp.ts', import.meta.url)

const startSharded = shardedSystems()

async function shardsOfSpawns(system: ShardedSystem, count: number, options: PlacementOptions = {}): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(await (await system.spawn(Counter, { ...options })).ask('whereAmI'))
  return out
}

describe('placement of sharded spawns', () => {
  it('an explicit shard wins over any strategy, 0 being the main thread', async () => {
    const system = await startSharded({ name: 'place', shards: 2, app, placement: 'hash' })
    expect(await shardsOfSpawns(system, 1, { shard: 2 })).toEqual([2])
    expect(await shardsOfSpawns(system, 1, { shard: 0 })).toEqual([0])
    await expect(system.spawn(Counter, { shard: 3 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  }, 30_000)

  it('round-robin (the default) alternates over the worker shards, with one counter for every thread', async () => {
    const system = await startSharded({ name: 'place', shards: 2, app })
    const fromMain = await shardsOfSpawns(system, 4)
    expect(fromMain[0]).not.toBe(fromMain[1])
    expect(fromMain).toEqual([fromMain[0], fromMain[1], fromMain[0], fromMain[1]])
    // A spawn from a worker draws from the same counter: the next one continues the sequence.
    const placer = await system.spawn(Placer, { shard: 1 })
    const next = await placer.ask('spawnCounter', {})
    const after = await shardsOfSpawns(system, 1)
    expect([next, after[0]].sort()).toEqual([1, 2])
  }, 30_000)

  it('hash places a name on the same shard from every thread', async () => {
    const system = await startSharded({ name: 'place', shards: 2, app })
    const placer1 = await system.spawn(Placer, { shard: 1 })
    const placer2 = await system.spawn(Placer, { shard: 2 })
    const names = Array.from({ length: 20 }, (_, i) => `user-${i}`)
    for (const name of names) {
      const expected = hashShard(name, 2)
      expect(system.context.place({ placement: 'hash', name })).toBe(expected)
      expect(await placer1.ask('placeOf', { placement: 'hash', name })).toBe(expected)
      expect(await placer2.ask('placeOf', { placement: 'hash', key: name })).toBe(expected)
    }
    // Both shards get some of them.
    expect(new Set(names.map((name) => hashShard(name, 2)))).toEqual(new Set([1, 2]))
    const ref = await system.spawn(Counter, { placement: 'hash', name: 'user-3' })
    expect(await ref.ask('whereAmI')).toBe(hashShard('user-3', 2))
    await expect(system.spawn(Counter, { placement: 'hash' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  }, 30_000)

  it('least-loaded fills the emptier shard first, counting a burst of its own placements', async () => {
    const system = await startSharded({ name: 'place', shards: 2, app, loadReportMs: 10 })
    for (let i = 0; i < 8; i++) await system.spawn(Counter, { shard: 1 })
    // Shard 1 counts its 8 extra actors (plus its app supervisor and greeter); shard 2 only its app's 2.
    await waitForValue(() => system.stats(), (stats) => stats.shards[1]?.actorCount === 10 && stats.shards[2]?.actorCount === 2)
    const placed = await Promise.all(Array.from({ length: 6 }, () => system.spawn(Counter, { placement: 'least-loaded' }).then((r) => r.ask('whereAmI'))))
    expect(placed).toEqual([2, 2, 2, 2, 2, 2])
    // Now shard 2 has 2 (app) + 6 = 8 against 10: the next ones go to shard 2 until they even out, then alternate.
    const more = await shardsOfSpawns(system, 4, { placement: 'least-loaded' })
    expect(more.slice(0, 2)).toEqual([2, 2])
    expect(new Set(more.slice(2))).toEqual(new Set([1, 2]))
  }, 30_000)

  it('local places on the calling thread', async () => {
    const system = await startSharded({ name: 'place', shards: 2, app })
    const placer = await system.spawn(Placer, { shard: 2 })
    expect(await placer.ask('spawnCounter', { placement: 'local' })).toBe(2)
    expect(await shardsOfSpawns(system, 1, { placement: 'local' })).toEqual([0])
  }, 30_000)
})
