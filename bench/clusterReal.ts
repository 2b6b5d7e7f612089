/**
 * Cluster state on three real node processes over a local nats-server (`troupe start --cluster-state
 * raft`, test/cluster/fixtures/clusterApp.ts): time from a member's `kill -9` to its `down` applied on
 * both survivors (each survivor logs the applied change with its own wall-clock time; same machine),
 * next to the failure detector's configured detection time (downAfterMs: the silence after which φ
 * crosses the threshold for regular heartbeats). The ratio is what detection jitter, the link check
 * and consensus add. Each round restarts the killed node (a new incarnation) before the next kill.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNodeProcess, type NodeProcess } from '../test/cluster/support.ts'
import { provideNats, uniqueCluster } from '../test/support/services.ts'
import { median, note, report, round } from './harness.ts'

const ROUNDS = Number(process.env['CLUSTER_REAL_ROUNDS'] ?? 3)
const HEARTBEAT_MS = 100
const DOWN_AFTER_MS = 1000

function logLines(p: NodeProcess): Record<string, unknown>[] {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>]
      } catch {
        return []
      }
    })
}

export async function realDown(): Promise<void> {
  const nats = await provideNats()
  const dataDir = mkdtempSync(join(tmpdir(), 'troupe-bench-cluster-'))
  const cluster = uniqueCluster('bc').replace(/[^A-Za-z0-9_-]/g, '')
  const env = { TROUPE_HEARTBEAT_MS: String(HEARTBEAT_MS), TROUPE_DOWN_AFTER_MS: String(DOWN_AFTER_MS), TROUPE_RAFT_HEARTBEAT_MS: '50', TROUPE_RAFT_ELECTION_MS: '300', TROUPE_DATA_DIR: dataDir, TROUPE_LOG_LEVEL: 'info' }
  const procs: NodeProcess[] = []
  const start = async (name: string, seeds: string[]): Promise<NodeProcess> => {
    const p = startNodeProcess(['start', '--app', 'test/cluster/fixtures/clusterApp.ts', '--name', name, '--cluster', cluster, '--nats', nats.url, '--http', '', '--cluster-state', 'raft', ...seeds.flatMap((s) => ['--seed', s])], env)
    procs.push(p)
    await p.waitForLog((l) => l['msg'] === 'cluster member up', 60_000)
    return p
  }
  try {
    note(`cluster real: 3 processes, heartbeat ${HEARTBEAT_MS} ms, downAfterMs ${DOWN_AFTER_MS} ms, Raft election [300, 600) ms, ${ROUNDS} rounds; load: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`)
    const n1 = await start('n1', [])
    const n2 = await start('n2', ['n1'])
    let victim = await start('n3', ['n1'])
    const downs: number[] = []
    const suspects: number[] = []
    for (let round_ = 1; round_ <= ROUNDS; round_++) {
      // Steady heartbeats first, so the detector has a history.
      await new Promise((resolve) => setTimeout(resolve, 2000))
      const killedAt = Date.now()
      victim.child.kill('SIGKILL')
      await victim.exited
      const applied = await Promise.all(
        [n1, n2].map((p) => p.waitForLog((l) => l['msg'] === 'cluster member status' && l['member'] === 'n3' && l['incarnation'] === round_ && l['status'] === 'down', 30_000)),
      )
      downs.push(Math.max(...applied.map((l) => Number(l['time']))) - killedAt)
      const firstSuspect = Math.min(...[n1, n2].flatMap((p) => logLines(p).filter((l) => l['msg'] === 'cluster state: reporting a member unreachable' && l['member'] === 'n3' && l['incarnation'] === round_).map((l) => Number(l['time']))))
      suspects.push(firstSuspect - killedAt)
      note(`round ${round_}: first suspicion after ${firstSuspect - killedAt} ms, down applied on both survivors after ${downs.at(-1)} ms`)
      if (round_ < ROUNDS) victim = await start('n3', ['n1'])
    }
    report({ case: 'cluster.real-down', value: Math.round(median(downs)), unit: 'ms (p50, kill -9 → down applied on both survivors)', baseline: DOWN_AFTER_MS, ratio: round(median(downs) / DOWN_AFTER_MS, 3), rounds: ROUNDS, all: downs })
    report({ case: 'cluster.real-suspect', value: Math.round(median(suspects)), unit: 'ms (p50, kill -9 → first survivor reports suspicion)', baseline: DOWN_AFTER_MS, ratio: round(median(suspects) / DOWN_AFTER_MS, 3), rounds: ROUNDS, all: suspects })
  } finally {
    for (const p of procs) p.child.kill('SIGKILL')
    await nats.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
