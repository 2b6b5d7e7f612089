import type { NatsConnection } from '@nats-io/nats-core'
import type { Clock, Logger, Random } from '../../runtime/index.ts'
import type { FrameSigner } from './FrameSigner.ts'
import type { PhiAccrualOptions } from './PhiAccrual.ts'

export interface HeartbeatOptions {
  /** Milliseconds between two heartbeats of this node. Default 1000. */
  readonly intervalMs?: number
  /**
   * About how long a peer with regular heartbeats may stay silent before it is declared down.
   * Default 5000 (must exceed the interval). It sets the detector's acceptable pause
   * (timeoutMs − intervalMs) unless `detector.acceptablePauseMs` is given.
   */
  readonly timeoutMs?: number
  /** The φ-accrual detector's settings (docs/protocol.md, Membership). */
  readonly detector?: PhiAccrualOptions
  /**
   * Event-loop lag past which this node considers that IT was away (paused, starved): it then
   * judges nobody and holds frames until it has read what waited and heard its peers again.
   * Default: intervalMs.
   */
  readonly stallMs?: number
  /**
   * Whether this instance publishes the node's heartbeats. A node has one publisher (its shard 0
   * by default); every shard listens. Default true.
   */
  readonly publish?: boolean
  /**
   * Tells this run of the node from a previous one with the same name, so a node that restarts
   * faster than the timeout is still seen to have died. Default: random, from `random`.
   */
  readonly incarnation?: string
  /**
   * Cluster mode (docs/cluster-state.md): the detector's verdicts go here — `suspected` true when a
   * peer run's φ crossed the threshold (after this node proved its own link), false when it is heard
   * again — and this membership declares nobody down by itself: the cluster decides, and the node
   * calls `declareDown` once the decision is applied. Default: none (this node decides alone).
   */
  readonly onVerdict?: (node: string, incarnation: string, suspected: boolean) => void
}

export interface HeartbeatMembershipOptions extends HeartbeatOptions {
  readonly connection: NatsConnection
  readonly clock: Clock
  /** Where heartbeats travel (`<prefix>.<cluster>.hb`). */
  readonly subject: string
  /** This node's name. */
  readonly node: string
  readonly random?: Random
  /**
   * Signs this node's heartbeats and drops peers' heartbeats without a valid signature, so nobody
   * without a cluster key can declare a node or make one leave (docs/security.md). Default: none.
   */
  readonly signer?: FrameSigner | null
  /** Where the rate-limited warning about forged heartbeats goes. Default: silent. */
  readonly log?: Logger
}

/** Counters for metrics. */
export interface HeartbeatMembershipStats {
  /** Heartbeats dropped unread: unsigned or wrongly signed (only with a signer). */
  unauthenticatedHeartbeats: number
  /** Times this node held frames and judged nobody because it had been away (stall) or its link could not prove liveness. */
  holds: number
  /** Peers this membership declared down (and quarantined) itself. */
  declaredDown: number
}
