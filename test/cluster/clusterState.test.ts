import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { startNodeProcess, type NodeProcess } from './support.ts'
import { eventually, lines, troupeCluster, type MemberView, type View } from './clusterSupport.ts'

const processes: NodeProcess[] = []
const dataDir = mkdtempSync(join(tmpdir(), 'troupe-cluster-'))
afterAll(() => {
  for (const p of processes) p.child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

describe('cluster state on three real nodes over NATS', () => {
  it('join; kill -9 of the singleton holder: downed once by the others, watchers get one node-down, the singleton moves; a restart joins as a new incarnation', async () => {
    const natsUrl = inject('natsUrl')
    const cluster = `cs${process.pid}${Date.now() % 100000}`
    const env = { TROUPE_HEARTBEAT_MS: '100', TROUPE_DOWN_AFTER_MS: '1000', TROUPE_RAFT_HEARTBEAT_MS: '50', TROUPE_RAFT_ELECTION_MS: '300', TROUPE_DATA_DIR: dataDir, }
    const start = async (name: string, extra: string[]): Promise<{ p: NodeProcess; url: string }> => {
      const p = startNodeProcess(['start', '--app', 'test/cluster/fixtures/clusterApp.ts', '--name', name, '--cluster', cluster, '--nats', natsUrl, '--http', '127.0.0.1:0', '--cluster-state', 'raft', ...extra], env)
      processes.push(p)
      const started = await p.waitForLog((l) => l['msg'] === 'node started', 120_000)
      await p.waitForLog((l) => l['msg'] === 'cluster member up', 60_000)
      return { p, url: `http://127.0.0.1:${String(started['http'])}` }
    }
    // n1 bootstraps; n2 then n3 join through it (n2 is the older worker: it gets the singleton).
    const n1 = await start('n1', [])
    const n2 = await start('n2', ['--seed', 'n1', '--role', 'worker'])
    const n3 = await start('n3', ['--seed', 'n1', '--seed', 'n2', '--role', 'worker'])

    const view = (url: string): Promise<View> => troupeCluster(url, 'status').then((r) => r.out as View)
    const v = await eventually(
      () => view(n1.url),
      (x) => x.members?.filter((m) => m.status === 'up').length === 3 && x.members.every((m) => m.voter) && x.singletons?.[0]?.node === 'n2',
      'three up voters and the singleton on n2',
    )
    expect(v.leader?.node).toBe('n1')
    // Every node watches the others' targets (listings from the registry).
    for (const { p } of [n1, n3]) await eventually(async () => lines(p, 'watching').map((l) => l['watched']), (w) => w.includes('n2'), 'watching n2')

    n2.p.child.kill('SIGKILL')
    expect(await n2.p.exited).toBe('SIGKILL')

    // The survivors down n2#1 and move the singleton to n3.
    for (const { url } of [n1, n3]) {
      await eventually(
        () => view(url),
        // A removed member leaves the list: absent (after it was seen up) counts as removed.
        (x) => Array.isArray(x.members) && ['down', 'removed'].includes(x.members.find((m) => m.node === 'n2')?.status ?? 'removed') && x.singletons?.[0]?.node === 'n3',
        'n2 down and the singleton on n3',
      )
    }
    const members = await troupeCluster(n3.url, 'members')
    expect(members.code).toBe(0)
    // n2#1 is down, or already removed once Raft dropped its server: never up again.
    expect((members.out as MemberView[]).filter((m) => m.node === 'n2' && m.status !== 'down' && m.status !== 'removed')).toEqual([])
    expect((members.out as MemberView[]).filter((m) => m.status === 'up').map((m) => m.node).sort()).toEqual(['n1', 'n3'])

    // Restarting n2 on its data dir: incarnation 2 joins; n2#1 stays out.
    const n2b = await start('n2', ['--seed', 'n1', '--role', 'worker'])
    const after = await eventually(() => view(n1.url), (x) => x.members?.some((m) => m.node === 'n2' && m.incarnation === 2 && m.status === 'up'), 'n2#2 up')
    expect(after.members.filter((m) => m.node === 'n2' && m.status === 'up').map((m) => m.incarnation)).toEqual([2])
    expect(after.singletons[0]?.node).toBe('n3')

    // Exactly once: each survivor applied n2#1's down once, and its watcher saw one node-down of n2's target.
    for (const { p } of [n1, n3]) {
      expect(lines(p, 'cluster member status').filter((l) => l['member'] === 'n2' && l['incarnation'] === 1 && l['status'] === 'down')).toHaveLength(1)
      const seen = lines(p, 'terminated seen').filter((l) => l['watched'] === 'n2')
      expect(seen).toHaveLength(1)
      expect(seen[0]?.['reason']).toEqual({ kind: 'node-down', node: 'n2' })
    }

    // Typed CLI errors: an unknown member, a node that is not reachable.
    const unknown = await troupeCluster(n1.url, 'down', 'nobody')
    expect(unknown.code).toBe(1)
    expect(unknown.err).toContain('ERR_CLUSTER_UNKNOWN_MEMBER')
    const unreachable = await troupeCluster('http://127.0.0.1:1', 'status')
    expect(unreachable.err).toContain('ERR_NODE_UNREACHABLE')

    // Graceful stops: each member leaves and the process exits 0.
    for (const { p } of [n2b, n3, n1]) {
      p.child.kill('SIGTERM')
      const code = await p.exited
      // On failure, the shutdown's own log says which phase did not finish.
      expect(code, code === 0 ? '' : lines(p, 'shutdown phase').map((l) => JSON.stringify(l)).join('\n') + p.output().slice(-3000)).toBe(0)
    }
  }, 400_000)
})
