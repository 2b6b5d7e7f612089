import { describe, expect, test } from 'vitest'
import { SingletonProxyOverflowError, SingletonUnavailableError } from '../../../cluster/index.ts'
import { ClusterFeaturesTestCluster, forEachSeed, type FeaturesMember, type Simulation } from '../../../testing/index.ts'
import type { DeadLetter } from '../../../runtime/index.ts'
import { Counter, FIVE, SEEDS, type CounterProtocol } from './support.ts'

const running = (c: ClusterFeaturesTestCluster): FeaturesMember[] => c.members().filter((m) => !m.process.isCrashed && m.cluster.singletonStatus('counter')?.running === true)
const token = (m: FeaturesMember): [number, number] => {
  const t = m.cluster.singletonStatus('counter')?.token
  return [t?.term ?? -1, t?.version ?? -1]
}
const newer = (a: [number, number], b: [number, number]): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])

async function fiveWithCounter(sim: Simulation, log: string[]): Promise<ClusterFeaturesTestCluster> {
  const c = await ClusterFeaturesTestCluster.create(sim, { voterCount: 5, joiners: ['n4', 'n5'], boot: (m) => m.cluster.singleton('counter', Counter, { args: [log] }).then(() => {}) })
  c.singletonInvariant('counter')
  await c.allUp(FIVE)
  await c.runUntil(() => running(c).length === 1, 30_000)
  return c
}

describe('cluster singletons (simulated, many seeds; the never-doubled invariant runs after every event)', () => {
  test('partition 3|2 with the holder on the minority, heal, restart of the downed members, then a leader crash: one instance for a majority observer, fencing tokens grow', async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await fiveWithCounter(sim, [])
      const first = running(c)[0] as FeaturesMember
      const firstToken = token(first)
      const minority = [first.name, FIVE.find((n) => n !== first.name) as string]
      const majority = FIVE.filter((n) => !minority.includes(n))
      c.partition(majority, minority)
      await c.runUntil(() => running(c).some((m) => majority.includes(m.name)), 30_000)
      const second = running(c).find((m) => majority.includes(m.name)) as FeaturesMember
      expect(newer(token(second), firstToken)).toBe(true)
      c.heal()
      // The old holder learns it was downed (quarantined) and stops its instance.
      await c.runUntil(() => running(c).length === 1, 30_000)
      for (const n of minority) {
        c.crash(n)
        await c.start(n)
      }
      await c.allUp(FIVE, 60_000)
      const leader = c.leader() as string
      c.crash(leader)
      const rest = FIVE.filter((n) => n !== leader)
      await c.runUntil(() => running(c).length === 1 && rest.includes((running(c)[0] as FeaturesMember).name) && rest.every((n) => c.member(n).state.state.member(leader)?.status !== 'up'), 60_000)
      await c.advance(2000)
      expect(running(c)).toHaveLength(1)
    })
  })

  test('the proxy buffers across a graceful hand-over: every message reaches exactly one instance, none is lost or doubled', async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const log: string[] = []
      const c = await fiveWithCounter(sim, log)
      const holder = running(c)[0] as FeaturesMember
      const from = FIVE.find((n) => n !== holder.name) as string
      const proxy = c.cluster(from).singletonProxy<CounterProtocol>('counter', { bufferSize: 1000, bufferTimeoutMs: 30_000 })
      const dead: DeadLetter[] = []
      c.system(from).deadLetters.subscribe((d) => dead.push(d))
      expect(await sim.settle(proxy.ask('token'), 30_000)).toContain(`${holder.name}#`)
      let sent = 0
      const tick = (): void => {
        if (sent >= 100) return
        proxy.tell('add', `m${sent++}`)
        sim.after(20, tick)
      }
      tick()
      await c.advance(300)
      // The holder leaves: its instance stops, the claim is released, the next oldest starts.
      await sim.settle(holder.state.leave(holder.name, holder.incarnation), 30_000)
      await c.runUntil(() => sent === 100 && log.length === 100, 60_000)
      expect(new Set(log).size).toBe(100)
      expect(dead).toEqual([])
      const now = running(c)
      expect(now).toHaveLength(1)
      expect((now[0] as FeaturesMember).name).not.toBe(holder.name)
      expect(await sim.settle(proxy.ask('token'), 30_000)).toContain(`${(now[0] as FeaturesMember).name}#`)
    })
  })

  test('no eligible member: the proxy holds up to bufferSize, overflow and timeout give typed errors and dead letters', async () => {
    await forEachSeed({ seeds: 1 }, async (sim) => {
      const c = await ClusterFeaturesTestCluster.create(sim, { boot: (m) => m.cluster.singleton('counter', Counter, { role: 'nobody', args: [[]] }).then(() => {}) })
      await c.allUp(['n1', 'n2', 'n3'])
      const proxy = c.cluster('n2').singletonProxy<CounterProtocol>('counter', { bufferSize: 3, bufferTimeoutMs: 2000 })
      const dead: DeadLetter[] = []
      c.system('n2').deadLetters.subscribe((d) => dead.push(d))
      for (let i = 0; i < 5; i++) proxy.tell('add', `x${i}`)
      await c.runUntil(() => dead.length === 2, 5000)
      expect(dead.map((d) => d.reason)).toEqual(['overflow', 'overflow'])
      expect(dead[0]?.error).toBeInstanceOf(SingletonProxyOverflowError)
      await expect(sim.settle(proxy.ask('token'), 10_000)).rejects.toBeInstanceOf(SingletonProxyOverflowError)
      await c.runUntil(() => dead.length === 5, 10_000)
      expect(dead.slice(2).map((d) => [d.reason, d.error?.constructor])).toEqual([
        ['undeliverable', SingletonUnavailableError],
        ['undeliverable', SingletonUnavailableError],
        ['undeliverable', SingletonUnavailableError],
      ])
    })
  })
})
