import { describe, expect, test } from 'vitest'
import { ClusterNoQuorumError, ClusterQuarantinedError, ClusterStateNode, type ClusterCommand } from '../../../cluster/membership/index.ts'
import { checkLinearizable, forEachSeed, RaftTestCluster, registryModel, type Operation, type RegistryInput, type RegistryOutput } from '../../../testing/index.ts'

const rint = (sim: { random: { next(): number } }, lo: number, hi: number): number => lo + Math.floor(sim.random.next() * (hi - lo + 1))
const SEEDS = Number(process.env['MEMBERSHIP_SEEDS'] ?? 20)
/** Deep runs (MEMBERSHIP_SEEDS=200) need more than the sim project's 120 s per test on a loaded machine. */
const TIMEOUT = Math.max(120_000, SEEDS * 6_000)
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5']

interface World {
  readonly c: RaftTestCluster
  readonly cs: Map<string, ClusterStateNode>
}

async function world(c: RaftTestCluster): Promise<World> {
  const cs = new Map<string, ClusterStateNode>()
  for (const n of c.nodes) attach({ c, cs }, n)
  // State machine safety, checked after every simulation step: members that applied the same index agree.
  c.sim.invariant('cluster state agrees per applied index', () => {
    const byIndex = new Map<number, string>()
    for (const s of cs.values()) {
      const snap = Buffer.from(s.snapshot()).toString('base64')
      const seen = byIndex.get(s.state.applied)
      if (seen !== undefined && seen !== snap) return `two members disagree at applied index ${s.state.applied}`
      byIndex.set(s.state.applied, snap)
    }
    return true
  })
  return { c, cs }
}

function attach(w: World, n: string): void {
  w.cs.get(n)?.stop()
  w.cs.set(n, new ClusterStateNode({ raft: w.c.raft(n)!, clock: w.c.sim.createProcess(`cs-${n}`).clock, self: { node: n, incarnation: 1 }, writeTimeoutMs: 1500, leaderDuties: false }))
}

/** Writes through whoever leads (followers' forwarding is the NATS part of #14), retrying through elections. */
async function onLeader(w: World, cmd: ClusterCommand, among: readonly string[] = NODES): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const leader = w.c.leader()
    if (leader !== null && among.includes(leader)) {
      try {
        await w.c.sim.settle(w.cs.get(leader)!.write(cmd), 5000)
        return
      } catch (error) {
        if (!(error instanceof ClusterNoQuorumError)) throw error
      }
    }
    await w.c.advance(100)
  }
  throw new Error(`no leader among ${among.join(',')} committed ${cmd.type}`)
}

async function bootCluster(w: World): Promise<void> {
  await w.c.waitForLeader()
  for (const n of NODES) {
    await onLeader(w, { type: 'join', node: n, incarnation: 1, roles: [], shards: 1, httpAddress: `http://${n}`, appVersion: '1' })
    await onLeader(w, { type: 'up', node: n, incarnation: 1 })
  }
  await onLeader(w, { type: 'singleton', name: 'S', role: null })
}

describe('cluster state on Raft (simulated, many seeds)', () => {
  test('join/up; partition 3|2: the majority downs the minority, the minority downs nobody and refuses writes; a downed node is quarantined after healing', { timeout: TIMEOUT }, async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const w = await world(await RaftTestCluster.create(sim, { nodes: NODES }))
      await bootCluster(w)
      expect(w.cs.get(w.c.leader()!)!.members().map((m) => m.status)).toEqual(['up', 'up', 'up', 'up', 'up'])
      // The singleton sits on the oldest member, n1; put it on the minority side to see it move.
      const majority = ['n2', 'n3', 'n4']
      const minority = ['n1', 'n5']
      w.c.partition(majority, minority)
      await w.c.runUntil(() => w.c.leaders().some((l) => majority.includes(l)), 10_000)
      // The majority's failure detectors (played by the test) report the minority.
      for (const o of majority) for (const t of minority) await onLeader(w, { type: 'suspect', observer: o, observerIncarnation: 1, node: t, incarnation: 1, suspected: true }, majority)
      await w.c.runUntil(() => majority.every((n) => minority.every((t) => w.cs.get(n)!.state.member(t)?.status === 'down')), 5000)
      for (const n of majority) expect(w.cs.get(n)!.placement('S')?.node).toBe('n2')
      // The minority: it downs nobody, and its writes fail with a typed error.
      for (const n of minority) {
        expect(w.cs.get(n)!.members().every((m) => m.status === 'up')).toBe(true)
        await expect(w.c.sim.settle(w.cs.get(n)!.register('k', `${n}/a`).catch((e: unknown) => Promise.reject(e)), 5000)).rejects.toBeInstanceOf(ClusterNoQuorumError)
        // Even the minority's own suspicion of the majority cannot commit.
        await expect(w.c.sim.settle(w.cs.get(n)!.reportSuspicion('n2', 1, true), 5000)).rejects.toBeInstanceOf(ClusterNoQuorumError)
      }
      w.c.heal()
      await w.c.runUntil(() => minority.every((n) => w.cs.get(n)!.quarantined), 10_000)
      await expect(w.cs.get('n5')!.register('k', 'n5/b')).rejects.toBeInstanceOf(ClusterQuarantinedError)
      // A new incarnation of n5 may join.
      await onLeader(w, { type: 'join', node: 'n5', incarnation: 2, roles: [], shards: 1, httpAddress: '', appVersion: '1' })
      expect(w.cs.get(w.c.leader()!)!.state.member('n5')).toMatchObject({ incarnation: 2, status: 'joining' })
    })
  })

  test('registry operations under partitions and crashes are linearizable (checked history)', { timeout: TIMEOUT }, async () => {
    await forEachSeed({ seeds: SEEDS }, async (sim) => {
      const w = await world(await RaftTestCluster.create(sim, { nodes: NODES }))
      await bootCluster(w)
      const history: Operation<RegistryInput, RegistryOutput>[] = []
      // Clients run on simulator timers (only one caller may drive the simulation: the nemesis below).
      let running = 0
      const client = (id: number, i: number): void => {
        if (i >= 12) {
          running--
          return
        }
        // Mostly to whoever leads now (a client following redirects), sometimes to a random member (refused or stale).
        const node = rint(sim, 0, 4) > 0 && w.c.leader() !== null ? (w.c.leader() as string) : (NODES[rint(sim, 0, NODES.length - 1)] as string)
        const s = w.cs.get(node)!
        const pick = rint(sim, 0, 2)
        const call = sim.now
        const input: RegistryInput = pick === 0 ? { op: 'register', ref: `c${id}r${i % 3}`, unique: rint(sim, 0, 1) === 0 } : pick === 1 ? { op: 'unregister', ref: `c${id}r${i % 3}` } : { op: 'lookup' }
        const op: Promise<RegistryOutput> =
          input.op === 'lookup'
            ? s.lookup('key').then((es) => ({ refs: es.map((e) => e.ref) }))
            : (input.op === 'register' ? s.register('key', input.ref, input.unique) : s.unregister('key', input.ref)).then(
                (): RegistryOutput => ({ ok: true }),
                (error: unknown): RegistryOutput => {
                  if ((error as { code?: string }).code !== 'ERR_CLUSTER_NAME_CONFLICT') throw error
                  return { ok: false, code: 'ERR_CLUSTER_NAME_CONFLICT' }
                },
              )
        op.then(
          (output) => history.push({ call, ret: sim.now, input, output }),
          // No answer (not the leader, no quorum, a crash): a write may still have happened.
          () => {
            if (input.op !== 'lookup') history.push({ call, ret: Infinity, input, output: undefined })
          },
        ).finally(() => sim.after(rint(sim, 1, 60), () => client(id, i + 1)))
      }
      for (const id of [1, 2, 3]) {
        running++
        client(id, 0)
      }
      for (let k = 0; k < 4; k++) {
        await w.c.advance(rint(sim, 50, 300))
        const shuffled = [...NODES].sort(() => rint(sim, 0, 1) - 0.5)
        w.c.partition(shuffled.slice(0, 3), shuffled.slice(3))
        await w.c.advance(rint(sim, 100, 600))
        const victim = NODES[rint(sim, 0, NODES.length - 1)] as string
        w.c.crash(victim)
        await w.c.advance(rint(sim, 50, 300))
        await w.c.restart(victim)
        attach(w, victim)
        w.c.heal()
      }
      await w.c.runUntil(() => running === 0, 60_000)
      // The history is not vacuous: answered writes and linearizable reads were recorded.
      expect(history.filter((o) => o.ret !== Infinity && o.input.op !== 'lookup').length).toBeGreaterThan(3)
      expect(history.some((o) => o.input.op === 'lookup')).toBe(true)
      const r = checkLinearizable(registryModel, history)
      expect(r.ok, `history not linearizable (explored ${r.explored}): ${JSON.stringify(history)}`).toBe(true)
    })
  })
})
