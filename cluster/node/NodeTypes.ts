import type { NatsConnection } from '@nats-io/nats-core'
import type { ActorRef, ActorSystem, Clock, Logger } from '../../runtime/index.ts'
import type { NatsTransport, HeartbeatOptions } from '../../transport/nats/index.ts'
import type { TroupeMetrics } from '../observability/Metrics.ts'
import type { PublishOptions } from '../gateway/Publication.ts'
import type { Registry } from 'prom-client'
import type { AppDefinition } from './App.ts'
import type { NodeConfig } from './Config.ts'

/**
 * What a node needs from its connection to other nodes and external clients. The NATS wiring
 * implements it; a standalone node has none.
 */
export interface NodeNetwork {
  /** Makes an actor callable by external clients under a public name, as `Gateway.publish`. */
  publish(publicName: string, ref: ActorRef<any>, options: PublishOptions): void
  /** Whether the connection is up (readiness). */
  connected(): boolean
  /** Stops taking external requests; in-flight ones still get their replies. */
  stopIntake(): Promise<void>
  /**
   * Optional: the node is shutting down; tell peers to route no new work here (a standalone network
   * of a sharded node has no node link: its shards tell them).
   */
  announceLeaving?(): void
  /** Optional: sends `leave` (peers take this node out at once) and keeps receiving frames. Idempotent. */
  leave?(): Promise<void>
  /** Optional: frames received from other nodes so far (a drain waits until it stops moving). */
  framesIn?(): number
  /** Flushes what is buffered and closes (NATS drain). */
  close(): Promise<void>
  /** The node link (cluster state runs Raft and its peer link over it); absent on a sharded node. */
  readonly link?: NatsTransport | null
  /** The node link's NATS connection (the JetStream cluster state runs on it); absent on a sharded node. */
  readonly connection?: NatsConnection | null
  /** The connection introspection over NATS is answered and asked on: the node link's, else (a sharded node) the gateway's. */
  readonly inspectConnection?: NatsConnection | null
}

/** What the node adds to its network's settings: the cluster state's heartbeat incarnation and verdict hook. */
export interface NetworkExtras {
  readonly heartbeat?: Pick<HeartbeatOptions, 'incarnation' | 'onVerdict'>
}

/**
 * Builds the network for a node; called after the system exists and before the app starts. With
 * `routed` the system already reaches other nodes (a sharded node: every shard has its own NATS
 * uplink), so the network brings only the external gateway.
 */
export type NetworkFactory = (system: ActorSystem, config: NodeConfig, metrics: TroupeMetrics, logger: Logger, routed: boolean, extras?: NetworkExtras) => Promise<NodeNetwork>

export interface NodeOptions {
  readonly config: NodeConfig
  readonly app: AppDefinition
  /** The app module's URL: worker shards load it (required when `config.shards > 0`). */
  readonly appUrl?: string
  readonly logger: Logger
  /** Required when `config.nats` is set. */
  readonly network?: NetworkFactory
  /** Default: a fresh registry (never prom-client's global one), with prom-client's default metrics. */
  readonly registry?: Registry
  /** Collect prom-client's default metrics on a registry passed in `registry` (a fresh one always gets them). */
  readonly defaultMetrics?: boolean
  readonly clock?: Clock
}

/** How a node ended, for the CLI's exit code. */
export type NodeOutcome =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'failed'; readonly error: Error }
  /** Shutdown did not finish cleanly: `incomplete` names the phases that timed out, failed or were skipped. */
  | { readonly kind: 'deadline'; readonly incomplete: readonly string[] }
