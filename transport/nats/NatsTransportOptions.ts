import type { NatsConnection } from '@nats-io/nats-core'
import type { Clock, Logger, Random } from '../../runtime/index.ts'
import type { ClusterSecret } from './FrameSigner.ts'
import type { HeartbeatOptions } from './HeartbeatMembership.ts'
import type { Membership } from './Membership.ts'

/** What the transport needs from the actor system it serves (an ActorSystem fits). */
export interface NatsTransportSystem {
  readonly name: string
  readonly node: string
  readonly shard: number
  readonly clock: Clock
  readonly random: Random
  /** Where rate-limited warnings go (forged frames). Default: silent. */
  readonly log?: Logger
}

export interface NatsTransportOptions {
  /** An open connection. The caller keeps ownership unless `ownsConnection` is set. */
  readonly connection: NatsConnection
  readonly system: NatsTransportSystem
  /** Cluster name in the subjects. Default: the system's name. */
  readonly cluster?: string
  /** First subject token. Default `troupe`. */
  readonly prefix?: string
  /** Most frames held while NATS is down or a peer is unconfirmed, all peers together. Default 10 000. */
  readonly maxBufferedFrames?: number
  /** Most bytes held likewise. Default 64 MiB. */
  readonly maxBufferedBytes?: number
  /** Heartbeat settings of the default membership (publishes only from shard 0 unless told otherwise). */
  readonly heartbeat?: HeartbeatOptions & { readonly incarnation?: string }
  /** Replaces the heartbeat membership (a Raft-backed one, a test double). */
  readonly membership?: Membership
  /**
   * Signs every frame and heartbeat and drops those not signed by a cluster key (docs/security.md).
   * Every node of the cluster needs it, with a key in common. Default: none (rely on NATS permissions).
   */
  readonly clusterSecret?: ClusterSecret
  /** `close()` drains and closes the connection too. Default false. */
  readonly ownsConnection?: boolean
}

/** Counters for metrics (NATS messages and bytes in and out, buffering, losses). */
export interface NatsTransportStats {
  framesOut: number
  bytesOut: number
  framesIn: number
  bytesIn: number
  /** Frames held right now (link down, or peer not confirmed since the link came back). */
  framesBuffered: number
  bytesBuffered: number
  /** Buffered frames given up because their peer was declared down or the transport closed. */
  framesAbandoned: number
  /** Inbound frames the handler threw on, or that found no handler and no room to wait for one. */
  receiveErrors: number
  /** Inbound frames dropped before decoding: unsigned or wrongly signed (only with a cluster secret). */
  unauthenticatedFrames: number
  linkDowns: number
  /** Inbound frames held because this node may have been away (a stall, a link check), then released or dropped. */
  framesHeldIn: number
  /** Inbound frames dropped: held when this node learned it was quarantined, arrived after that, or past the holding bound. */
  framesDroppedIn: number
}
