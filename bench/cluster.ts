/**
 * Cluster state (issue 14, first part), simulated: time from a member's death to `down` applied on
 * every live member, and singleton failover (death of the holder to the new placement applied
 * everywhere), over many seeds, next to the baseline measured in the same runs: the failure
 * detector's own detection time (death to the first observer suspecting it; suspectAfterMs = 1000 ms,
 * heartbeat 100 ms). The ratio is what consensus adds to detection. Virtual time: the figures do not
 * depend on the machine's load. Then the same on three real node processes over NATS (clusterReal.ts:
 * `CLUSTER_REAL_ROUNDS`, default 3; wall-clock, so read it with the load noted).
 */
import { ClusterStateTestCluster, Simulation } from '../testing/index.ts'
import { check, note, report, round, type Suite } from './harness.ts'
import { realDown } from './clusterReal.ts'

const SEEDS = Number(process.env['CLUSTER_BENCH_SEEDS'] ?? 50)
const FIVE = ['n1', 'n2', 'n3', 'n4', 'n5']

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

async function once(seed: number, killHolder: boolean): Promise<{ detect: number; down: number; failover: number }> {
  const sim = new Simulation({ seed })
  let firstSuspect = Infinity
  let victim = ''
  const c = await ClusterStateTestCluster.create(sim, { voterCount: 5, onSuspect: (_o, t, at) => (t === victim ? (firstSuspect = Math.min(firstSuspect, at)) : undefined) })
  await c.start('n4')
  await c.start('n5')
  await c.runUntil(() => {
    const l = c.leader()
    return l !== null && c.node(l).members().filter((m) => m.status === 'up').length === 5
  }, 30_000)
  const l = c.leader() as string
  await sim.settle(c.node(l).declareSingleton('S'), 10_000)
  await c.runUntil(() => FIVE.every((n) => c.node(n).placement('S')?.node !== undefined && c.node(n).placement('S')?.node !== null), 10_000)
  const holder = c.node(l).placement('S')?.node as string
  victim = killHolder ? holder : (FIVE.find((n) => n !== holder && n !== l) as string)
  await c.advance(sim.random.next() * 100)
  const t0 = sim.now
  c.crash(victim)
  const rest = FIVE.filter((n) => n !== victim)
  let downAt = Infinity
  let movedAt = Infinity
  await c.runUntil(() => {
    if (downAt === Infinity && rest.every((n) => c.node(n).state.member(victim)?.status !== 'up' && c.node(n).state.member(victim)?.status !== 'joining')) downAt = sim.now
    if (movedAt === Infinity && rest.every((n) => c.node(n).placement('S')?.node !== victim && c.node(n).placement('S')?.node !== null)) movedAt = sim.now
    return downAt !== Infinity && (!killHolder || movedAt !== Infinity)
  }, 30_000)
  check(firstSuspect !== Infinity, 'no detector suspected the victim')
  return { detect: firstSuspect - t0, down: downAt - t0, failover: movedAt - t0 }
}

export const suite: Suite = {
  description: 'Cluster state in the simulator: death → cluster-wide down, and singleton failover, next to the detector’s detection time',
  cases: ['down', 'failover', 'real-down', 'real-suspect'],
  async run() {
    note(`cluster: ${SEEDS} seeds, 5 members (all voters), detector heartbeat 100 ms, suspect after 1000 ms, Raft election [300, 600) ms`)
    const detect: number[] = []
    const down: number[] = []
    const fDetect: number[] = []
    const failover: number[] = []
    for (let seed = 1; seed <= SEEDS; seed++) {
      const a = await once(seed, false)
      detect.push(a.detect)
      down.push(a.down)
      const b = await once(seed + 100_000, true)
      fDetect.push(b.detect)
      failover.push(b.failover)
    }
    report({ case: 'cluster.down', value: Math.round(median(down)), unit: 'virtual ms (p50)', baseline: Math.round(median(detect)), ratio: round(median(down) / median(detect), 3), seeds: SEEDS })
    report({ case: 'cluster.failover', value: Math.round(median(failover)), unit: 'virtual ms (p50)', baseline: Math.round(median(fDetect)), ratio: round(median(failover) / median(fDetect), 3), seeds: SEEDS })
    await realDown()
  },
}
