import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { TroupeMetrics } from '../../../../cluster/index.ts'
import { shardedSystems } from './support.ts'

const app = new URL('./testApp.ts', import.meta.url)
const startSharded = shardedSystems()

describe('shard metrics', () => {
  it('exports ring occupancy, frames, parks and actors per shard on the caller registry', async () => {
    const sharded = await startSharded({ name: 'metered-shards', shards: 2, app })
    const registry = new Registry()
    const metrics = new TroupeMetrics({ registry })
    metrics.observeShards(sharded)
    const { Counter } = await import('./testApp.ts')
    const counter = await sharded.spawn(Counter, { shard: 2 })
    for (let i = 0; i < 100; i++) counter.tell('add', 1)
    expect(await counter.ask('get')).toBe(100)
    const text = await registry.metrics()
    for (const shard of ['0', '1', '2']) expect(text).toMatch(new RegExp(`troupe_shard_ring_capacity_bytes\\{shard="${shard}"\\} [1-9]`))
    expect(text).toMatch(/troupe_shard_frames_total\{shard="2",direction="in"\} [1-9]/)
    expect(text).toMatch(/troupe_shard_actors\{shard="2"\} [1-9]/)
    expect(text).toMatch(/troupe_shard_ring_bytes_used\{shard="1"\} \d+/)
    metrics.close()
  }, 30_000)
})
