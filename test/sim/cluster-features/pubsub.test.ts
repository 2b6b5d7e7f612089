import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { PubSubLaggedError, pubSubTopic, type PubSubSubscription } from '../../../cluster/index.ts'
import { ClusterFeaturesTestCluster, forEachSeed, Simulation } from '../../../testing/index.ts'
import { FIVE, Listener, SEEDS, type ListenerProtocol } from './support.ts'

const news = pubSubTopic<ListenerProtocol>('news')

describe('distributed pub-sub (simulated)', () => {
  test('property: under loss, duplication and reordering every subscriber gets each message at most once, and only published ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0, max: 0.2, noNaN: true }), fc.double({ min: 0, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), async (seed, loss, duplication, reorder) => {
        const sim = new Simulation({ seed })
        const c = await ClusterFeaturesTestCluster.create(sim, { voterCount: 5, joiners: ['n4', 'n5'] })
        await c.allUp(FIVE)
        const log: string[] = []
        for (const n of ['n2', 'n3', 'n5']) {
          for (const name of ['a', 'b']) c.cluster(n).pubsub.subscribe(news, c.system(n).spawn(Listener, { name, args: [log, name === 'b' ? 3 : 0] }), { bufferSize: 8 })
        }
        await c.runUntil(() => FIVE.every((n) => c.cluster(n).pubsub.members(news).length === 3), 20_000)
        c.states.network.configure({ loss, duplication, reorder })
        const published = new Set<string>()
        for (let i = 0; i < 60; i++) {
          const from = FIVE[i % 5] as string
          c.cluster(from).pubsub.publish(news, 'event', `${from}-${i}`)
          published.add(`${from}-${i}`)
          await c.advance(1 + (i % 3))
        }
        await c.advance(3000)
        const seen = new Set<string>()
        for (const entry of log) {
          expect(seen.has(entry), `delivered twice: ${entry}`).toBe(false)
          seen.add(entry)
          expect(published.has(entry.split(':')[1] as string)).toBe(true)
        }
        if (loss === 0 && duplication === 0) expect(log.length).toBeGreaterThan(0)
      }),
      { numRuns: SEEDS, seed: 14 },
    )
  })

  test('bounded buffers: drop-oldest and drop-newest count what they drop, disconnect ends the subscription with a typed notice; a terminated subscriber is removed and the last one leaving unregisters the member', async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await ClusterFeaturesTestCluster.create(sim)
      const three = ['n1', 'n2', 'n3']
      await c.allUp(three)
      const log: string[] = []
      const ps = c.cluster('n2').pubsub
      const spawn = (name: string, delay: number) => c.system('n2').spawn(Listener, { name, args: [log, delay] })
      const oldest = ps.subscribe(news, spawn('oldest', 50), { bufferSize: 4, lagPolicy: 'drop-oldest' })
      const newest = ps.subscribe(news, spawn('newest', 50), { bufferSize: 4, lagPolicy: 'drop-newest' })
      const fast = spawn('fast', 0)
      const fastSub: PubSubSubscription = ps.subscribe(news, fast, { bufferSize: 32, lagPolicy: 'disconnect' })
      const lagger = ps.subscribe(news, spawn('lagger', 50), { bufferSize: 4, lagPolicy: 'disconnect' })
      await c.runUntil(() => three.every((n) => c.cluster(n).pubsub.members(news).includes('n2')), 20_000)
      for (let i = 0; i < 20; i++) c.cluster('n1').pubsub.publish(news, 'event', `e${i}`)
      const closed = await sim.settle(lagger.closed, 10_000)
      expect(closed.reason).toBe('lagged')
      expect(closed.error).toBeInstanceOf(PubSubLaggedError)
      await c.advance(3000)
      const got = (name: string): string[] => log.filter((l) => l.startsWith(`n2/${name}:`)).map((l) => l.split(':')[1] as string)
      // One in flight plus at most bufferSize held: what is not delivered was counted as dropped.
      expect(got('oldest').length + oldest.dropped).toBe(20)
      expect(got('newest').length + newest.dropped).toBe(20)
      expect(oldest.dropped).toBeGreaterThan(0)
      expect(got('newest')).toEqual(['e0', 'e1', 'e2', 'e3', 'e4'])
      expect(got('oldest').slice(-4)).toEqual(['e16', 'e17', 'e18', 'e19'])
      expect(got('fast')).toHaveLength(20)
      // Termination removes the subscriber; unsubscribing the rest makes n2 leave the topic's listing.
      await sim.settle(c.system('n2').stop(fast), 10_000)
      expect((await sim.settle(fastSub.closed, 10_000)).reason).toBe('terminated')
      oldest.unsubscribe()
      newest.unsubscribe()
      await c.runUntil(() => three.every((n) => c.cluster(n).pubsub.members(news).length === 0), 20_000)
      expect(c.cluster('n1').pubsub.publish(news, 'event', 'late')).toBe(0)
    })
  })
})
