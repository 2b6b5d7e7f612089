import type { NatsConnection } from '@nats-io/nats-core'
import { InvalidArgumentError, type Clock, type Logger, type Random } from '../../runtime/index.ts'
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
  /** When present, the transport asks it to leave room for the link header in front of each frame (no copy per frame). */
  readonly codec?: { reserveFrameHeadroom(bytes: number): void }
}

export interface NatsTransportOptions {
  /** An open connection. The caller keeps ownership unless `ownsConnection` is set. */
  readonly connection: NatsConnection
  readonly system: NatsTransportSystem
  /** Cluster name in the subjects. Default: the system's name. */
  readonly cluster?: string
  /** First subject token. Default `troupe`. */
  readonly prefix?: string
  /**
   * Most frames retained, all peers together: published and not yet acknowledged by their receiver,
   * or waiting (NATS down, peer unconfirmed, no credit). Past it sends are refused at the call.
   * Default 10 000.
   */
  readonly maxBufferedFrames?: number
  /** Most bytes retained likewise. Default 64 MiB. */
  readonly maxBufferedBytes?: number
  /** Bytes waiting (unpublished) for one peer shard before `isFull` refuses tells to it. Default 16 MiB. */
  readonly maxQueuedBytesPerPeer?: number
  /**
   * Credit this shard grants each sending shard: bytes of frames it may have on the way or held here
   * beyond what went into mailboxes. Default 1 MiB.
   */
  readonly receiveWindowBytes?: number
  /** Longest an acknowledgement waits to be batched. Default 10 ms. */
  readonly ackDelayMs?: number
  /** No ack progress for this long while link and peer are up: unacknowledged frames are sent again. Default 1000 ms. */
  readonly ackTimeoutMs?: number
  /**
   * An outage of this node's NATS link longer than this fails what waits to be sent (dead letters,
   * asks fail with ERR_NATS_DOWN) and refuses new sends at the call until the link is back. Frames
   * already published stay retained and go again after the reconnect. Default 4000 ms: longer than a
   * server restart with nats.js's 2 s reconnect wait, shorter than the 5 s default ask timeout.
   */
  readonly outageAskFailAfterMs?: number
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
  /** Frames waiting to be published right now (link down, peer not confirmed since the link came back, no credit). */
  framesBuffered: number
  bytesBuffered: number
  /** Frames published and retained until their receiver acknowledges them. */
  framesUnacked: number
  bytesUnacked: number
  /** Frames published again (reconnect, reported gap, ack timeout). */
  framesResent: number
  /** Sends that found the peer's credit used up (the frame waited for the receiver to grant more). */
  creditStalls: number
  /** Retained frames given back as dead letters: their peer was declared down, an outage outlasted its bound, or the transport closed. */
  framesAbandoned: number
  acksIn: number
  acksOut: number
  /** Inbound frames dropped as already delivered (a resend crossed an ack). */
  duplicatesDropped: number
  /** Inbound frames dropped because an earlier frame of their stream was missing (resent later). */
  gapsDropped: number
  /** Inbound frames beginning a stream from a new sending node, dropped: the receiver tracks as many senders as it may (LinkReceiverOptions.maxSenders). */
  sendersRefused: number
  /** Inbound frames or acks whose link header was not well-formed. */
  malformedLinkFrames: number
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

export function newNatsTransportStats(): NatsTransportStats {
  return {
    framesOut: 0,
    bytesOut: 0,
    framesIn: 0,
    bytesIn: 0,
    framesBuffered: 0,
    bytesBuffered: 0,
    framesUnacked: 0,
    bytesUnacked: 0,
    framesResent: 0,
    creditStalls: 0,
    framesAbandoned: 0,
    acksIn: 0,
    acksOut: 0,
    duplicatesDropped: 0,
    gapsDropped: 0,
    sendersRefused: 0,
    malformedLinkFrames: 0,
    receiveErrors: 0,
    unauthenticatedFrames: 0,
    linkDowns: 0,
    framesHeldIn: 0,
    framesDroppedIn: 0,
  }
}

/** The link's settings with their defaults, checked. */
export function linkSettings(options: NatsTransportOptions) {
  const settings = {
    maxFrames: options.maxBufferedFrames ?? 10_000,
    maxBytes: options.maxBufferedBytes ?? 64 * 1024 * 1024,
    maxQueuedBytesPerPeer: options.maxQueuedBytesPerPeer ?? 16 * 1024 * 1024,
    windowBytes: options.receiveWindowBytes ?? 1024 * 1024,
    ackDelayMs: options.ackDelayMs ?? 10,
    ackTimeoutMs: options.ackTimeoutMs ?? 1000,
    outageFailAfterMs: options.outageAskFailAfterMs ?? 4000,
  }
  if (!(settings.maxFrames >= 0) || !(settings.maxBytes >= 0) || !(settings.maxQueuedBytesPerPeer >= 0)) throw new InvalidArgumentError('buffer bounds must be >= 0')
  if (!(settings.windowBytes > 0) || !(settings.ackDelayMs >= 0) || !(settings.ackTimeoutMs > 0) || !(settings.outageFailAfterMs >= 0)) {
    throw new InvalidArgumentError('receiveWindowBytes and ackTimeoutMs must be > 0, ackDelayMs and outageAskFailAfterMs >= 0')
  }
  return settings
}
