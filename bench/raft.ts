/**
 * Raft (issue 19), part (a), simulated: time from a leader's crash until a new leader exists, over
 * 1,000 seeds, in election timeouts (the lower bound et = 300 ms of the test timings). Next to it,
 * measured on the same seeds in the same run, the baseline: the first election of the same cluster
 * from a cold start (every node's timer starts at once). Virtual time: the figures do not depend on
 * the machine's load; the wall-clock line only says how fast the simulator runs them.
 * Parts (b) (3 nodes over real NATS) and (c) (log recovery) belong to the NATS adapter and the
 * durable storage and are not here.
 */
import { Simulation, RaftTestCluster } from '../testing/index.ts'
import { check, note, report, round, type Suite } from './harness.ts'

const SEEDS = Number(process.env['RAFT_BENCH_SEEDS'] ?? 1000)
const ELECTION_MS = 300

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

async function measure(): Promise<{ cold: number[]; failover: number[]; wallMs: number }> {
  const cold: number[] = []
  const failover: number[] = []
  const t0 = performance.now()
  for (let seed = 1; seed <= SEEDS; seed++) {
    const sim = new Simulation({ seed })
    const c = await RaftTestCluster.create(sim, { nodes: 3, electionMs: ELECTION_MS })
    const leader = await c.waitForLeader()
    cold.push(sim.now)
    await c.runUntil(() => c.nodes.every((n) => c.state(n)?.leaderId === leader))
    await c.advance(sim.random.next() * 100)
    c.crash(leader)
    const crashedAt = sim.now
    await c.runUntil(() => c.leaders().some((l) => l !== leader), 20_000)
    failover.push(sim.now - crashedAt)
    check(c.invariants.violation === null, c.invariants.violation ?? '')
  }
  return { cold, failover, wallMs: performance.now() - t0 }
}

export const suite: Suite = {
  description: 'Raft in the simulator: election time after a leader crash (median/p99 over 1,000 seeds, in election timeouts) next to a cold-start election',
  cases: ['election'],
  async run() {
    note(`raft.election: ${SEEDS} seeds, 3 nodes, heartbeat 100 ms, election [${ELECTION_MS}, ${2 * ELECTION_MS}) ms`)
    const { cold, failover, wallMs } = await measure()
    const f = [...failover].sort((a, b) => a - b)
    const c = [...cold].sort((a, b) => a - b)
    const fMed = quantile(f, 0.5) / ELECTION_MS
    const fP99 = quantile(f, 0.99) / ELECTION_MS
    const cMed = quantile(c, 0.5) / ELECTION_MS
    const cP99 = quantile(c, 0.99) / ELECTION_MS
    report({ case: 'raft.election.failover.p50', value: round(fMed, 3), unit: 'election timeouts', baseline: round(cMed, 3), ratio: round(fMed / cMed, 3), seeds: SEEDS })
    report({ case: 'raft.election.failover.p99', value: round(fP99, 3), unit: 'election timeouts', baseline: round(cP99, 3), ratio: round(fP99 / cP99, 3), seeds: SEEDS })
    report({ case: 'raft.election.simulator', value: round((SEEDS * 1000) / wallMs, 1), unit: 'seeds/s', baseline: null, ratio: null })
  },
}
