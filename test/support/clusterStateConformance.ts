/**
 * The conformance suite of the ClusterState port (cluster/membership/ClusterState.ts): the same cases
 * run against every backend — ClusterStateNode on Raft in the simulator (virtual time) and
 * JetStreamClusterState on the real JetStream (real time). A backend supplies a cluster handle that
 * starts, crashes and waits; the cases use the port only.
 */
import { describe, expect, test } from 'vitest'
import { ClusterStateErrorCodes, type ClusterChange, type ClusterState, type RegistryEntry } from '../../cluster/index.ts'

export interface ConformanceCluster {
  /** The running incarnation of `name`. */
  member(name: string): ClusterState
  /** Starts `name` (a new member, or a new incarnation of a crashed one) and has it join; resolves once its join is applied. */
  start(name: string): Promise<void>
  /** Abrupt stop: no leave, no hand-over (a lease runs out, a Raft leader is replaced by election). */
  crash(name: string): void
  /** Drives time until `predicate` holds; fails after `ms` (virtual or real). */
  until(predicate: () => boolean, ms: number, what: string): Promise<void>
  /** Drives time until `promise` settles and returns its outcome. */
  settle<T>(promise: Promise<T>): Promise<T>
  /** Lets `ms` pass. */
  delay(ms: number): Promise<void>
  /** The backend's clock (virtual or real), for measured figures. */
  now(): number
}

export interface ConformanceBackend {
  readonly name: string
  /** Whether `lookup` is linearizable on every member (Raft: on the leader only). */
  readonly lookupAnywhere: boolean
  /** Deadline for another member to take over the leader's duties after the holder crashed. */
  readonly failoverMs: number
  /** Deadline for ordinary convergence waits. */
  readonly convergeMs: number
  /** Runs `scenario` on fresh clusters whose `founders` are up (once, or once per seed), cleaning up after. */
  run(founders: readonly string[], scenario: (c: ConformanceCluster) => Promise<void>): Promise<void>
  /** Waits for backend-specific conditions before the restart (e.g. that a snapshot was stored and the log compacted). */
  readonly beforeRestart?: (c: ConformanceCluster) => Promise<void>
  /** Extra checks on a member restarted after many writes (e.g. that it restored a snapshot). */
  readonly checkRestarted?: (state: ClusterState) => void
  /** Called with measured figures (for the test log). */
  readonly report?: (what: string, value: number) => void
}

const FOUNDERS = ['n1', 'n2', 'n3'] as const
const code = (e: unknown): string | undefined => (e as { code?: string } | null)?.code
const refs = (entries: readonly RegistryEntry[]): string[] => entries.map((e) => e.ref)

/** Settles `op()`, retrying while the answer is ERR_CLUSTER_NO_QUORUM (outcome unknown: every command is idempotent). */
export async function retrying<T>(c: ConformanceCluster, op: () => Promise<T>, attempts = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await c.settle(op())
    } catch (error) {
      if (code(error) !== ClusterStateErrorCodes.NoQuorum || i >= attempts) throw error
      await c.delay(200)
    }
  }
}

function statusOf(s: ClusterState, node: string): string {
  return s.members().find((m) => m.node === node)?.status ?? 'absent'
}

/** Downs `target` through the failure-detector input: every other live founder reports it. */
async function suspectFromOthers(c: ConformanceCluster, target: string, incarnation: number, observers: readonly string[]): Promise<void> {
  for (const o of observers) await retrying(c, () => c.member(o).reportSuspicion(target, incarnation, true))
}

export function clusterStateConformance(backend: ConformanceBackend): void {
  describe(`ClusterState conformance: ${backend.name}`, () => {
    const converge = backend.convergeMs

    test('join → up, leave → exiting → removed, seen in the same order everywhere', async () => {
      await backend.run(FOUNDERS, async (c) => {
        for (const n of FOUNDERS) for (const m of FOUNDERS) expect(statusOf(c.member(n), m)).toBe('up')
        const seen: string[] = []
        c.member('n1').onChange((ch) => {
          if (ch.type === 'member' && ch.member.node === 'n4') seen.push(ch.member.status)
        })
        await c.start('n4')
        await c.until(() => FOUNDERS.every((n) => statusOf(c.member(n), 'n4') === 'up'), converge, 'n4 up on every founder')
        const n4 = c.member('n4')
        await retrying(c, () => n4.leave('n4', n4.self.incarnation))
        await c.until(() => FOUNDERS.every((n) => statusOf(c.member(n), 'n4') === 'absent'), converge, 'n4 removed on every founder')
        expect(seen).toEqual(['joining', 'up', 'leaving', 'exiting', 'removed'])
      })
    })

    test('down by majority suspicion; the downed incarnation is quarantined, a new one joins', async () => {
      await backend.run(FOUNDERS, async (c) => {
        const inc = c.member('n3').self.incarnation
        c.crash('n3')
        await suspectFromOthers(c, 'n3', inc, ['n1', 'n2'])
        await c.until(() => ['n1', 'n2'].every((n) => ['down', 'absent'].includes(statusOf(c.member(n), 'n3'))), converge, 'n3 down on n1 and n2')
        await c.start('n3')
        expect(c.member('n3').self.incarnation).toBeGreaterThan(inc)
        await c.until(() => ['n1', 'n2', 'n3'].every((n) => statusOf(c.member(n), 'n3') === 'up'), converge, 'n3 back up as a new incarnation')
        expect(c.member('n1').members().find((m) => m.node === 'n3')?.incarnation).toBe(c.member('n3').self.incarnation)
      })
    })

    test('registerUnique: one holder cluster-wide, conflicts are typed, retries are idempotent', async () => {
      await backend.run(FOUNDERS, async (c) => {
        await retrying(c, () => c.member('n1').registerUnique('svc/unique', 'n1/a'))
        await expect(retrying(c, () => c.member('n2').registerUnique('svc/unique', 'n2/b'))).rejects.toMatchObject({ code: ClusterStateErrorCodes.NameConflict })
        await expect(retrying(c, () => c.member('n3').register('svc/unique', 'n3/c'))).rejects.toMatchObject({ code: ClusterStateErrorCodes.NameConflict })
        await retrying(c, () => c.member('n1').registerUnique('svc/unique', 'n1/a'))
        await c.until(() => FOUNDERS.every((n) => refs(c.member(n).lookupCached('svc/unique')).join() === 'n1/a'), converge, 'one holder everywhere')
      })
    })

    test('subscribe lists a key now and after every change', async () => {
      await backend.run(FOUNDERS, async (c) => {
        const listings: string[][] = []
        const off = c.member('n2').subscribe('svc/sub', (entries) => listings.push(refs(entries)))
        expect(listings).toEqual([[]])
        await retrying(c, () => c.member('n1').register('svc/sub', 'n1/x'))
        await retrying(c, () => c.member('n3').register('svc/sub', 'n3/y'))
        await c.until(() => listings.at(-1)?.join() === 'n1/x,n3/y', converge, 'both entries listed')
        await retrying(c, () => c.member('n1').unregister('svc/sub', 'n1/x'))
        await c.until(() => listings.at(-1)?.join() === 'n3/y', converge, 'unregister listed')
        await retrying(c, () => c.member('n3').actorDied('n3/y'))
        await c.until(() => listings.at(-1)?.length === 0, converge, 'actorDied listed')
        const count = listings.length
        off()
        await retrying(c, () => c.member('n1').register('svc/sub', 'n1/z'))
        await c.until(() => refs(c.member('n2').lookupCached('svc/sub')).join() === 'n1/z', converge, 'n2 applied the last write')
        expect(listings.length).toBe(count)
      })
    })

    test("a singleton's placement moves when its holder is downed", async () => {
      await backend.run(FOUNDERS, async (c) => {
        await retrying(c, () => c.member('n1').declareSingleton('conf-single'))
        await c.until(() => FOUNDERS.every((n) => c.member(n).placement('conf-single')?.node != null), converge, 'placed everywhere')
        const before = c.member('n1').placement('conf-single')
        const holder = before?.node as string
        expect(FOUNDERS.map((n) => c.member(n).placement('conf-single')?.node)).toEqual([holder, holder, holder])
        const others = FOUNDERS.filter((n) => n !== holder)
        c.crash(holder)
        await suspectFromOthers(c, holder, before?.incarnation ?? 1, others)
        const moved = (n: string): boolean => {
          const p = c.member(n).placement('conf-single')
          return p !== undefined && p.node !== null && p.node !== holder && p.version > (before?.version ?? 0)
        }
        await c.until(() => others.every(moved), converge, 'placement moved on the survivors')
        expect(c.member(others[0] as string).placement('conf-single')).toEqual(c.member(others[1] as string).placement('conf-single'))
      })
    })

    test('onChange: every member sees the same changes in the same order', async () => {
      await backend.run(FOUNDERS, async (c) => {
        const logs = new Map<string, string[]>()
        const same = (): boolean => new Set(FOUNDERS.map((n) => c.member(n).position().appliedIndex)).size === 1
        await c.until(same, converge, 'members at one position')
        // Attached synchronously while every member is at the same position: each log starts at the same entry.
        for (const n of FOUNDERS) {
          const log: string[] = []
          logs.set(n, log)
          c.member(n).onChange((ch: ClusterChange | { readonly type: 'reset' }) => log.push(JSON.stringify(ch)))
        }
        const ops = [
          () => c.member('n1').register('ord/a', 'n1/1'),
          () => c.member('n2').register('ord/a', 'n2/1'),
          () => c.member('n3').registerUnique('ord/b', 'n3/u'),
          () => c.member('n1').declareSingleton('ord-single'),
          () => c.member('n2').unregister('ord/a', 'n1/1'),
          () => c.member('n3').reportSuspicion('n1', c.member('n1').self.incarnation, true),
          () => c.member('n3').reportSuspicion('n1', c.member('n1').self.incarnation, false),
        ]
        await c.settle(Promise.all(ops.map((op) => op().catch((e: unknown) => e))))
        await c.until(() => same() && (logs.get('n1')?.length ?? 0) > 0, converge, 'members converge')
        expect(logs.get('n2')).toEqual(logs.get('n1'))
        expect(logs.get('n3')).toEqual(logs.get('n1'))
      })
    })

    test('lookup sees a write acknowledged on another member', async () => {
      await backend.run(FOUNDERS, async (c) => {
        for (let i = 0; i < 5; i++) {
          let reader = 'n2'
          if (!backend.lookupAnywhere) {
            await c.until(() => c.member('n1').leader() !== null, converge, 'a leader')
            reader = c.member('n1').leader()?.node as string
          }
          const writer = FOUNDERS.find((n) => n !== reader) as string
          await retrying(c, () => c.member(writer).register(`lin/${i}`, `${writer}/${i}`))
          const seen = await retrying(c, () => c.member(reader).lookup(`lin/${i}`))
          expect(refs(seen)).toEqual([`${writer}/${i}`])
        }
      })
    })

    test('a restarted member catches up (snapshot + log) and agrees with the others', async () => {
      await backend.run(FOUNDERS, async (c) => {
        const write = async (from: number, to: number): Promise<void> => {
          for (let i = from; i < to; i += 10) {
            await c.settle(Promise.all(Array.from({ length: Math.min(10, to - i) }, (_, j) => retryingInner(c, () => c.member('n1').register(`rs/${i + j}`, `n1/${i + j}`)))))
          }
        }
        await c.until(() => c.member('n1').leader() !== null, converge, 'a leader')
        // Restart a member that does not lead, so the restart tests catch-up, not failover.
        const victim = c.member('n1').leader()?.node === 'n3' ? 'n2' : 'n3'
        const other = FOUNDERS.find((n) => n !== victim && n !== 'n1') as string
        await write(0, 30)
        c.crash(victim)
        await write(30, 60)
        await backend.beforeRestart?.(c)
        await c.start(victim)
        const n1 = c.member('n1')
        const back = c.member(victim)
        await c.until(() => back.position().appliedIndex >= n1.position().appliedIndex && statusOf(n1, victim) === 'up', converge, `${victim} caught up`)
        for (let i = 0; i < 60; i++) expect(refs(back.lookupCached(`rs/${i}`))).toEqual([`n1/${i}`])
        await c.until(() => back.position().appliedIndex === n1.position().appliedIndex && c.member(other).position().appliedIndex === n1.position().appliedIndex, converge, `${victim} at n1's position`)
        expect(back.members()).toEqual(n1.members())
        expect(back.placements()).toEqual(n1.placements())
        backend.checkRestarted?.(back)
      })
    })

    test("leader failover: the duties holder crashes, another member takes over and runs the duties", async () => {
      await backend.run(FOUNDERS, async (c) => {
        await c.until(() => FOUNDERS.every((n) => c.member(n).leader() !== null && c.member(n).leader()?.node === c.member('n1').leader()?.node), converge, 'one leader known to all')
        const old = c.member('n1').leader()?.node as string
        const survivors = FOUNDERS.filter((n) => n !== old)
        const t0 = c.now()
        c.crash(old)
        await c.until(() => survivors.some((n) => { const l = c.member(n).leader(); return l !== null && l.node !== old }), backend.failoverMs, 'a new leader')
        backend.report?.('failover ms', c.now() - t0)
        // The new holder runs the duties: a joining member becomes up.
        await c.start('n4')
        await c.until(() => survivors.every((n) => statusOf(c.member(n), 'n4') === 'up'), converge, 'n4 up under the new leader')
      })
    })
  })
}

/** `retrying` without driving (for use inside one `settle` of many concurrent operations). */
async function retryingInner<T>(c: ConformanceCluster, op: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await op()
    } catch (error) {
      if (code(error) !== ClusterStateErrorCodes.NoQuorum || i >= 30) throw error
    }
  }
}
