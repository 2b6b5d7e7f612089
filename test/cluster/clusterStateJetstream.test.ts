import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { startNodeProcess, type NodeProcess } from './support.ts'
import { eventually, lines, troupeCluster, type MemberView, type View } from './clusterSupport.ts'

// The JetStream variant of clusterState.test.ts: same fixture app, same checks, `--cluster-state jetstream`.
const processes: NodeProcess[] = []
const dataDir = mkdtempSync(join(tmpdir(), 'troupe-cluster-js-'))
const cluster = `csjs${process.pid}${Date.now() % 100000}`
afterAll(async () => {
  for (const p of processes) p.child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
  // The stream and buckets the nodes created, named after the cluster.
  const nc = await connect({ servers: inject('natsUrl') })
  const jsm = await jetstreamManager(nc)
  for (const stream of [`TROUPE_CLUSTER_${cluster}`, `KV_troupe_cluster_${cluster}`, `KV_troupe_cluster_${cluster}_lease`]) await jsm.streams.delete(stream).catch(() => false)
  await nc.close()
})

describe('cluster state on JetStream, three real nodes', () => {
  it('join; kill -9 of the singleton holder: downed once by the others, one node-down per watcher, the singleton moves; graceful stops', async () => {
    const natsUrl = inject('natsUrl')
    const env = { TROUPE_HEARTBEAT_MS: '100', TROUPE_DOWN_AFTER_MS: '1000', TROUPE_DATA_DIR: dataDir }
    const start = async (name: string, extra: string[]): Promise<{ p: NodeProcess; url: string }> => {
      const p = startNodeProcess(['start', '--app', 'test/cluster/fixtures/clusterApp.ts', '--name', name, '--cluster', cluster, '--nats', natsUrl, '--http', '127.0.0.1:0', '--cluster-state', 'jetstream', ...extra], env)
      processes.push(p)
      const started = await p.waitForLog((l) => l['msg'] === 'node started', 120_000)
      await p.waitForLog((l) => l['msg'] === 'cluster member up', 60_000)
      return { p, url: `http://127.0.0.1:${String(started['http'])}` }
    }
    // No seeds: every member reads the stream. n2 is the older worker: it gets the singleton.
    const n1 = await start('n1', [])
    const n2 = await start('n2', ['--role', 'worker'])
    const n3 = await start('n3', ['--role', 'worker'])

    const view = (url: string): Promise<View> => troupeCluster(url, 'status').then((r) => r.out as View)
    const v = await eventually(() => view(n1.url), (x) => x.members?.filter((m) => m.status === 'up').length === 3 && x.singletons?.[0]?.node === 'n2', 'three up members and the singleton on n2')
    expect(v.raft).toBeNull()
    expect(v.leader).not.toBeNull()
    // The cluster gauges on a JetStream node: members by status, the stream position, no Raft samples.
    const exposition = await (await fetch(`${n1.url}/metrics`)).text()
    expect(exposition).toMatch(/^troupe_cluster_members\{status="up"\} 3$/m)
    expect(Number(/^troupe_cluster_state_applied_position\{backend="jetstream"\} (\d+)$/m.exec(exposition)?.[1])).toBeGreaterThan(0)
    expect(exposition).not.toMatch(/^troupe_cluster_raft_\w+\{/m)
    for (const { p } of [n1, n3]) await eventually(async () => lines(p, 'watching').map((l) => l['watched']), (w) => w.includes('n2'), 'watching n2')

    n2.p.child.kill('SIGKILL')
    expect(await n2.p.exited).toBe('SIGKILL')

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
    expect((members.out as MemberView[]).filter((m) => m.node === 'n2' && m.status !== 'down' && m.status !== 'removed')).toEqual([])
    expect((members.out as MemberView[]).filter((m) => m.status === 'up').map((m) => m.node).sort()).toEqual(['n1', 'n3'])

    // Exactly once: each survivor applied n2#1's down once, and its watcher saw one node-down of n2's target.
    for (const { p } of [n1, n3]) {
      expect(lines(p, 'cluster member status').filter((l) => l['member'] === 'n2' && l['incarnation'] === 1 && l['status'] === 'down')).toHaveLength(1)
      const seen = lines(p, 'terminated seen').filter((l) => l['watched'] === 'n2')
      expect(seen).toHaveLength(1)
      expect(seen[0]?.['reason']).toEqual({ kind: 'node-down', node: 'n2' })
    }

    for (const { p } of [n3, n1]) {
      p.child.kill('SIGTERM')
      const code = await p.exited
      expect(code, code === 0 ? '' : lines(p, 'shutdown phase').map((l) => JSON.stringify(l)).join('\n') + p.output().slice(-3000)).toBe(0)
    }
  }, 300_000)
})
