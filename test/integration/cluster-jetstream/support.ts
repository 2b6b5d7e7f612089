/** A JetStream-backed conformance cluster: one NATS connection per member, unique stream and bucket names per cluster, cleaned up. */
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { createJetStreamClusterState, type JetStreamClusterState, type JetStreamClusterStateOptions } from '../../../cluster/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { retrying, type ConformanceCluster } from '../../support/clusterStateConformance.ts'

let clusters = 0

export interface JsMember {
  readonly state: JetStreamClusterState
  readonly nc: NatsConnection
}

export class JetStreamTestCluster implements ConformanceCluster {
  readonly name: string
  private readonly url: string
  private readonly options: Partial<JetStreamClusterStateOptions>
  private readonly running = new Map<string, JsMember>()
  private readonly incarnations = new Map<string, number>()
  private readonly all: JsMember[] = []

  constructor(url: string, options: Partial<JetStreamClusterStateOptions> = {}) {
    this.url = url
    this.options = options
    this.name = `t${process.pid}_${++clusters}_${Date.now().toString(36)}`
  }

  has(name: string): boolean {
    return this.running.has(name)
  }
  member(name: string): JetStreamClusterState {
    const m = this.running.get(name)
    if (m === undefined) throw new Error(`${name} is not running`)
    return m.state
  }
  connection(name: string): NatsConnection {
    const m = this.running.get(name)
    if (m === undefined) throw new Error(`${name} is not running`)
    return m.nc
  }

  /** Opens a member without joining it. */
  async open(name: string, extra: Partial<JetStreamClusterStateOptions> = {}): Promise<JetStreamClusterState> {
    const incarnation = (this.incarnations.get(name) ?? 0) + 1
    this.incarnations.set(name, incarnation)
    const nc = await connect({ servers: this.url })
    try {
      const state = await createJetStreamClusterState({ nc, self: { node: name, incarnation }, cluster: this.name, leaseTtlMs: 2000, snapshotEvery: 16, retainEntries: 4, writeTimeoutMs: 10_000, ...this.options, ...extra })
      const m = { state, nc }
      this.running.set(name, m)
      this.all.push(m)
      return state
    } catch (error) {
      await nc.close()
      throw error
    }
  }

  async start(name: string): Promise<void> {
    const state = await this.open(name)
    await retrying(this, () => state.join({ roles: [], shards: 1, httpAddress: `http://${name}`, appVersion: '1' }))
  }

  crash(name: string): void {
    const m = this.running.get(name)
    if (m === undefined) return
    this.running.delete(name)
    m.state.stop()
    void m.nc.close()
  }

  until(predicate: () => boolean, ms: number, what: string): Promise<void> {
    return waitFor(predicate, { timeoutMs: ms, message: `${what}: not within ${ms} ms` })
  }
  settle<T>(promise: Promise<T>): Promise<T> {
    return promise
  }
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms))
  }
  now(): number {
    return performance.now()
  }

  /** Stops every member and deletes the stream and both buckets. */
  async close(): Promise<void> {
    for (const m of this.all) {
      m.state.stop()
      await m.nc.close().catch(() => {})
    }
    const nc = await connect({ servers: this.url })
    try {
      const jsm = await jetstreamManager(nc)
      for (const s of [`TROUPE_CLUSTER_${this.name}`, `KV_troupe_cluster_${this.name}`, `KV_troupe_cluster_${this.name}_lease`]) await jsm.streams.delete(s).catch(() => {})
    } finally {
      await nc.close()
    }
  }
}
