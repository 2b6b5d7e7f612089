import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitForValue } from '../../../../testing/index.ts'
import { ShardedSystem, shardsOf } from '../../../../transport/index.ts'
import { Counter, Crasher, Greeter, Recorder, Sender, Watcher, type GreeterProtocol } from './testApp.ts'

const app = new URL('./testApp.ts', import.meta.url)

let sharded: ShardedSystem

beforeAll(async () => {
  sharded = await ShardedSystem.create({ name: 'xs', shards: 2, app })
}, 30_000)

afterAll(async () => {
  await sharded?.terminate()
}, 20_000)

// Worker threads on a loaded machine (the whole suite runs files in parallel): generous deadlines.
describe('cross-shard messaging through refs', { timeout: 30_000 }, () => {
  it('tells and asks actors on each worker shard and on the main thread', async () => {
    const one = await sharded.spawn(Counter, { shard: 1, args: [10] })
    const two = await sharded.spawn(Counter, { shard: 2, args: [20] })
    const main = await sharded.spawn(Counter, { shard: 0, args: [0] })
    expect(one.cell).toBeNull()
    expect(main.cell).not.toBeNull()
    expect(await one.ask('whereAmI')).toBe(1)
    expect(await two.ask('whereAmI')).toBe(2)
    expect(await main.ask('whereAmI')).toBe(0)
    for (let i = 0; i < 1000; i++) one.tell('add', 1)
    expect(await one.ask('get')).toBe(1010)
  })

  it('keeps per-sender order and loses nothing between two worker shards', async () => {
    const recorder = await sharded.spawn(Recorder, { shard: 2 })
    const sender = await sharded.spawn(Sender, { shard: 1 })
    const result = await sender.askWith({ timeoutMs: 20_000 }, 'blast', recorder, 7, 50_000)
    expect(result).toEqual({ sent: 50_000, errors: {} })
    const summary = await waitForValue(() => recorder.ask('summary'), (s) => s.count === 50_000, { timeoutMs: 20_000 })
    expect(summary).toEqual({ count: 50_000, inOrder: true, perSender: { '7': 50_000 } })

    // The metrics snapshot: Remoting batched the envelopes, and the rings counted what crossed them.
    const stats = await sharded.stats()
    expect(stats.missing).toEqual([])
    expect(stats.shards.map((s) => s.shard)).toEqual([0, 1, 2])
    const one = stats.shards[1]
    const toTwo = one?.peers.find((p) => p.shard === 2)
    expect(one?.remoting.envelopesOut).toBeGreaterThanOrEqual(50_000)
    expect(one?.remoting.framesOut).toBeLessThan(one?.remoting.envelopesOut ?? 0)
    expect(toTwo?.outbound?.framesWritten).toBeGreaterThan(0)
    expect(one?.peers.reduce((sum, p) => sum + (p.outbound?.framesWritten ?? 0), 0)).toBe(one?.transport.framesOut)
    expect(toTwo?.outbound?.capacity).toBe(1 << 20)
    expect(toTwo?.outbound?.bytesUsed).toBeGreaterThanOrEqual(0)
    const two = stats.shards[2]
    const fromOne = two?.peers.find((p) => p.shard === 1)
    expect(fromOne?.inbound?.framesRead).toBeGreaterThan(0)
    expect(two?.transport.parks).toBeGreaterThan(0)
    expect(two?.transport.wakes).toBeGreaterThan(0)
    expect(two?.state).toBe('up')
  })

  it('rejects a cross-shard ask with the handler error, rebuilt from its code', async () => {
    const counter = await sharded.spawn(Counter, { shard: 1 })
    await expect(counter.ask('failNow', 'nope')).rejects.toMatchObject({ message: 'nope' })
  })

  it('spawns on another shard from inside an actor', async () => {
    const crasher = await sharded.spawn(Crasher, { shard: 1 })
    expect(await crasher.ask('spawnElsewhere', 2)).toBe(2)
    expect(await crasher.ask('spawnElsewhere', 0)).toBe(0)
  })

  it('delivers Terminated across shards to an actor watcher and to plain-code watch', async () => {
    const counter = await sharded.spawn(Counter, { shard: 2 })
    const watcher = await sharded.spawn(Watcher, { shard: 1 })
    watcher.tell('watchIt', counter)
    const fromMain = sharded.watch(counter)
    // A round trip through shard 1 orders the watch before the failure below.
    await watcher.ask('seen')
    await expect(counter.ask('failNow', 'x')).rejects.toThrow('x')
    // Default guardian restarts it; stop it for good through a poison pill.
    sharded.system.poison(counter)
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1)
    expect(seen[0]).toEqual({ path: counter.path, reason: { kind: 'normal' } })
    expect((await fromMain).reason).toEqual({ kind: 'normal' })
  })

  it('finds the app-started actor of every shard by name', async () => {
    for (const shard of [1, 2]) {
      const greeter = await sharded.lookup<GreeterProtocol>('greeter', shard)
      expect(greeter).toBeDefined()
      expect(await greeter?.ask('greet', 'main')).toBe(`hello main from shard ${shard}`)
    }
    expect(await sharded.lookup('nobody', 1)).toBeUndefined()
  })

  it('fails a spawn of an unregistered class or a taken name with a typed error', async () => {
    await expect(sharded.spawn('Nope', { shard: 1 })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ACTOR_CLASS' })
    await sharded.spawn(Greeter, { shard: 1, name: 'twin' })
    await expect(sharded.spawn(Greeter, { shard: 1, name: 'twin' })).rejects.toMatchObject({ code: 'ERR_NAME_TAKEN' })
    expect(shardsOf(sharded.system)).toBe(sharded.context)
  })
})
