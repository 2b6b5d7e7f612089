import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'
import { InvalidArgumentError, SystemClock, type Clock } from '../../../runtime/index.ts'
import { ClusterMalformedCommandError } from '../errors.ts'
import { JetStreamClusterState } from './JetStreamClusterState.ts'
import { JetStreamLog, noQuorum } from './JetStreamLog.ts'
import { LeaderLease } from './LeaderLease.ts'
import type { SnapshotRecord } from './SnapshotRecord.ts'
import { SnapshotStore } from './SnapshotStore.ts'

export interface JetStreamClusterStateOptions {
  /** A connected NATS client; the caller owns it (stop() does not close it). */
  readonly nc: NatsConnection
  /** This member's identity (node name and incarnation, bumped on every restart). */
  readonly self: { readonly node: string; readonly incarnation: number }
  /** Cluster name; the default stream/bucket names derive from it. Letters, digits, `_` and `-`. Default `troupe`. */
  readonly cluster?: string
  /** The command log stream. Default `TROUPE_CLUSTER_<cluster>`. */
  readonly stream?: string
  /** The log's subject. Default `troupe.cluster.<cluster>.log`. */
  readonly subject?: string
  /** KV bucket holding the snapshot. Default `troupe_cluster_<cluster>`. */
  readonly bucket?: string
  /** KV bucket holding the leader lease (its max age is the lease TTL). Default `<bucket>_lease`. */
  readonly leaseBucket?: string
  /** JetStream replicas of the stream and buckets (3 on a NATS cluster). Default 1. */
  readonly replicas?: number
  /** Lease time-to-live on the server. Default 5000 ms. */
  readonly leaseTtlMs?: number
  /** Lease renewal period (non-holders try to acquire at the same pace). Default leaseTtlMs / 4. */
  readonly leaseRenewMs?: number
  /** Part of the TTL the holder gives up for clock drift and latency. Default leaseTtlMs / 5. */
  readonly leaseGuardMs?: number
  /** Deadline of a write (append + local apply) and of the read barrier. Default 5000 ms. */
  readonly writeTimeoutMs?: number
  /** Timeout of one JetStream request. Default 3000 ms. */
  readonly requestTimeoutMs?: number
  /** Deadline to read the log up to its end at start. Default 30000 ms. */
  readonly startTimeoutMs?: number
  /** Period of the leader's duties. Default 100 ms. */
  readonly dutiesMs?: number
  /** Run the leader's duties while holding the lease. Default true. */
  readonly leaderDuties?: boolean
  /** The lease holder snapshots (and compacts) after this many entries. Default 1000. */
  readonly snapshotEvery?: number
  /** Entries kept in the stream before the snapshot's sequence, so slightly lagging readers need no snapshot. Default snapshotEvery. */
  readonly retainEntries?: number
  /** Pause before reopening the log reader after a failure. Default 500 ms. */
  readonly retryMs?: number
  readonly clock?: Clock
}

/** Room left in a KV value for the message headers JetStream adds. */
const SNAPSHOT_HEADROOM = 4096
const NAME = /^[A-Za-z0-9_-]{1,64}$/

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got ${String(value)}`)
  return v
}

/**
 * Opens (creating when missing) the stream and buckets, restores the stored snapshot, reads the log
 * to its current end, then starts competing for the leader lease. Rejects with
 * ERR_CLUSTER_NO_QUORUM (cause attached) when JetStream does not answer, InvalidArgumentError on bad options.
 */
export async function createJetStreamClusterState(options: JetStreamClusterStateOptions): Promise<JetStreamClusterState> {
  const cluster = options.cluster ?? 'troupe'
  if (!NAME.test(cluster)) throw new InvalidArgumentError(`cluster name ${JSON.stringify(cluster)} must match ${String(NAME)}`)
  const bucket = options.bucket ?? `troupe_cluster_${cluster}`
  const leaseBucket = options.leaseBucket ?? `${bucket}_lease`
  for (const [what, name] of [['stream', options.stream], ['bucket', bucket], ['leaseBucket', leaseBucket]] as const) {
    if (name !== undefined && !NAME.test(name)) throw new InvalidArgumentError(`${what} ${JSON.stringify(name)} must match ${String(NAME)}`)
  }
  const replicas = positive('replicas', options.replicas, 1)
  const ttlMs = positive('leaseTtlMs', options.leaseTtlMs, 5000)
  const renewMs = positive('leaseRenewMs', options.leaseRenewMs, ttlMs / 4)
  const guardMs = positive('leaseGuardMs', options.leaseGuardMs, ttlMs / 5)
  if (renewMs >= ttlMs - guardMs) throw new InvalidArgumentError(`leaseRenewMs (${renewMs}) must be below leaseTtlMs - leaseGuardMs (${ttlMs - guardMs})`)
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 3000)
  const snapshotEvery = positive('snapshotEvery', options.snapshotEvery, 1000)
  const clock = options.clock ?? new SystemClock()

  const log = await JetStreamLog.open(options.nc, { stream: options.stream ?? `TROUPE_CLUSTER_${cluster}`, subject: options.subject ?? `troupe.cluster.${cluster}.log`, replicas, timeoutMs: requestTimeoutMs })
  let snapshots: SnapshotStore
  let leaseKv
  try {
    const kvm = new Kvm(log.js)
    snapshots = new SnapshotStore(await kvm.create(bucket, { history: 1, replicas }), (options.nc.info?.max_payload ?? 1024 * 1024) - SNAPSHOT_HEADROOM)
    leaseKv = await kvm.create(leaseBucket, { history: 1, replicas, ttl: ttlMs })
  } catch (error) {
    throw noQuorum(`cannot open buckets ${bucket} and ${leaseBucket}`, error)
  }
  // An existing bucket keeps its max age: a member counting a longer lease than the server keeps could hold it beside another.
  const serverTtl = (await leaseKv.status().catch((error: unknown) => Promise.reject(noQuorum(`cannot read bucket ${leaseBucket}`, error)))).ttl
  if (serverTtl !== ttlMs) {
    throw new InvalidArgumentError(`leaseTtlMs ${ttlMs} differs from the lease bucket ${leaseBucket}'s TTL of ${serverTtl} ms: every member must use the same (to change it, stop every member and delete the bucket)`, { data: { leaseTtlMs: ttlMs, bucketTtlMs: serverTtl, bucket: leaseBucket } })
  }
  let initial: SnapshotRecord | null = null
  try {
    initial = await snapshots.load()
  } catch (error) {
    // A malformed stored snapshot: replay the log from its start instead (a gap there is reported by the reader).
    if (!(error instanceof ClusterMalformedCommandError)) throw error
  }
  const kv = leaseKv
  const state = new JetStreamClusterState({
    log,
    snapshots,
    clock,
    self: options.self,
    lease: (eligible) => new LeaderLease({ kv, key: 'leader', clock, self: options.self, ttlMs, renewMs, guardMs, eligible }),
    writeTimeoutMs: positive('writeTimeoutMs', options.writeTimeoutMs, 5000),
    dutiesMs: positive('dutiesMs', options.dutiesMs, 100),
    leaderDuties: options.leaderDuties ?? true,
    snapshotEvery,
    retainEntries: Math.max(0, options.retainEntries ?? snapshotEvery),
    retryMs: positive('retryMs', options.retryMs, 500),
  })
  try {
    await state.start(initial, positive('startTimeoutMs', options.startTimeoutMs, 30_000))
  } catch (error) {
    state.stop()
    throw error
  }
  return state
}
