import { forEachSeed, RaftTestCluster, type RaftClusterOptions } from '../../../testing/index.ts'

/** Seeds per scenario: 200 by default, RAFT_SEEDS=N for more (TROUPE_SIM_SEED=s replays one). */
export const SEEDS = Number(process.env['RAFT_SEEDS'] ?? 200)

/** Runs `scenario` on a fresh cluster per seed; a failure names the seed and how to replay it. */
export function eachSeed(options: RaftClusterOptions, scenario: (c: RaftTestCluster) => Promise<void>, seeds = SEEDS): Promise<number> {
  return forEachSeed({ seeds }, async (sim) => {
    const c = await RaftTestCluster.create(sim, options)
    await scenario(c)
    if (c.invariants.violation !== null) throw new Error(c.invariants.violation)
  })
}
