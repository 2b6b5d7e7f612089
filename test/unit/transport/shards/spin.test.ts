import { describe, expect, it } from 'vitest'
import { ShardedSystem } from '../../../../transport/index.ts'
import { VirtualClock, waitForValue } from '../../../../testing/index.ts'
import { Counter } from './testApp.ts'
import { shardedSystems } from './support.ts'

const app = new URL('./testApp.ts', import.meta.url)
const startSharded = shardedSystems()

/** Parks of shard 2's inbound pump so far. */
async function parksOf(system: ShardedSystem, shard: number): Promise<number> {
  const stats = await system.stats()
  return stats.shards.find((s) => s.shard === shard)?.transport.parks ?? -1
}

describe('idle shards poll before they park', () => {
  it('a conversation whose next message comes within the spin window never parks the shard', async () => {
    // A window far longer than a round trip, so the assertion holds on a loaded machine.
    const sharded = await startSharded({ name: 'spinning', shards: 2, app, spinMs: 2000 })
    const counter = await sharded.spawn(Counter, { shard: 2 })
    await counter.ask('get')
    const before = await parksOf(sharded, 2)
    for (let i = 0; i < 50; i++) await counter.ask('get')
    expect((await parksOf(sharded, 2)) - before).toBe(0)
    expect((await sharded.stats()).shards.find((s) => s.shard === 2)?.transport.polls).toBeGreaterThan(0)
  }, 30_000)

  it('with spinMs 0 a shard parks as soon as its rings are empty', async () => {
    const sharded = await startSharded({ name: 'parking', shards: 2, app, spinMs: 0 })
    const counter = await sharded.spawn(Counter, { shard: 2 })
    await counter.ask('get')
    const before = await parksOf(sharded, 2)
    for (let i = 0; i < 50; i++) await counter.ask('get')
    expect((await parksOf(sharded, 2)) - before).toBeGreaterThanOrEqual(50)
  }, 30_000)

  it('a clock that does not advance cannot keep a shard polling: it parks after a bounded number of polls', async () => {
    const sharded = await startSharded({ name: 'frozen-clock', shards: 1, app, main: { clock: new VirtualClock() } })
    const main = async () => (await sharded.stats()).shards.find((s) => s.shard === 0)?.transport
    const counter = await sharded.spawn(Counter, { shard: 1 })
    expect(await counter.ask('get')).toBe(0)
    // Every idle spell (each frame wakes the pump, the stats requests included) ends in a park
    // after a bounded number of polls, though the clock never moves.
    const parked = await waitForValue(main, (t) => t !== undefined && t.parks >= 2)
    expect(parked?.polls).toBeGreaterThan(0)
    expect(parked?.polls).toBeLessThanOrEqual(((parked?.parks ?? 0) + 1) * 2048) // the spell under way when stats were read
  }, 30_000)
})
