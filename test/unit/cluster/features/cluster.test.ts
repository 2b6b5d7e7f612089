import { describe, expect, test } from 'vitest'
import { ClusterNameConflictError, createCluster, pubSubTopic, serviceKey, type SingletonToken } from '../../../../cluster/index.ts'
import { Actor } from '../../../../runtime/index.ts'
import { ActorTestKit, InMemoryClusterState } from '../../../../testing/index.ts'

interface Echo {
  echo(x: string): string
  note(x: string): void
}
class EchoActor extends Actor<Echo> implements Echo {
  static seen: string[] = []
  echo(x: string): string {
    return x
  }
  note(x: string): void {
    EchoActor.seen.push(x)
  }
}
class Single extends Actor<{ token(): SingletonToken }> {
  private readonly t: SingletonToken
  constructor(t: SingletonToken) {
    super()
    this.t = t
  }
  token(): SingletonToken {
    return this.t
  }
}

async function setup() {
  const kit = ActorTestKit.create({ seed: 7 })
  const store = new InMemoryClusterState()
  const state = await store.member(kit.system.node)
  const cluster = createCluster({ system: kit.system, state })
  return { kit, store, state, cluster }
}

describe('cluster features over an in-memory ClusterState (loopback)', () => {
  test('register, lookups, subscribe; the entry goes when the actor stops; unique names conflict', async () => {
    const { kit, cluster } = await setup()
    const key = serviceKey<Echo>('echo')
    const a = kit.spawn(EchoActor)
    const b = kit.spawn(EchoActor)
    const listings: number[] = []
    cluster.subscribe(key, (refs) => listings.push(refs.length))
    await kit.sim.settle(cluster.register(key, a))
    await kit.sim.settle(cluster.register(key, b))
    expect(cluster.lookupCached(key)).toHaveLength(2)
    expect(await kit.sim.settle(cluster.lookup(key))).toHaveLength(2)
    expect(await kit.sim.settle(cluster.lookupCached(key)[0]!.ask('echo', 'hi'))).toBe('hi')
    await kit.sim.settle(kit.system.stop(a))
    await kit.sim.runUntil(() => cluster.lookupCached(key).length === 1)
    expect(listings).toEqual([0, 1, 2, 1])
    const only = serviceKey<Echo>('only')
    await kit.sim.settle(cluster.registerUnique(only, b))
    await expect(kit.sim.settle(cluster.registerUnique(only, kit.spawn(EchoActor)))).rejects.toBeInstanceOf(ClusterNameConflictError)
  })

  test('a registry ref that is not an actor address is skipped and counted, never thrown', async () => {
    const { kit, state, cluster } = await setup()
    await kit.sim.settle(state.register('hostile', 'not-an-address'))
    await kit.sim.settle(state.register('hostile', 'troupe://x@y:0/user/a#1'))
    expect(cluster.lookupCached(serviceKey<Echo>('hostile'))).toHaveLength(1)
    expect(cluster.malformedRefs).toBe(1)
  })

  test('a singleton starts here with its fencing token; the proxy reaches it; pub-sub delivers locally; stop releases the claim', async () => {
    const { kit, state, cluster } = await setup()
    const h = await kit.sim.settle(cluster.singleton('single', Single))
    await kit.sim.runUntil(() => h.status.running)
    const p = state.placement('single')!
    const t = await kit.sim.settle(h.proxy().ask('token'))
    expect(t).toMatchObject({ name: 'single', node: kit.system.node, fencing: { term: p.term, version: p.version } })
    const topic = pubSubTopic<Echo>('t')
    EchoActor.seen = []
    cluster.pubsub.subscribe(topic, kit.spawn(EchoActor))
    await kit.sim.runUntil(() => cluster.pubsub.members(topic).length === 1)
    expect(cluster.pubsub.publish(topic, 'note', 'x')).toBe(1)
    await kit.sim.runUntil(() => EchoActor.seen.length === 1)
    await kit.sim.settle(cluster.stop())
    expect(h.status.running).toBe(false)
  })
})

test('stopping the cluster features releases the singleton claim', async () => {
  const { kit, state, cluster } = await setup()
  const h = await kit.sim.settle(cluster.singleton('single', Single))
  await kit.sim.runUntil(() => h.status.running)
  expect(state.lookupCached('troupe.singleton/single')).toHaveLength(1)
  await kit.sim.settle(cluster.stop())
  await kit.sim.runUntil(() => state.lookupCached('troupe.singleton/single').length === 0)
})
