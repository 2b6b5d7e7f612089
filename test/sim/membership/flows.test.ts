import { describe, expect, test } from 'vitest'
import { ClusterNoQuorumError, ClusterQuarantinedError } from '../../../cluster/membership/index.ts'
import { ClusterStateTestCluster, forEachSeed, type ClusterStateTestOptions, type Simulation } from '../../../testing/index.ts'

const SEEDS = Number(process.env['MEMBERSHIP_SEEDS'] ?? 20)
/** Deep runs (MEMBERSHIP_SEEDS=200) need more than the sim project's 120 s per test on a loaded machine. */
const TIMEOUT = Math.max(120_000, SEEDS * 6_000)
/**
 * The 3|2 partition (split-brain resolution) runs at least 200 seeds in every default run: it is the
 * scenario the keep-majority rule rests on. ~0.2 s of CPU per seed (the invariant encodes each member's
 * state once per applied index, not once per step); MEMBERSHIP_SEEDS above 200 runs more.
 */
const PARTITION_SEEDS = Math.max(200, SEEDS)
const PARTITION_TIMEOUT = Math.max(300_000, PARTITION_SEEDS * 1_500)
const FIVE = ['n1', 'n2', 'n3', 'n4', 'n5']

/** Checked after every simulation step: state machine safety and singleton fencing. */
function invariants(sim: Simulation, c: ClusterStateTestCluster): void {
  const maxVersion = new Map<string, number>()
  // A member's state changes only by applying (or installing a snapshot at) a new index: its bytes are encoded once per index.
  const snaps = new WeakMap<object, { applied: number; snap: string }>()
  const snapshotOf = (cs: { readonly state: { readonly applied: number }; snapshot(): Uint8Array }): string => {
    const cached = snaps.get(cs)
    if (cached !== undefined && cached.applied === cs.state.applied) return cached.snap
    const snap = Buffer.from(cs.snapshot()).toString('base64')
    snaps.set(cs, { applied: cs.state.applied, snap })
    return snap
  }
  sim.invariant('members at the same applied index agree; fencing tokens only grow; no two hosts share a token', () => {
    const byIndex = new Map<number, string>()
    const tokens = new Map<string, string>()
    for (const m of c.members()) {
      if (m.process.isCrashed) continue
      const s = m.cs.state
      const snap = snapshotOf(m.cs)
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
  test('join: 3 founders and 2 joiners become up; the voter policy makes all 5 voters', { timeout: TIMEOUT }, async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await fiveUp(sim)
      await c.runUntil(() => voters(c) === 5, 20_000)
    })
  })

  test('partition 3|2: the majority downs the minority (detectors, not the test), moves the singleton; the minority downs nobody and refuses writes', { timeout: PARTITION_TIMEOUT }, async () => {
    await forEachSeed({ seeds: PARTITION_SEEDS }, async (sim) => {
      const c = await fiveUp(sim)
      await c.runUntil(() => voters(c) === 5, 20_000)
      const l = c.leader() as string
      await sim.settle(c.node(l).declareSingleton('S'))
      const holder = c.node(l).placement('S')?.node as string
      const minority = [holder, FIVE.find((n) => n !== holder) as string]
      const majority = FIVE.filter((n) => !minority.includes(n))
      c.partition(majority, minority)
      await c.runUntil(() => majority.every((n) => minority.every((t) => c.node(n).state.member(t)?.status === 'down')), 20_000)
      for (const n of majority) {
        expect(allUp(c, n, majority)).toBe(true)
        expect(majority).toContain(c.node(n).placement('S')?.node)
      }
      // The minority downs nobody, and its writes fail with a typed error (both members' writes in the same virtual time).
      for (const n of minority) expect(c.node(n).members().filter((m) => m.status === 'down')).toEqual([])
      const refused = minority.map((n) => c.node(n).register('k', `${n}/a`).then(() => null, (error: unknown) => error))
      for (const error of await sim.settle(Promise.all(refused), 5000)) expect(error).toBeInstanceOf(ClusterNoQuorumError)
      // After healing, the downed incarnations learn it and are quarantined.
      c.heal()
      await c.runUntil(() => minority.every((n) => c.node(n).quarantined), 20_000)
      await expect(c.node(minority[0] as string).register('k', 'x')).rejects.toBeInstanceOf(ClusterQuarantinedError)
    })
  })

  test('a paused node is downed and quarantined; it rejoins only as a new incarnation', { timeout: TIMEOUT }, async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await fiveUp(sim)
      const victim = 'n3'
      c.pause(victim)
      const others = FIVE.filter((n) => n !== victim)
      await c.runUntil(() => others.every((n) => c.node(n).state.member(victim)?.status !== 'up'), 20_000)
      c.resume(victim)
      await c.runUntil(() => c.node(victim).quarantined, 20_000)
      await expect(c.node(victim).register('k', 'x')).rejects.toBeInstanceOf(ClusterQuarantinedError)
      // It never comes back by itself: restart with a new incarnation.
      c.crash(victim)
      await c.start(victim)
      expect(c.incarnation(victim)).toBe(2)
      await c.runUntil(() => others.every((n) => c.node(n).state.member(victim)?.incarnation === 2 && c.node(n).state.member(victim)?.status === 'up'), 20_000)
    })
  })

  test('graceful leave: leaving → exiting → removed; the Raft server goes; the rest carries on', { timeout: TIMEOUT }, async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await fiveUp(sim)
      const l = c.leader() as string
      // The leader itself leaves half of the time (it hands leadership over first).
      const leaver = sim.random.next() < 0.5 ? l : (FIVE.find((n) => n !== l) as string)
      const inc = c.incarnation(leaver)
      await sim.settle(c.node(leaver).leave(leaver, inc), 10_000)
      const rest = FIVE.filter((n) => n !== leaver)
      await c.runUntil(() => rest.every((n) => c.node(n).state.member(leaver) === undefined && c.node(n).state.isQuarantined(leaver, inc)), 20_000)
      await c.runUntil(() => {
        const nl = c.leader()
        return nl !== null && nl !== leaver && !c.members().some((m) => m.name === nl && m.raft.state().config.voters.includes(`${leaver}#${inc}`))
      }, 20_000)
      await sim.settle(c.node(rest[0] as string).register('after', 'x'), 10_000)
    })
  })

  test('receptionist listings converge on every member, and subscribers see the final listing', { timeout: TIMEOUT }, async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const c = await fiveUp(sim)
      const seen = new Map<string, string[]>()
      for (const n of FIVE) c.node(n).subscribe('svc', (es) => seen.set(n, es.map((e) => e.ref)))
      const writes = FIVE.map((n, i) => c.node(n).register('svc', `${n}/worker`).then(() => (i % 2 === 0 ? c.node(n).unregister('svc', `${n}/worker`) : undefined)))
      await sim.settle(Promise.all(writes), 20_000)
      const want = ['n2/worker', 'n4/worker']
      await c.runUntil(() => FIVE.every((n) => JSON.stringify(c.node(n).lookupCached('svc').map((e) => e.ref)) === JSON.stringify(want)), 10_000)
      for (const n of FIVE) expect(seen.get(n)).toEqual(want)
      // A member's death removes its entries everywhere.
      c.crash('n4')
      await c.runUntil(() => FIVE.filter((n) => n !== 'n4').every((n) => JSON.stringify(c.node(n).lookupCached('svc').map((e) => e.ref)) === '["n2/worker"]'), 20_000)
    })
  })
})

function voters(c: ClusterStateTestCluster): number {
  const l = c.leader()
  if (l === null) return 0
  return c.members().find((m) => m.name === l && !m.process.isCrashed)?.raft.state().config.voters.length ?? 0
}
