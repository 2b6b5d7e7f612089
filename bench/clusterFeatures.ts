/**
 * Cluster features (issue 14), `npm run bench -- cluster-features`, in the simulator over the Raft
 * cluster state:
 * - `lookup-cached`: a receptionist cache hit (replica read + ref resolution), CPU ns per
 *   lookup, next to a plain Map.get of the same listing measured in the same run.
 * - `lookup-linearizable`: virtual ms of a linearizable lookup from a follower (a barrier write through
 *   the leader, applied locally), next to the same lookup on the leader (Raft ReadIndex).
 * - `singleton-failover`: virtual ms from the holder's crash to the new instance running, next to
 *   the failure detector's own detection time (heartbeat 100 ms, suspect after 1000 ms) in the same runs.
 * Virtual-time figures do not depend on the machine's load; the CPU-time one less so than wall time would (see `uptime`).
 */
import { serviceKey, type SingletonToken } from '../cluster/index.ts'
import { Actor } from '../runtime/index.ts'
import { ClusterFeaturesTestCluster, Simulation, type FeaturesMember } from '../testing/index.ts'
import { check, median, note, report, round, startTiming, type Suite } from './harness.ts'

const SEEDS = Number(process.env['CLUSTER_FEATURES_BENCH_SEEDS'] ?? 10)
const FIVE = ['n1', 'n2', 'n3', 'n4', 'n5']

interface Nop {
  nop(): void
}
class NopActor extends Actor<Nop> implements Nop {
  nop(): void {}
}
class NopSingleton extends Actor<Nop> implements Nop {
  constructor(_token: SingletonToken) {
    super()
  }
  nop(): void {}
}

const key = serviceKey<Nop>('bench')

async function lookups(seed: number): Promise<{ cachedNs: number; mapNs: number; leaderMs: number; followerMs: number }> {
  const sim = new Simulation({ seed })
  const c = await ClusterFeaturesTestCluster.create(sim, { voterCount: 5, joiners: ['n4', 'n5'] })
  await c.allUp(FIVE)
  for (const n of FIVE) await sim.settle(c.cluster(n).register(key, c.system(n).spawn(NopActor)), 30_000)
  await c.runUntil(() => FIVE.every((n) => c.cluster(n).lookupCached(key).length === 5), 20_000)
  const leader = c.leader() as string
  const follower = FIVE.find((n) => n !== leader) as string
  const time = async (n: string): Promise<number> => {
    const t0 = sim.now
    const refs = await sim.settle(c.cluster(n).lookup(key), 30_000)
    check(refs.length === 5, `linearizable lookup on ${n} gave ${refs.length}`)
    return sim.now - t0
  }
  const leaderMs = await time(leader)
  const followerMs = await time(follower)
  const cl = c.cluster(follower)
  const map = new Map([[key.id, cl.lookupCached(key)]])
  const N = 1_000_000
  let sink = 0
  const t1 = startTiming()
  for (let i = 0; i < N; i++) sink += cl.lookupCached(key).length
  const cached = t1()
  const t2 = startTiming()
  for (let i = 0; i < N; i++) sink += map.get(key.id)?.length ?? 0
  const plain = t2()
  check(sink === 2 * N * 5, 'lookups lost entries')
  return { cachedNs: (cached.cpuMs * 1e6) / N, mapNs: (plain.cpuMs * 1e6) / N, leaderMs, followerMs }
}

async function failover(seed: number): Promise<{ detect: number; failover: number }> {
  const sim = new Simulation({ seed })
  let victim = ''
  let firstSuspect = Infinity
  const c = await ClusterFeaturesTestCluster.create(sim, {
    voterCount: 5,
    joiners: ['n4', 'n5'],
    onSuspect: (_o, t, at) => (t === victim ? (firstSuspect = Math.min(firstSuspect, at)) : undefined),
    boot: (m) => m.cluster.singleton('S', NopSingleton).then(() => {}),
  })
  await c.allUp(FIVE)
  const running = (): FeaturesMember[] => c.members().filter((m) => !m.process.isCrashed && m.cluster.singletonStatus('S')?.running === true)
  await c.runUntil(() => running().length === 1, 30_000)
  victim = (running()[0] as FeaturesMember).name
  await c.advance(sim.random.next() * 100)
  const t0 = sim.now
  c.crash(victim)
  await c.runUntil(() => running().length === 1, 60_000)
  check(firstSuspect !== Infinity, 'no detector suspected the holder')
  return { detect: firstSuspect - t0, failover: sim.now - t0 }
}

export const suite: Suite = {
  description: 'cluster features in the simulator: receptionist cache hit vs Map.get, linearizable lookup follower vs leader, singleton failover vs detection time',
  cases: ['lookup', 'failover'],
  async run({ only }) {
    note(`cluster-features: ${SEEDS} seeds, 5 members (all voters), network 1–5 ms, detector heartbeat 100 ms, suspect after 1000 ms`)
    if (only === null || only.has('lookup')) {
      const r = []
      for (let seed = 1; seed <= SEEDS; seed++) r.push(await lookups(seed))
      const cached = median(r.map((x) => x.cachedNs))
      const plain = median(r.map((x) => x.mapNs))
      report({ case: 'cluster-features.lookup-cached', value: round(cached, 1), unit: 'ns/lookup (CPU time, p50 of seeds)', baseline: round(plain, 1), ratio: round(cached / plain, 2), entries: 5, seeds: SEEDS })
      const f = median(r.map((x) => x.followerMs))
      const l = median(r.map((x) => x.leaderMs))
      report({ case: 'cluster-features.lookup-linearizable', value: round(f, 1), unit: 'virtual ms, follower (p50)', baseline: round(l, 1), ratio: l > 0 ? round(f / l, 2) : null, seeds: SEEDS })
    }
    if (only === null || only.has('failover')) {
      const r = []
      for (let seed = 1; seed <= SEEDS; seed++) r.push(await failover(seed + 1000))
      const fo = median(r.map((x) => x.failover))
      const d = median(r.map((x) => x.detect))
      report({ case: 'cluster-features.singleton-failover', value: Math.round(fo), unit: 'virtual ms crash → new instance running (p50)', baseline: Math.round(d), ratio: round(fo / d, 3), seeds: SEEDS })
    }
  },
}
