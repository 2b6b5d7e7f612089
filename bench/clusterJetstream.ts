/**
 * Cluster state on NATS JetStream (issue 14): `npm run bench -- cluster-jetstream`. Three in-process
 * members, each with its own NATS connection, on one JetStream (NATS_URL, else a local nats-server).
 * - `write`: register latency on one member (append to the stream + applied locally), one at a time,
 *   next to a raw JetStream publish of the same bytes to a scratch stream in the same run (the floor:
 *   JetStream stored it). Target: p50 ratio ≤ 2.
 * - `lookup`: linearizable lookup (read barrier = stream info, then wait until applied) next to the
 *   raw stream-info request alone. Target: ratio ≤ 1.5. `lookupCached` is reported too.
 * - `failover`: crash of the lease holder → another member holds the lease, next to the lease TTL
 *   (the bound: TTL + one renewal period). Target: ratio ≤ 1.5.
 * Not here: the Raft backend's write latency in-process (Raft runs under the simulator or between
 * processes: `npm run bench -- raft-nats` measures its commit latency on the same machine).
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { createJetStreamClusterState, encodeCommand, type JetStreamClusterState } from '../cluster/index.ts'
import { provideNats } from '../test/support/services.ts'
import { check, note, now, percentile, report, round, type Suite } from './harness.ts'

const N = Number(process.env['CLUSTER_JS_BENCH_N'] ?? 300)
const LEASE_TTL_MS = 2000
const FAILOVER_ROUNDS = 3

async function timed(n: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < n + 20; i++) {
    const t = now()
    await op(i)
    if (i >= 20) samples.push(now() - t)
  }
  return samples.sort((a, b) => a - b)
}

async function until(predicate: () => boolean, ms: number): Promise<void> {
  const deadline = now() + ms
  while (!predicate()) {
    if (now() > deadline) throw new Error('benchmark wait timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

interface Member {
  readonly nc: NatsConnection
  readonly state: JetStreamClusterState
}

async function cluster(url: string, name: string, nodes: readonly string[]): Promise<Member[]> {
  const out: Member[] = []
  for (const node of nodes) {
    const nc = await connect({ servers: url })
    const state = await createJetStreamClusterState({ nc, self: { node, incarnation: 1 }, cluster: name, leaseTtlMs: LEASE_TTL_MS })
    await state.join({ roles: [], shards: 1, httpAddress: `http://${node}`, appVersion: '1' })
    out.push({ nc, state })
  }
  await until(() => out.every((m) => m.state.members().every((x) => x.status === 'up') && m.state.members().length === nodes.length), 20_000)
  return out
}

async function cleanup(url: string, names: readonly string[]): Promise<void> {
  const nc = await connect({ servers: url })
  const jsm = await jetstreamManager(nc)
  for (const n of names) for (const s of [`TROUPE_CLUSTER_${n}`, `KV_troupe_cluster_${n}`, `KV_troupe_cluster_${n}_lease`, `BENCH_RAW_${n}`]) await jsm.streams.delete(s).catch(() => {})
  await nc.close()
}

export const suite: Suite = {
  description: 'cluster state on JetStream: write and linearizable lookup latency vs raw JetStream requests, lease failover vs TTL (needs NATS with JetStream)',
  cases: ['write', 'lookup', 'failover'],
  async run({ only }) {
    const nats = await provideNats()
    const base = `bench_${process.pid}_${Date.now().toString(36)}`
    const names: string[] = [base]
    try {
      const members = await cluster(nats.url, base, ['b1', 'b2', 'b3'])
      const writer = members[0]?.state as JetStreamClusterState
      if (only === null || only.has('write')) {
        const jsm = await jetstreamManager(members[0]?.nc as NatsConnection)
        await jsm.streams.add({ name: `BENCH_RAW_${base}`, subjects: [`bench.raw.${base}`] })
        const js = jetstream(members[0]?.nc as NatsConnection)
        const bytes = encodeCommand({ type: 'register', key: 'bench/0', ref: 'b1/0', node: 'b1', incarnation: 1, unique: false })
        const raw = await timed(N, () => js.publish(`bench.raw.${base}`, bytes))
        const writes = await timed(N, (i) => writer.register(`bench/${i}`, `b1/${i}`))
        check(writer.lookupCached('bench/0').length === 1, 'writes applied')
        const p50 = percentile(writes, 50)
        const floor = percentile(raw, 50)
        report({ case: 'write.p50', value: round(p50), unit: 'ms register (append + applied locally), one at a time', baseline: round(floor), ratio: round(p50 / floor), target: 'ratio ≤ 2 (baseline = raw JetStream publish p50)', n: N })
        report({ case: 'write.p99', value: round(percentile(writes, 99)), unit: 'ms', baseline: round(percentile(raw, 99)), ratio: round(percentile(writes, 99) / percentile(raw, 99)) })
      }
      if (only === null || only.has('lookup')) {
        const reader = members[1]?.state as JetStreamClusterState
        const jsm = await jetstreamManager(members[1]?.nc as NatsConnection)
        const info = await timed(N, () => jsm.streams.info(`TROUPE_CLUSTER_${base}`))
        const lin = await timed(N, () => reader.lookup('bench/0'))
        const cached = await timed(N, () => Promise.resolve(reader.lookupCached('bench/0')))
        const p50 = percentile(lin, 50)
        report({ case: 'lookup.p50', value: round(p50), unit: 'ms linearizable lookup on a non-writing member', baseline: round(percentile(info, 50)), ratio: round(p50 / percentile(info, 50)), target: 'ratio ≤ 1.5 (baseline = the stream-info request alone)', cachedP50: round(percentile(cached, 50), 6) })
      }
      if (only === null || only.has('failover')) {
        const times: number[] = []
        for (let r = 0; r < FAILOVER_ROUNDS; r++) {
          const name = `${base}_f${r}`
          names.push(name)
          const ms = await cluster(nats.url, name, ['f1', 'f2', 'f3'])
          await until(() => ms.some((m) => m.state.holdsLease), 20_000)
          const holder = ms.find((m) => m.state.holdsLease) as Member
          const t = now()
          holder.state.stop()
          await holder.nc.close()
          await until(() => ms.some((m) => m !== holder && m.state.holdsLease), 20_000)
          times.push(now() - t)
          for (const m of ms) {
            m.state.stop()
            await m.nc.close().catch(() => {})
          }
        }
        times.sort((a, b) => a - b)
        const p50 = percentile(times, 50)
        report({ case: 'failover', value: round(p50), unit: `ms lease holder crash → another member holds the lease (median of ${FAILOVER_ROUNDS})`, baseline: LEASE_TTL_MS, ratio: round(p50 / LEASE_TTL_MS), target: 'ratio ≤ 1.5 (baseline = lease TTL; bound TTL + renew period)', max: round(times.at(-1) as number) })
      }
      for (const m of members) {
        m.state.stop()
        await m.nc.close()
      }
    } finally {
      await cleanup(nats.url, names)
      await nats.stop()
      note('cluster-jetstream done')
    }
  },
}
