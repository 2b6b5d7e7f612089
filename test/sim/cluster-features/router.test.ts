import { describe, expect, test } from 'vitest'
import { serviceKey } from '../../../cluster/index.ts'
import { roundRobin } from '../../../supervision/index.ts'
import { ClusterFeaturesTestCluster, forEachSeed } from '../../../testing/index.ts'
import type { ActorRef } from '../../../runtime/index.ts'
import { FIVE, SEEDS, Worker, type WorkerProtocol } from './support.ts'

const key = serviceKey<WorkerProtocol>('pool')

describe('cluster-aware group router (simulated, many seeds)', () => {
  test('routes only to live registered routees, following the receptionist listing as actors register, die and nodes go down', async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await ClusterFeaturesTestCluster.create(sim, { voterCount: 5, joiners: ['n4', 'n5'] })
      await c.allUp(FIVE)
      const log: string[] = []
      const router = c.cluster('n1').router(key, roundRobin())
      const workers = new Map<string, ActorRef<WorkerProtocol>>()
      for (const n of ['n2', 'n3', 'n4']) {
        workers.set(n, c.system(n).spawn(Worker, { name: 'w', args: [log] }))
        await sim.settle(c.cluster(n).register(key, workers.get(n)!), 30_000)
      }
      await c.runUntil(() => router.routees.length === 3, 20_000)
      const round = async (tag: string, count: number): Promise<string[]> => {
        const before = log.length
        for (let i = 0; i < count; i++) router.tell('work', `${tag}${i}`)
        await c.runUntil(() => log.length - before === count, 20_000)
        return [...new Set(log.slice(before).map((l) => l.split(':')[0] as string))].sort()
      }
      expect(await round('a', 30)).toEqual(['n2', 'n3', 'n4'])
      // A routee dies: once the listing drops it, the router never picks it.
      await sim.settle(c.system('n3').stop(workers.get('n3')!), 10_000)
      await c.runUntil(() => router.routees.length === 2, 20_000)
      expect(await round('b', 30)).toEqual(['n2', 'n4'])
      // A node is downed: its routees go with it.
      c.crash('n4')
      await c.runUntil(() => router.routees.length === 1, 30_000)
      expect(await round('c', 10)).toEqual(['n2'])
      // A new registration joins the rotation.
      const w5 = c.system('n5').spawn(Worker, { name: 'w', args: [log] })
      await sim.settle(c.cluster('n5').register(key, w5), 30_000)
      await c.runUntil(() => router.routees.length === 2, 20_000)
      expect(await round('d', 20)).toEqual(['n2', 'n5'])
    })
  })
})
