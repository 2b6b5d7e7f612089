import { afterEach, describe, expect, inject, it } from 'vitest'
import { Actor } from '../../../runtime/index.ts'
import { natsUplink } from '../../../cluster/index.ts'
import { waitForValue } from '../../../testing/index.ts'
import { ShardedSystem, ShardEventTopic } from '../../../transport/index.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { uniqueCluster } from '../../support/services.ts'
import { Relay, type RelayProtocol } from './fixtures/relayApp.ts'
import { Crasher, type DirectoryProtocol } from './fixtures/registeringApp.ts'

const app = new URL('./fixtures/relayApp.ts', import.meta.url)
const registeringApp = new URL('./fixtures/registeringApp.ts', import.meta.url)
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}, 30_000)

describe('a sharded node over NATS (rings inside the node, NATS between nodes)', () => {
  it('actors on worker shards ask, are asked by and watch actors on another node, each shard over its own link', async () => {
    const url = inject('natsUrl')
    const cluster = uniqueCluster('sharded')
    const heartbeat = { heartbeatMs: 100, downAfterMs: 1000 }
    const a = await ShardedSystem.create({ name: cluster, node: 'a', shards: 2, app, uplink: natsUplink({ servers: [url], ...heartbeat }) })
    cleanups.push(() => a.terminate())
    const b: TestNode = await startNode(url, cluster, 'b', { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 } } })
    cleanups.push(() => b.stop())

    const onShard2 = await a.spawn(Relay, { shard: 2 })
    const onShard1 = await a.spawn(Relay, { shard: 1 })
    const onB = b.system.spawn(Relay)

    // Node b → a worker shard of node a, straight to that shard's subject; the reply comes back over the shard's own link.
    expect(await b.system.refFor<RelayProtocol>(onShard2.address).ask('where')).toEqual({ node: 'a', shard: 2 })
    // A worker shard of a → node b, and the main thread of a → node b.
    expect(await onShard2.ask('askPeer', onB.address)).toEqual({ node: 'b', shard: 0 })
    expect(await a.system.refFor<RelayProtocol>(onB.address).ask('where')).toEqual({ node: 'b', shard: 0 })
    // Rings still carry what stays inside the node.
    expect(await onShard1.ask('askPeer', onShard2.address)).toEqual({ node: 'a', shard: 2 })

    // Node b leaves: a watcher on a worker shard hears it over its own link — the actor's own
    // `shutdown` when b's terminated notice arrives before its leave (the link delivers it now), else
    // node-down from the membership. Exactly one Terminated either way.
    await onShard1.ask('watchPeer', onB.address)
    await b.stop()
    const seen = await waitForValue(() => onShard1.ask('terminations'), (t) => t.length === 1, { timeoutMs: 10_000 })
    const reason = seen[0]?.reason as { kind: string; node?: string } | undefined
    expect(reason?.kind === 'shutdown' || (reason?.kind === 'node-down' && reason.node === 'b')).toBe(true)
  }, 30_000)

  it('a worker shard that dies is shard-down on the other nodes: their watchers hear it and their asks fail fast', async () => {
    const url = inject('natsUrl')
    const cluster = uniqueCluster('shard-crash')
    const a = await ShardedSystem.create({ name: cluster, node: 'a', shards: 2, app, restart: false, uplink: natsUplink({ servers: [url], heartbeatMs: 100, downAfterMs: 1000 }) })
    cleanups.push(() => a.terminate())
    const b: TestNode = await startNode(url, cluster, 'b', { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 } } })
    cleanups.push(() => b.stop())

    const doomed = await a.spawn(Relay, { shard: 2 })
    const watcher = b.system.spawn(Relay)
    const remote = b.system.refFor<RelayProtocol>(doomed.address)
    expect(await remote.ask('where')).toEqual({ node: 'a', shard: 2 })
    await watcher.ask('watchPeer', doomed.address)
    const inFlight = remote.askWith({ timeoutMs: 20_000 }, 'hang')
    inFlight.catch(() => {})

    doomed.tell('crash')
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_SHARD_DOWN' })
    const seen = await waitForValue(() => watcher.ask('terminations'), (t) => t.length === 1, { timeoutMs: 10_000 })
    expect(seen[0]?.reason).toEqual({ kind: 'shard-down', node: 'a', shard: 2 })
    // Afterwards too: a new ask to that shard fails fast, a new watch hears shard-down at once.
    await expect(remote.askWith({ timeoutMs: 20_000 }, 'where')).rejects.toMatchObject({ code: 'ERR_SHARD_DOWN' })
    const lateWatcher = b.system.spawn(Relay)
    await lateWatcher.ask('watchPeer', doomed.address)
    const late = await waitForValue(() => lateWatcher.ask('terminations'), (t) => t.length === 1, { timeoutMs: 10_000 })
    expect(late[0]?.reason).toEqual({ kind: 'shard-down', node: 'a', shard: 2 })
    // Node a itself stays up for b: its other shards still answer.
    const onShard1 = await a.spawn(Relay, { shard: 1 })
    expect(await b.system.refFor<RelayProtocol>(onShard1.address).ask('where')).toEqual({ node: 'a', shard: 1 })
  }, 30_000)

  it('a restarted worker shard takes messages from other nodes again', async () => {
    const url = inject('natsUrl')
    const cluster = uniqueCluster('shard-restart')
    const a = await ShardedSystem.create({ name: cluster, node: 'a', shards: 2, app, uplink: natsUplink({ servers: [url], heartbeatMs: 100, downAfterMs: 1000 }) })
    cleanups.push(() => a.terminate())
    const b: TestNode = await startNode(url, cluster, 'b', { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 } } })
    cleanups.push(() => b.stop())
    const restarted = new Promise<void>((resolve) => {
      a.system.subscribe(ShardEventTopic, (event) => {
        if (event.shard === 2 && event.event === 'up') resolve()
      })
    })
    const doomed = await a.spawn(Relay, { shard: 2 })
    const remote = b.system.refFor<RelayProtocol>(doomed.address)
    expect(await remote.ask('where')).toEqual({ node: 'a', shard: 2 })
    doomed.tell('crash')
    await restarted
    const fresh = await a.spawn(Relay, { shard: 2 })
    // b may hear "shard 2 runs again" a heartbeat after the restart: ask until it gets through.
    const place = await waitForValue(
      () => b.system.refFor<RelayProtocol>(fresh.address).askWith({ timeoutMs: 2000 }, 'where').catch((error: { code?: string }) => error.code),
      (answer) => typeof answer === 'object',
      { timeoutMs: 10_000 },
    )
    expect(place).toEqual({ node: 'a', shard: 2 })
  }, 30_000)

  it('a restarted worker shard whose startShard needs a reply from another node comes back up', async () => {
    const url = inject('natsUrl')
    const cluster = uniqueCluster('shard-register')
    const b: TestNode = await startNode(url, cluster, 'b', { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 } } })
    cleanups.push(() => b.stop())
    const seen: number[] = []
    class Directory extends Actor<DirectoryProtocol> implements DirectoryProtocol {
      register(shard: number): string {
        seen.push(shard)
        return 'ok'
      }
      registrations(): number[] {
        return seen
      }
    }
    const directory = b.system.spawn(Directory, { name: 'directory' })
    process.env['TROUPE_TEST_DIRECTORY'] = JSON.stringify(directory.address)
    const a = await ShardedSystem.create({
      name: cluster,
      node: 'a',
      shards: 2,
      app: registeringApp,
      uplink: natsUplink({ servers: [url], heartbeatMs: 100, downAfterMs: 1000 }),
    })
    cleanups.push(() => a.terminate())
    expect([...seen].sort()).toEqual([1, 2])
    const events: string[] = []
    const settled = new Promise<void>((resolve) => {
      a.system.subscribe(ShardEventTopic, (event) => {
        if (event.shard !== 2) return
        events.push(event.event)
        if (event.event === 'up' || event.event === 'gave-up') resolve()
      })
    })
    ;(await a.spawn(Crasher, { shard: 2 })).tell('crash')
    await settled
    // Its registration after the restart got its reply: other nodes took it back before startShard.
    expect(events).toEqual(['down', 'up'])
    expect(seen.filter((shard) => shard === 2)).toHaveLength(2)
  }, 30_000)

  it('a shard whose uplink cannot connect fails the start with ERR_SHARD_START', async () => {
    const failing = ShardedSystem.create({
      name: uniqueCluster('no-uplink'),
      node: 'a',
      shards: 1,
      app,
      uplink: { module: new URL('./fixtures/relayApp.ts', import.meta.url).href, options: {} },
    })
    await expect(failing).rejects.toMatchObject({ code: 'ERR_SHARD_START' })
  }, 30_000)
})
