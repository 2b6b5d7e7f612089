import type { ActorRef } from '../../runtime/index.ts'
import type { BreakerTransition, TransitionReason } from './BreakerEvents.ts'
import type { BreakerState } from './BreakerOptions.ts'

/** A state change one breaker publishes to the breakers of the same name on other nodes. */
export interface SharedChange {
  readonly breaker: string
  readonly to: BreakerState
  /** For `open`: how long the receiver stays open (relative: node clocks are not compared). */
  readonly openForMs: number
  /** Operator changes (force open, disable, reset, …) apply over anything; automatic ones only among closed/open/half-open. */
  readonly operator: boolean
  /** Lamport stamp with the origin as tie-break: concurrent changes resolve the same way on every node. */
  readonly lamport: number
  readonly origin: string
}

/** Which local transitions are published, and whether as operator changes. Half-open is never shared: each breaker probes for itself. */
const SHARED: Partial<Record<TransitionReason, boolean>> = {
  failure_rate: false,
  slow_call_rate: false,
  probes_failed: false,
  half_open_timeout: false,
  probes_succeeded: false,
  opened_by_operator: true,
  forced_open: true,
  disabled: true,
  metrics_only: true,
  closed_by_operator: true,
  reset: true,
}

const OPERATOR_STATES: ReadonlySet<BreakerState> = new Set<BreakerState>(['forced_open', 'disabled', 'metrics_only'])

/**
 * The cluster-shared mode's bookkeeping for one breaker: its peers and a Lamport clock. Changes
 * carry a stamp; a breaker applies a peer's change only when its stamp is later than that of the
 * change that made its current state, so two breakers that change at once (one closes while the
 * other opens) both end in the state of the change with the higher stamp, whatever order the
 * messages cross in.
 */
export class BreakerSharing {
  readonly peers = new Map<string, ActorRef<any>>()
  private readonly name: string
  private readonly self: string
  private lamport = 0
  /** Stamp of the change that produced the current state (local or adopted). */
  private lastLamport = 0
  private lastOrigin = ''

  constructor(name: string, self: string) {
    this.name = name
    this.self = self
  }

  add(peer: ActorRef<any>): boolean {
    const key = peer.toString()
    if (key === this.self || this.peers.has(key)) return false
    this.peers.set(key, peer)
    return true
  }

  remove(peer: ActorRef<any>): boolean {
    return this.peers.delete(peer.toString())
  }

  /** The change to publish for a local transition, or null when it is not shared. */
  outgoing(transition: BreakerTransition): SharedChange | null {
    const operator = SHARED[transition.reason]
    if (operator === undefined) return null
    this.lamport++
    this.lastLamport = this.lamport
    this.lastOrigin = this.self
    return { breaker: this.name, to: transition.to, openForMs: transition.openForMs ?? 0, operator, lamport: this.lamport, origin: this.self }
  }

  /** The current state as a change for a peer that just joined, or null when there is nothing to tell (closed, half-open). */
  current(state: BreakerState, openForMs: number): SharedChange | null {
    if (state === 'closed' || state === 'half_open' || this.lastLamport === 0) return null
    return { breaker: this.name, to: state, openForMs: Math.max(0, openForMs), operator: OPERATOR_STATES.has(state), lamport: this.lastLamport, origin: this.lastOrigin }
  }

  /** Whether a peer's change applies to a breaker in `state` (and if so, records its stamp). */
  accept(change: SharedChange, state: BreakerState): boolean {
    if (change.breaker !== this.name) return false
    this.lamport = Math.max(this.lamport, change.lamport)
    const later = change.lamport > this.lastLamport || (change.lamport === this.lastLamport && change.origin > this.lastOrigin)
    if (!later) return false
    if (!change.operator && OPERATOR_STATES.has(state)) return false
    this.lastLamport = change.lamport
    this.lastOrigin = change.origin
    return true
  }
}
