import { Counter, type Registry } from 'prom-client'
import type { RemotingStats, ShardedSystemStats } from '../../transport/index.ts'
import type { GatewayStats } from '../gateway/GatewayStats.ts'

/** Where a node meets input it did not make: gateway calls, frames from peers, heartbeats. */
export interface UnauthenticatedSource {
  /** `frames` (NatsTransport) or `heartbeats` (membership). */
  readonly kind: 'frames' | 'heartbeats'
  read(): number
}

/**
 * Counters for untrusted input, read at scrape time from the stats objects that count it (the
 * counting itself stays on the hot path's plain integers). Every label is bounded: public names are
 * the published ones, methods the published ones or `<unknown>`, outcomes `ok` or a code token,
 * malformed reasons a fixed set of tokens.
 */
export class EdgeMetrics {
  private readonly gateways: GatewayStats[] = []
  private readonly remotings: RemotingStats[] = []
  private readonly unauthenticated: UnauthenticatedSource[] = []
  /** Refusals counted below Remoting (e.g. the NATS link's header check), each under one reason. */
  private readonly malformedSources: { readonly reason: string; read(): number }[] = []

  constructor(registry: Registry, snapshotShards: () => Promise<ShardedSystemStats[]>) {
    const registers = [registry]
    const calls: Counter<'public_name' | 'method' | 'outcome'> = new Counter({
      name: 'troupe_gateway_calls_total',
      help: 'External calls by public name, method and outcome (ok, or the error code replied or counted).',
      labelNames: ['public_name', 'method', 'outcome'],
      registers,
      collect: () => {
        calls.reset()
        for (const stats of this.gateways) {
          for (const [name, methods] of Object.entries(stats.calls)) {
            for (const [method, outcomes] of Object.entries(methods)) {
              for (const [outcome, count] of Object.entries(outcomes)) calls.inc({ public_name: name, method, outcome }, count)
            }
          }
        }
      },
    })
    const refusedTells: Counter<'code'> = new Counter({
      name: 'troupe_gateway_refused_tells_total',
      help: 'External calls without a reply subject that were refused (nobody could be told), by code.',
      labelNames: ['code'],
      registers,
      collect: () => {
        refusedTells.reset()
        for (const stats of this.gateways) for (const [code, count] of Object.entries(stats.refusedTells)) refusedTells.inc({ code }, count)
      },
    })
    const malformed: Counter<'reason'> = new Counter({
      name: 'troupe_malformed_frames_total',
      help: 'Frames from peers (NATS or shard rings) refused whole before delivery, by reason (link-header: refused by the NATS link before decoding).',
      labelNames: ['reason'],
      registers,
      collect: async () => {
        malformed.reset()
        const add = (byReason: Readonly<Record<string, number>>): void => {
          for (const [reason, count] of Object.entries(byReason)) malformed.inc({ reason }, count)
        }
        for (const stats of this.remotings) add(stats.malformedByReason)
        for (const source of this.malformedSources) malformed.inc({ reason: source.reason }, source.read())
        for (const sharded of await snapshotShards()) for (const shard of sharded.shards) add(shard.remoting.malformedByReason)
      },
    })
    const forged: Counter<'kind'> = new Counter({
      name: 'troupe_unauthenticated_frames_total',
      help: 'Node frames and heartbeats dropped for a missing or wrong cluster signature.',
      labelNames: ['kind'],
      registers,
      collect: () => {
        forged.reset()
        for (const source of this.unauthenticated) forged.inc({ kind: source.kind }, source.read())
      },
    })
  }

  observeGateway(stats: GatewayStats): void {
    this.gateways.push(stats)
  }

  observeRemoting(stats: RemotingStats): void {
    this.remotings.push(stats)
  }

  observeUnauthenticated(source: UnauthenticatedSource): void {
    this.unauthenticated.push(source)
  }

  observeMalformed(source: { readonly reason: string; read(): number }): void {
    this.malformedSources.push(source)
  }
}
