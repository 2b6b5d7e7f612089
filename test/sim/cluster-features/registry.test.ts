import { describe, expect, test } from 'vitest'
import { ClusterNameConflictError, serviceKey, type Cluster } from '../../../cluster/index.ts'
import { ClusterFeaturesTestCluster, forEachSeed } from '../../../testing/index.ts'
import type { ActorRef } from '../../../runtime/index.ts'
import { FIVE, SEEDS, Worker, type WorkerProtocol } from './support.ts'

const workers = serviceKey<WorkerProtocol>('workers')
const nodesOf = (refs: readonly ActorRef<unknown>[]): string[] => refs.map((r) => r.address.node).sort()

describe('receptionist over the Raft cluster state (simulated, many seeds)', () => {
  test('listings converge on every member; linearizable lookup from a follower; unique names conflict; entries go when the actor dies and when its node is downed', async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await ClusterFeaturesTestCluster.create(sim, { voterCount: 5, joiners: ['n4', 'n5'] })
      await c.allUp(FIVE)
      const log: string[] = []
      const refs = new Map<string, ActorRef<WorkerProtocol>>()
      for (const n of FIVE) refs.set(n, c.system(n).spawn(Worker, { name: 'w', args: [log] }))
      // A subscriber on n5 sees every listing as it changes.
      const seen: string[][] = []
      c.cluster('n5').subscribe(workers, (rs) => seen.push(nodesOf(rs)))
      for (const n of FIVE) await sim.settle(c.cluster(n).register(workers, refs.get(n)!), 30_000)
      await c.runUntil(() => FIVE.every((n) => c.cluster(n).lookupCached(workers).length === 5), 10_000)
      expect(seen.at(-1)).toEqual(FIVE)
      // Linearizable from a follower: the read barrier goes through the leader.
      const follower = FIVE.find((n) => n !== c.leader()) as string
      expect(nodesOf(await sim.settle(c.cluster(follower).lookup(workers), 30_000))).toEqual(FIVE)
      // Resolved refs route: ask every worker through the listing of n1.
      const answers = await sim.settle(Promise.all(c.cluster('n1').lookupCached(workers).map((r) => r.ask('ping', 7))), 30_000)
      expect(answers.sort()).toEqual(FIVE.map((n) => `${n}:7`))

      // Unique names: the second holder gets the typed conflict.
      const unique = serviceKey<WorkerProtocol>('the-one')
      await sim.settle(c.cluster('n1').registerUnique(unique, refs.get('n1')!), 30_000)
      await expect(sim.settle(c.cluster('n2').registerUnique(unique, refs.get('n2')!), 30_000)).rejects.toBeInstanceOf(ClusterNameConflictError)
      await expect(sim.settle(c.cluster('n3').register(unique, refs.get('n3')!), 30_000)).rejects.toMatchObject({ code: 'ERR_CLUSTER_NAME_CONFLICT' })

      // The actor dies: its entries go on every member (actorDied from its node).
      await sim.settle(c.system('n2').stop(refs.get('n2')!), 10_000)
      await c.runUntil(() => FIVE.every((n) => !nodesOf(c.cluster(n).lookupCached(workers)).includes('n2')), 20_000)
      // The unique holder dies: the name is free again.
      await sim.settle(c.system('n1').stop(refs.get('n1')!), 10_000)
      await c.runUntil(() => c.cluster('n3').lookupCached(unique).length === 0, 20_000)
      await sim.settle(c.cluster('n3').registerUnique(unique, refs.get('n3')!), 30_000)

      // The node is downed (crash → detectors → majority verdict): all its entries go with it.
      c.crash('n4')
      const rest = ['n1', 'n2', 'n3', 'n5']
      await c.runUntil(() => rest.every((n) => !nodesOf(c.cluster(n).lookupCached(workers)).includes('n4')), 30_000)
      expect(rest.every((n) => c.member(n).state.state.member('n4')?.status !== 'up')).toBe(true)
      expect(nodesOf(c.cluster('n5').lookupCached(workers))).toEqual(['n3', 'n5'])
    })
  })

  test('register refuses remote refs and reserved or empty keys with typed errors', async () => {
    await forEachSeed({ seeds: 1 }, async (sim) => {
      const c = await ClusterFeaturesTestCluster.create(sim)
      await c.allUp(['n1', 'n2', 'n3'])
      const cl: Cluster = c.cluster('n1')
      const remote = c.system('n1').refFor<WorkerProtocol>(c.system('n2').spawn(Worker, { args: [[]] }).address)
      await expect(cl.register(workers, remote)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
      expect(() => serviceKey('troupe.x')).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER_INVALID_KEY' }))
      expect(() => serviceKey('')).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER_INVALID_KEY' }))
    })
  })
})
