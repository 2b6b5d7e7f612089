import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ClusterStateMachine } from '../../../../cluster/membership/ClusterStateMachine.ts'
import { encodeCommand } from '../../../../cluster/membership/ClusterCommandCodec.ts'
import type { ClusterCommand } from '../../../../cluster/membership/index.ts'
import { FileRaftStorage } from '../../../../cluster/raft/FileRaftStorage.ts'
import { recoverLoneState } from '../../../../cluster/node/loneRecovery.ts'
import { openClusterIdentity } from '../../../../cluster/node/clusterIdentity.ts'

const dirs: string[] = []
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'troupe-lone-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const commands: ClusterCommand[] = [
  { type: 'join', node: 'n1', incarnation: 1, roles: [], shards: 1, httpAddress: '', appVersion: '1' },
  { type: 'up', node: 'n1', incarnation: 1 },
  { type: 'register', key: 'k', ref: 'r1', node: 'n1', incarnation: 1, unique: false },
  { type: 'singleton', name: 'S', role: null },
]

async function writeLog(dir: string, term: number, cmds: readonly ClusterCommand[], snapshotThrough = 0): Promise<void> {
  const s = new FileRaftStorage({ dir })
  await s.load()
  const entries = [{ index: 1, term, type: 'noop' as const, data: new Uint8Array(0) }, ...cmds.map((c, i) => ({ index: i + 2, term, type: 'command' as const, data: encodeCommand(c) }))]
  await s.persist({ hardState: { term, votedFor: 'n1#1' }, entries })
  if (snapshotThrough > 0) {
    const sm = new ClusterStateMachine()
    for (const e of entries.slice(1, snapshotThrough)) sm.apply(cmds[e.index - 2] as ClusterCommand, e.index, e.term)
    await s.saveSnapshot({ index: snapshotThrough, term, config: { voters: ['n1#1'], learners: [] }, data: sm.snapshot() })
    await s.compact(snapshotThrough)
  }
  await s.close()
}

describe('a lone member recovers its previous incarnation’s cluster state', () => {
  it.each([0, 3])('replays snapshot (through %i) and log into a snapshot of the new server, itself the only voter; joining downs the old incarnation', async (snapshotThrough) => {
    const old = join(tmp(), 'raft-1')
    const fresh = join(tmp(), 'raft-2')
    await writeLog(old, 3, commands, snapshotThrough)
    const recovered = await recoverLoneState(old, fresh, 'n1#2')
    expect(recovered).toEqual({ index: 5, term: 3, members: 1, registryKeys: 1 })

    const s = new FileRaftStorage({ dir: fresh })
    const durable = await s.load()
    await s.close()
    expect(durable.hardState.term).toBe(3)
    expect(durable.entries).toEqual([])
    expect(durable.snapshot).toMatchObject({ index: 5, term: 3, config: { voters: ['n1#2'], learners: [] } })
    const sm = ClusterStateMachine.restore((durable.snapshot as { data: Uint8Array }).data)
    expect(sm.member('n1')).toMatchObject({ incarnation: 1, status: 'up' })
    expect(sm.lookup('k').map((e) => e.ref)).toEqual(['r1'])
    expect(sm.placement('S')).toMatchObject({ node: 'n1', incarnation: 1 })
    const version = (sm.placement('S') as { version: number }).version

    // The new incarnation's join (a later term) replaces the old one: its entries go, the singleton moves with a later token.
    sm.apply({ type: 'join', node: 'n1', incarnation: 2, roles: [], shards: 1, httpAddress: '', appVersion: '1' }, 6, 4)
    sm.apply({ type: 'up', node: 'n1', incarnation: 2 }, 7, 4)
    expect(sm.lookup('k')).toEqual([])
    expect(sm.placement('S')).toMatchObject({ node: 'n1', incarnation: 2, term: 4 })
    expect((sm.placement('S') as { version: number }).version).toBeGreaterThan(version)
  })

  it('returns null and writes nothing when the previous incarnation left no log', async () => {
    const old = join(tmp(), 'raft-1')
    const s = new FileRaftStorage({ dir: old })
    await s.load()
    await s.close()
    expect(await recoverLoneState(old, join(tmp(), 'raft-2'), 'n1#2')).toBeNull()
  })

  it('the identity keeps the previous incarnation’s Raft directory (older ones go)', async () => {
    const data = tmp()
    const first = openClusterIdentity(data, 'c', 'n1')
    expect(first.previousRaftDir).toBeNull()
    await writeLog(first.raftDir, 1, commands)
    const second = openClusterIdentity(data, 'c', 'n1')
    expect(second.previousRaftDir).toBe(first.raftDir)
    await writeLog(second.raftDir, 1, commands)
    const third = openClusterIdentity(data, 'c', 'n1')
    expect(third.previousRaftDir).toBe(second.raftDir)
    const { existsSync } = await import('node:fs')
    expect(existsSync(first.raftDir)).toBe(false)
  })
})
