import { describe, expect, it } from 'vitest'
import { DeadLetterTopic, type DeadLetter } from '../../../../runtime/index.ts'
import { waitFor, waitForValue } from '../../../../testing/index.ts'
import { ShardedSystem, ShardEventTopic, type ShardEvent } from '../../../../transport/index.ts'
import { Counter, Crasher, Recorder, Watcher, type GreeterProtocol } from './testApp.ts'
import { shardedSystems } from './support.ts'

const app = new URL('./testApp.ts', import.meta.url)

const startSharded = shardedSystems()

function events(system: ShardedSystem): ShardEvent[] {
  const seen: ShardEvent[] = []
  system.system.subscribe(ShardEventTopic, (event) => seen.push(event))
  return seen
}

describe('shard crash recovery', () => {
  it.each([
    ['process.exit in a handler', 'exitThread'],
    ['an uncaught error outside any handler', 'throwUncaught'],
  ] as const)('%s: watchers get shard-down, asks fail fast, the shard restarts and runs startShard again', async (_label, how) => {
    const system = await startSharded({ name: 'crash', shards: 2, app })
    const seen = events(system)
    const crasher = await system.spawn(Crasher, { shard: 1 })
    const victim = await system.spawn(Counter, { shard: 1 })
    const oldGreeter = await system.lookup<GreeterProtocol>('greeter', 1)
    // Watchers on the main thread and on the surviving shard.
    const mainWatch = system.watch(victim)
    const watcher = await system.spawn(Watcher, { shard: 2 })
    watcher.tell('watchIt', victim)
    await watcher.ask('seen')
    // An ask that will never be answered, in flight when the shard dies.
    const hanger = await system.spawn(Crasher, { shard: 1 })
    const hanging = hanger.askWith({ timeoutMs: 60_000 }, 'hang')
    await victim.ask('get')

    const started = performance.now()
    if (how === 'exitThread') crasher.tell('exitThread', 7)
    else crasher.tell('throwUncaught', 'boom in a timer')

    await expect(hanging).rejects.toMatchObject({ code: 'ERR_SHARD_DOWN' })
    expect(performance.now() - started).toBeLessThan(10_000)
    expect((await mainWatch).reason).toEqual({ kind: 'shard-down', node: 'local', shard: 1 })
    const fromShard2 = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1)
    expect(fromShard2[0]?.reason).toEqual({ kind: 'shard-down', node: 'local', shard: 1 })

    const down = seen.find((e) => e.event === 'down')
    expect(down?.shard).toBe(1)
    if (how === 'exitThread') expect(down?.exitCode).toBe(7)
    else expect(down?.error?.message).toContain('boom in a timer')

    // Restarted: fresh rings, the app's startShard ran again (a new greeter, new uid).
    await waitFor(() => seen.some((e) => e.event === 'up' && e.shard === 1), { timeoutMs: 20_000 })
    expect(system.state(1)).toBe('up')
    expect(system.restarts(1)).toBe(1)
    const greeter = await system.lookup<GreeterProtocol>('greeter', 1)
    expect(greeter).toBeDefined()
    expect(greeter?.address.uid).not.toBe(oldGreeter?.address.uid)
    expect(await greeter?.ask('greet', 'again')).toBe('hello again from shard 1')
    // The old incarnation's refs lead nowhere now.
    await expect(victim.ask('get')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ACTOR' })
    // And the restarted shard talks to the others both ways.
    const fresh = await system.spawn(Crasher, { shard: 1 })
    expect(await fresh.ask('spawnElsewhere', 2)).toBe(2)
  }, 40_000)

  it('messages for a dead shard become counted dead letters with ERR_SHARD_DOWN', async () => {
    const system = await startSharded({ name: 'crash', shards: 2, app, restart: false })
    const seen = events(system)
    const crasher = await system.spawn(Crasher, { shard: 2 })
    const counter = await system.spawn(Counter, { shard: 2 })
    const letters: DeadLetter[] = []
    system.system.subscribe(DeadLetterTopic, (letter) => letters.push(letter))
    crasher.tell('exitThread', 1)
    await waitFor(() => system.state(2) === 'down', { timeoutMs: 10_000 })
    await waitFor(() => seen.some((e) => e.event === 'gave-up'), { timeoutMs: 10_000 })
    const before = system.system.deadLetters.count
    for (let i = 0; i < 10; i++) counter.tell('add', i)
    await expect(counter.ask('get')).rejects.toMatchObject({ code: 'ERR_SHARD_DOWN' })
    await waitFor(() => system.system.deadLetters.count >= before + 11)
    const mine = letters.filter((l) => l.envelope.target.path === counter.path)
    expect(mine).toHaveLength(11)
    expect(mine.every((l) => l.reason === 'undeliverable' && (l.error as { code?: string } | undefined)?.code === 'ERR_SHARD_DOWN')).toBe(true)
    // Placement skips the dead shard; naming it fails fast.
    for (let i = 0; i < 4; i++) expect(await (await system.spawn(Counter)).ask('whereAmI')).toBe(1)
    await expect(system.spawn(Counter, { shard: 2 })).rejects.toMatchObject({ code: 'ERR_SHARD_DOWN' })
  }, 30_000)

  it('frames held for a shard that dies become dead letters, and the outbox keeps working after its restart', async () => {
    const system = await startSharded({ name: 'crash', shards: 2, app, ringBytes: 4096 })
    const seen = events(system)
    const crasher = await system.spawn(Crasher, { shard: 2 })
    const before = await system.spawn(Recorder, { shard: 2 })
    await before.ask('summary')
    // Shard 2 is busy for 300 ms and then dies: what the main thread sends meanwhile fills the
    // 4 KiB ring and waits in the outbox, with the outbox flusher parked on the full ring.
    crasher.tell('exitAfter', 300, 3)
    let sent = 0
    const deadline = performance.now() + 250
    fill: while (performance.now() < deadline) {
      for (let i = 0; i < 200; i++) {
        try {
          before.tell('record', 0, sent++)
        } catch (error) {
          // The outbox reached its bound (16 MiB) first: refused at the call, as it should be.
          expect(error).toMatchObject({ code: 'ERR_TRANSPORT_FULL' })
          break fill
        }
      }
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    const queued = (await system.stats()).shards[0]?.peers.find((p) => p.shard === 2)?.queuedFrames ?? 0
    expect(queued).toBeGreaterThan(0)
    await waitFor(() => seen.some((e) => e.event === 'up' && e.shard === 2), { timeoutMs: 20_000 })
    const main = (await system.stats()).shards[0]
    expect(main?.transport.framesDropped).toBeGreaterThanOrEqual(queued)
    expect(main?.deadLetters).toBeGreaterThan(0)
    // The restarted shard's fresh ring fills again and the outbox drains into it in order.
    const after = await system.spawn(Recorder, { shard: 2 })
    for (let i = 0; i < 20_000; i++) after.tell('record', 1, i)
    const summary = await waitForValue(() => after.ask('summary'), (s) => s.count === 20_000, { timeoutMs: 20_000 })
    expect(summary.inOrder).toBe(true)
  }, 40_000)

  it('restarts a worker that runs out of heap (resourceLimits)', async () => {
    const system = await startSharded({ name: 'oom', shards: 1, app, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } })
    const seen = events(system)
    const counter = await system.spawn(Counter, { shard: 1 })
    const pending = counter.askWith({ timeoutMs: 60_000 }, 'hog')
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHARD_DOWN' })
    const down = seen.find((e) => e.event === 'down')
    expect((down?.error as { code?: string } | undefined)?.code).toBe('ERR_WORKER_OUT_OF_MEMORY')
    await waitFor(() => seen.some((e) => e.event === 'up'), { timeoutMs: 20_000 })
    expect(await (await system.spawn(Counter, { shard: 1 })).ask('whereAmI')).toBe(1)
  }, 40_000)

  it('create fails with ERR_SHARD_START when the app cannot load in a worker, or is not an app', async () => {
    await expect(ShardedSystem.create({ name: 'broken', shards: 2, app: new URL('./brokenApp.ts', import.meta.url) })).rejects.toMatchObject({
      code: 'ERR_SHARD_START',
      message: expect.stringContaining('refuses to load in a worker'),
    })
    await expect(ShardedSystem.create({ name: 'broken', shards: 1, app: new URL('../support/frames.ts', import.meta.url) })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
  }, 30_000)

  it('a worker whose uplink cannot connect fails the start at once and ends its thread (no shutdown deadline)', async () => {
    const failing = startSharded({
      name: 'uplink-fails',
      shards: 2,
      app,
      // A worker left running would hold the rejection until this deadline, past the test's timeout.
      shutdownTimeoutMs: 60_000,
      uplink: { module: new URL('./workerUplinkFails.ts', import.meta.url).href, options: {} },
    })
    await expect(failing).rejects.toMatchObject({ code: 'ERR_SHARD_START', message: expect.stringMatching(/could not connect to other nodes/) })
  }, 20_000)
})
