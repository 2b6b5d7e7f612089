import { ClusterStateTestCluster, forEachSeed } from '../../../testing/index.ts'
import { clusterStateConformance } from '../../support/clusterStateConformance.ts'

/** Seeds per case for the simulated Raft backend (virtual time, deterministic). */
const SEEDS = Number(process.env['CONFORMANCE_SEEDS'] ?? 3)

clusterStateConformance({
  name: 'ClusterStateNode on Raft (simulated)',
  // Linearizable reads are served by the Raft leader only.
  lookupAnywhere: false,
  failoverMs: 5000,
  convergeMs: 20_000,
  async run(founders, scenario) {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await ClusterStateTestCluster.create(sim, { founders })
      await c.runUntil(() => founders.every((n) => founders.every((m) => c.node(n).members().find((x) => x.node === m)?.status === 'up')), 20_000)
      // The voter policy may still be reshuffling Raft's configuration right after bootstrap: wait until every founder votes.
      await c.runUntil(() => {
        const l = c.leader()
        const config = l === null ? null : c.members().find((m) => m.name === l && m.process.isRunning)?.raft.state().config
        return config !== undefined && config !== null && config.voters.length === founders.length && config.learners.length === 0
      }, 20_000)
      await scenario({
        member: (name) => c.node(name),
        start: async (name) => {
          await c.start(name)
          const cs = c.node(name)
          await c.runUntil(() => cs.members().some((m) => m.node === name && m.incarnation === cs.self.incarnation), 20_000)
        },
        crash: (name) => c.crash(name),
        until: (predicate, ms) => c.runUntil(predicate, ms),
        settle: (promise) => sim.settle(promise, 60_000),
        delay: (ms) => c.advance(ms),
        now: () => sim.now,
      })
    })
  },
})
