import { describe, expect, test } from 'vitest'
import { ClusterNoQuorumError, ClusterQuarantinedError } from '../../../cluster/membership/index.ts'
import { ClusterStateTestCluster, forEachSeed, type ClusterStateTestOptions, type Simulation } from '../../../testing/index.ts'

const SEEDS = Number(process.env['MEMBERSHIP_SEEDS'] ?? 20)
const FIVE = ['n1', 'n2', 'n3', 'n4', 'n5']

/** Checked after every simulation step: state machine safety and singleton fencing. */
function invariants(sim: Simulation, c: ClusterStateTestCluster): void {
  const maxVersion = new Map<string, number>()
  sim.invariant('members at the same applied index agree; fencing tokens only grow; no two hosts share a token', () => {
    const byIndex = new Map<number, string>()
    const tokens = new Map<string, string>()
    for (const m of c.members()) {
      if (m.process.isCrashed) continue
      const s = m.cs.state
      const snap = Buffer.from(m.cs.snapshot()).toString('base64')
      const seen = byIndex.get(s.applied)
      if (seen !== undefined && seen !== snap) return `members disagree at applied index ${s.applied}`
      byIndex.set(s.applied, snap)
      for (const p of s.placements()) {
        const key = `${m.name}#${m.incarnation}/${p.name}`
        if ((maxVersion.get(key) ?? 0) > p.version) return `${key}: fencing version went back`
        maxVersion.set(key, p.version)
        if (p.node === m.name && p.incarnation === m.incarnation && !m.cs.quarantined) {
          const token = `${p.name}@${p.term}.${p.version}`
          const other = tokens.get(token)
          if (other !== undefined && other !== key) return `two hosts of ${p.name} with the same fencing token ${token}`
          tokens.set(token, key)
        }
      }
    }
    return true
  })
}

async function fiveUp(sim: Simulation, options: ClusterStateTestOptions = {}): Promise<ClusterStateTestCluster> {
  const c = await ClusterStateTestCluster.create(sim, { voterCount: 5, ...options })
  invariants(sim, c)
  await c.start('n4')
  await c.start('n5')
  await c.runUntil(() => {
    const l = c.leader()
    if (l === null) return false
    const cs = c.node(l)
    return cs.members().length === 5 && cs.members().every((m) => m.status === 'up') && FIVE.every((n) => c.node(n).state.applied >= cs.state.applied)
  }, 20_000)
  return c
}

const allUp = (c: ClusterStateTestCluster, on: string, names: readonly string[]): boolean => names.every((n) => c.node(on).state.member(n)?.status === 'up')

describe('cluster state flows (simulated, many seeds)', () => {
  test('join: 3 founders and 2 joiners become up; the voter policy makes 5 voters', async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await fiveUp(sim)
      await c.runUntil(() => {
        const l = c.leader()
        return l !== null && c.node(l).state.applied > 0 && (sim.now > 0 && FIVE.every((n) => (c as unknown as { id(n: string): string }).id(n) !== '')) && voters(c) === 5
      }, 20_000)
    })
  })
})

function voters(c: ClusterStateTestCluster): number {
  const l = c.leader()
  if (l === null) return 0
  return (c.members().find((m) => m.name === l && !m.process.isCrashed)?.raft.state().config.voters.length) ?? 0
}

export { allUp, ClusterNoQuorumError, ClusterQuarantinedError }
