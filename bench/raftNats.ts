/**
 * Raft between three real node processes over a local nats-server (issue 19, benchmark b). Each
 * server is test/cluster/fixtures/raftNode.ts: an ActorSystem over NATS (NatsTransport + Remoting),
 * a RemoteRaftTransport, a RaftNode and a FileRaftStorage (fsync per Ready) in its own data dir.
 * The load runs inside the leader process; a command's commit latency is propose → applied on the
 * leader (a majority stored it, fsync included).
 * - `latency`: one proposal at a time: commit p50/p99, next to the same-run baselines: a raw NATS
 *   request/reply round trip and a write + fdatasync of the same size. Target p50 ≤ 2 × (RTT + fsync).
 * - `throughput`: small commands with up to WINDOW uncommitted (batching and pipelining): commits/s,
 *   target ≥ 20 000/s, next to the same baselines as rates (one command per RTT, per fsync).
 * The machine is shared (2 cores, other engineers' runs): figures are noisy; the ratios are the point.
 */
import { spawn } from 'node:child_process'
import { closeSync, fdatasync, fdatasyncSync, mkdtempSync, openSync, rmSync, write, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { FileRaftStorage } from '../cluster/raft/FileRaftStorage.ts'
import { eventually, startRaftProcess, type RaftProcess } from '../test/cluster/raft/raftProcesses.ts'
import { provideNats, uniqueCluster } from '../test/support/services.ts'
import { note, now, percentile, report, round, type Suite } from './harness.ts'
import { breakdown, formatBreakdown } from './raftStages.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const COMMAND_BYTES = 16
const LATENCY_N = 2000
const THROUGHPUT_N = 100_000
const WINDOW = 2048
const BASELINE_N = 400

interface Baselines {
  /** FileRaftStorage.persist of one such entry in this process (write + fdatasync through fs/promises): what a server pays per Ready. */
  readonly storeP50: number
  readonly rttP50: number
  readonly rttP99: number
  /** The round trip with the responder in another process (context: a commit's hops each wake another process). */
  readonly rttCrossP50: number
  readonly fsyncP50: number
  readonly fsyncP99: number
  /** The same write + fdatasync, three at once on three files (as the three servers do on this one disk): context, not the target's baseline. */
  readonly sharedFsyncP50: number
}

/** BASELINE_N request/reply round trips of one command's size after 20 uncounted, sorted. */
async function timedRequests(client: NatsConnection, subject: string): Promise<number[]> {
  const payload = new Uint8Array(COMMAND_BYTES).fill(120)
  const samples: number[] = []
  for (let i = 0; i < BASELINE_N + 20; i++) {
    const t = now()
    await client.request(subject, payload, { timeout: 5000 })
    if (i >= 20) samples.push(now() - t)
  }
  return samples.sort((a, b) => a - b)
}

async function natsRtt(url: string, subject: string): Promise<number[]> {
  const server = await connect({ servers: url })
  const client = await connect({ servers: url })
  try {
    const sub = server.subscribe(subject, { callback: (_e, m) => {
        m.respond(m.data)
      } })
    await server.flush()
    const samples = await timedRequests(client, subject)
    sub.unsubscribe()
    return samples
  } finally {
    await client.close()
    await server.close()
  }
}

/**
 * The same request/reply with the responder in another process (a commit's round trip goes from one
 * node process to another, so each hop wakes a different process): context next to `natsRtt`, whose
 * responder shares the requester's process and event loop.
 */
async function natsRttCrossProcess(url: string, subject: string): Promise<number[]> {
  const responder = `import { connect } from '@nats-io/transport-node'
const nc = await connect({ servers: ${JSON.stringify(url)} })
nc.subscribe(${JSON.stringify(subject)}, { callback: (_e, m) => { m.respond(m.data) } })
await nc.flush()
process.stdout.write('ready\\n')
process.stdin.on('end', () => { void nc.close().then(() => process.exit(0)) })
process.stdin.resume()`
  const child = spawn(process.execPath, ['--input-type=module', '-e', responder], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve())
      child.once('exit', (code) => reject(new Error(`the RTT responder exited (${String(code)})`)))
    })
    const client = await connect({ servers: url })
    try {
      return await timedRequests(client, subject)
    } finally {
      await client.close()
    }
  } finally {
    child.stdin.end()
    await exited
  }
}

/** A write of one command's bytes at the end of a file plus fdatasync, as a log append does: the disk's floor under a commit. */
function fsyncs(dir: string): number[] {
  const fd = openSync(join(dir, 'fsync-baseline'), 'a')
  try {
    const bytes = new Uint8Array(COMMAND_BYTES + 24).fill(7)
    const samples: number[] = []
    for (let i = 0; i < BASELINE_N; i++) {
      const t = now()
      writeSync(fd, bytes)
      fdatasyncSync(fd)
      samples.push(now() - t)
    }
    return samples.sort((a, b) => a - b)
  } finally {
    closeSync(fd)
  }
}

/**
 * Three write + fdatasync at once, each on its own file, round after round: what a commit's fsyncs
 * meet here, where the three servers share one disk (in production each has its own). Per-op latencies.
 */
async function sharedFsyncs(dir: string): Promise<number[]> {
  const fds = [0, 1, 2].map((k) => openSync(join(dir, `fsync-shared-${k}`), 'a'))
  const bytes = new Uint8Array(COMMAND_BYTES + 24).fill(7)
  const one = (fd: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const t = now()
      write(fd, bytes, (e) => (e !== null ? reject(e) : fdatasync(fd, (e2) => (e2 !== null ? reject(e2) : resolve(now() - t)))))
    })
  try {
    const samples: number[] = []
    for (let i = 0; i < BASELINE_N / 2; i++) samples.push(...(await Promise.all(fds.map(one))))
    return samples.sort((a, b) => a - b)
  } finally {
    for (const fd of fds) closeSync(fd)
  }
}

async function storePersists(dir: string): Promise<number[]> {
  const store = new FileRaftStorage({ dir: join(dir, 'store-baseline') })
  await store.load()
  try {
    const samples: number[] = []
    for (let i = 1; i <= BASELINE_N; i++) {
      const t = now()
      await store.persist({ entries: [{ index: i, term: 1, type: 'command', data: new Uint8Array(COMMAND_BYTES).fill(120) }] })
      samples.push(now() - t)
    }
    return samples.sort((a, b) => a - b)
  } finally {
    await store.close()
  }
}

async function leaderOf(nodes: readonly RaftProcess[]): Promise<RaftProcess> {
  const states = await eventually(
    () => Promise.all(nodes.map((n) => n.request('state', {}, 5000))),
    (ss) => ss.filter((s) => s['role'] === 'leader').length === 1 && ss.every((s) => s['leaderId'] !== null),
    30_000,
    'a leader',
  )
  return nodes[states.findIndex((s) => s['role'] === 'leader')] as RaftProcess
}

interface Persists {
  readonly count: number
  readonly ms: number
}

async function persistTimes(nodes: readonly RaftProcess[]): Promise<Persists[]> {
  return (await Promise.all(nodes.map((n) => n.request('state', {}, 5000)))).map((s) => s['persists'] as Persists)
}

interface BaselineSamples {
  readonly rtt: number[]
  readonly rttCross: number[]
  readonly fs: number[]
  readonly store: number[]
  readonly shared: number[]
}

async function baselineSamples(url: string, dir: string): Promise<BaselineSamples> {
  const rtt = await natsRtt(url, `bench.raftnats.rtt.${process.pid}`)
  const rttCross = await natsRttCrossProcess(url, `bench.raftnats.rttx.${process.pid}`)
  const fs = fsyncs(dir)
  const store = await storePersists(dir)
  const shared = await sharedFsyncs(dir)
  return { rtt, rttCross, fs, store, shared }
}

/**
 * The baselines over every round measured (before and after the latency case): this shared disk's
 * fsync time moves by several × within a minute, and one round next to the case could be a lull or a storm.
 */
function summarize(rounds: readonly BaselineSamples[]): Baselines {
  const pool = (k: keyof BaselineSamples): number[] => rounds.flatMap((r) => r[k]).sort((a, b) => a - b)
  const [rtt, rttCross, fs, store, shared] = [pool('rtt'), pool('rttCross'), pool('fs'), pool('store'), pool('shared')]
  const b = { rttCrossP50: percentile(rttCross, 50), storeP50: percentile(store, 50), sharedFsyncP50: percentile(shared, 50), rttP50: percentile(rtt, 50), rttP99: percentile(rtt, 99), fsyncP50: percentile(fs, 50), fsyncP99: percentile(fs, 99) }
  const each = rounds.map((r) => `${round(percentile(r.fs, 50))}`).join(', ')
  note(`baselines (${rounds.length} round(s)): NATS request/reply p50 ${round(b.rttP50)} ms p99 ${round(b.rttP99)} ms (responder in another process: p50 ${round(b.rttCrossP50)} ms); ${COMMAND_BYTES + 24} B write+fdatasync p50 ${round(b.fsyncP50)} ms (per round ${each}) p99 ${round(b.fsyncP99)} ms; FileRaftStorage.persist of one entry p50 ${round(b.storeP50)} ms; three write+fdatasync at once on this disk p50 ${round(b.sharedFsyncP50)} ms`)
  return b
}

export const suite: Suite = {
  description: 'Raft across 3 real node processes over local NATS: commit latency and throughput next to a raw NATS round trip and an fsync (same run)',
  cases: ['latency', 'throughput'],
  async run({ only }) {
    const nats = await provideNats()
    const dir = mkdtempSync(join(tmpdir(), 'bench-raft-nats-'))
    const ids = ['n1', 'n2', 'n3']
    const cluster = uniqueCluster('rb')
    const nodes = ids.map((id) => startRaftProcess({ id, peers: ids.filter((p) => p !== id), natsUrl: nats.url, cluster, dir: join(dir, id), quiet: true }))
    try {
      await Promise.all(nodes.map((n) => n.waitFor((l) => l.ev === 'ready', 60_000)))
      const leader = await leaderOf(nodes)
      note(`leader ${leader.id}`)
      // Warm up: JIT, file segments, the links' first contact.
      await leader.request('load', { count: 20_000, bytes: COMMAND_BYTES, window: WINDOW }, 120_000)
      const rounds = [await baselineSamples(nats.url, dir)]
      let b = summarize(rounds)
      let floor = b.rttP50 + b.fsyncP50

      if (only === null || only.has('latency')) {
        const before = await persistTimes(nodes)
        await Promise.all(nodes.map((n) => n.request('stages', { on: true }, 5000)))
        const r = await leader.request('load', { count: LATENCY_N, bytes: COMMAND_BYTES, window: 1 }, 120_000)
        // A leader change under load ends the case early: say so rather than report a short sample silently.
        if ((r['rejected'] as number) > 0) note(`latency: leadership moved after ${String(r['committed'])} of ${LATENCY_N} commits; figures cover those`)
        const after = await persistTimes(nodes)
        const from = r['firstIndex'] as number
        const to = r['lastIndex'] as number
        const stamps = await Promise.all(nodes.map((n) => n.request('stages', { on: false, from, to }, 5000)))
        const stages = breakdown(leader.id, Object.fromEntries(nodes.map((n, i) => [n.id, (stamps[i] as Record<string, unknown>)['stages'] as Record<string, Record<string, number>>])), from, to)
        for (const line of formatBreakdown(stages)) note(line)
        rounds.push(await baselineSamples(nats.url, dir))
        b = summarize(rounds)
        floor = b.rttP50 + b.fsyncP50
        // Where a commit's time goes: FileRaftStorage.persist as the servers saw it during this case (leader's, then a follower's, are on the path).
        const persistMs = after.map((a, i) => round((a.ms - (before[i] as Persists).ms) / Math.max(1, a.count - (before[i] as Persists).count)))
        const p50 = r['p50'] as number
        report({ case: 'latency.p50', value: round(p50), unit: 'ms commit (propose → applied on leader), one at a time', baseline: round(floor), ratio: round(p50 / floor), target: 'ratio ≤ 2 (baseline = NATS RTT p50 + fsync p50)', rttP50: round(b.rttP50), fsyncP50: round(b.fsyncP50), storePersistP50: round(b.storeP50), sharedDiskFsyncP50: round(b.sharedFsyncP50), rttCrossProcessP50: round(b.rttCrossP50), ratioCrossProcess: round(p50 / (b.rttCrossP50 + b.fsyncP50)), persistAvgMsByNode: persistMs, stagesP50: Object.fromEntries(stages.path.map((s) => [s.stage, s.p50])) })
        const p99 = r['p99'] as number
        const floor99 = b.rttP99 + b.fsyncP99
        report({ case: 'latency.p99', value: round(p99), unit: 'ms commit, one at a time', baseline: round(floor99), ratio: round(p99 / floor99), rttP99: round(b.rttP99), fsyncP99: round(b.fsyncP99) })
      }
      if (only === null || only.has('throughput')) {
        const r = await leader.request('load', { count: THROUGHPUT_N, bytes: COMMAND_BYTES, window: WINDOW }, 300_000)
        const perSec = r['perSec'] as number
        // One command per round trip + fsync is what a server without batching or pipelining could do.
        const serial = 1000 / floor
        report({ case: 'throughput', value: round(perSec), unit: `commits/s of ${COMMAND_BYTES} B commands, ≤ ${WINDOW} in flight`, baseline: round(serial), ratio: round(perSec / serial), target: '≥ 20000/s (baseline = 1 / (NATS RTT p50 + fsync p50))', committed: r['committed'] })
        report({ case: 'throughput.latency.p50', value: round(r['p50'] as number), unit: 'ms commit under the throughput load', baseline: round(floor), ratio: round((r['p50'] as number) / floor), p99: round(r['p99'] as number) })
      }
      const stats = await Promise.all(nodes.map((n) => n.request('state', {}, 5000)))
      note(`transport stats: ${JSON.stringify(stats.map((s) => ({ id: s['id'], ...(s['stats'] as object) })))}`)
    } finally {
      for (const n of nodes) n.child.kill('SIGKILL')
      await Promise.all(nodes.map((n) => n.exited))
      rmSync(dir, { recursive: true, force: true })
      await nats.stop()
    }
  },
}
