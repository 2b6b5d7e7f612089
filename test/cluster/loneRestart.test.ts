import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { startNodeProcess, type NodeProcess } from './support.ts'
import { eventually, lines, troupeCluster, type View } from './clusterSupport.ts'

const processes: NodeProcess[] = []
const dataDir = mkdtempSync(join(tmpdir(), 'troupe-lone-'))
afterAll(() => {
  for (const p of processes) p.child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

type Status = View & { term: number; appliedIndex: number }

describe('a lone bootstrap node restarts on its data dir', () => {
  it('kill -9, then restart: the new incarnation carries the cluster state over (log position, term and singleton version keep growing)', async () => {
    const natsUrl = inject('natsUrl')
    const cluster = `lone${process.pid}${Date.now() % 100000}`
    const env = { TROUPE_HEARTBEAT_MS: '100', TROUPE_DOWN_AFTER_MS: '1000', TROUPE_RAFT_HEARTBEAT_MS: '50', TROUPE_RAFT_ELECTION_MS: '300', TROUPE_DATA_DIR: dataDir }
    const start = async (): Promise<{ p: NodeProcess; url: string }> => {
      const p = startNodeProcess(['start', '--app', 'test/cluster/fixtures/clusterApp.ts', '--name', 'n1', '--cluster', cluster, '--nats', natsUrl, '--http', '127.0.0.1:0', '--cluster-state', 'raft', '--role', 'worker'], env)
      processes.push(p)
      const started = await p.waitForLog((l) => l['msg'] === 'node started', 120_000)
      await p.waitForLog((l) => l['msg'] === 'singleton declared', 60_000)
      return { p, url: `http://127.0.0.1:${String(started['http'])}` }
    }
    const view = (url: string): Promise<Status> => troupeCluster(url, 'status').then((r) => r.out as Status)

    const first = await start()
    const before = await eventually(() => view(first.url), (v) => v.singletons?.[0]?.node === 'n1' && v.registryKeys !== null && v.registryKeys > 0, 'singleton placed and target registered')
    first.p.child.kill('SIGKILL')
    expect(await first.p.exited).toBe('SIGKILL')

    const second = await start()
    const recovered = lines(second.p, 'cluster state: a lone member recovered its previous incarnation’s state')
    expect(recovered).toHaveLength(1)
    expect(recovered[0]?.['index']).toBeGreaterThanOrEqual(before.appliedIndex)
    const after = await eventually(
      () => view(second.url),
      (v) => v.members?.some((m) => m.node === 'n1' && m.incarnation === 2 && m.status === 'up') && v.singletons?.[0]?.incarnation === 2,
      'n1#2 up and holding the singleton',
    )
    expect(after.term).toBeGreaterThan(before.term)
    expect(after.appliedIndex).toBeGreaterThan(before.appliedIndex)
    // The singleton's fencing token (Raft term, placement version) is later than the old instance's.
    const [was, now] = [before.singletons[0], after.singletons[0]] as unknown as [{ term: number; version: number }, { term: number; version: number }]
    expect(now.term > was.term || (now.term === was.term && now.version > was.version), `${JSON.stringify(now)} after ${JSON.stringify(was)}`).toBe(true)
    expect(after.members.filter((m) => m.status === 'up').map((m) => `${m.node}#${m.incarnation}`)).toEqual(['n1#2'])

    second.p.child.kill('SIGTERM')
    expect(await second.p.exited).toBe(0)
  }, 300_000)
})
