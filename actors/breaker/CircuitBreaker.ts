import { Actor, topic, type ActorRef, type Terminated, type Topic } from '../../runtime/index.ts'
import { BreakerBadMessageError, CallNotPermittedError } from '../errors.ts'
import { BreakerCore, REJECTED } from './BreakerCore.ts'
import type { BreakerSnapshot, BreakerTransition } from './BreakerEvents.ts'
import { BreakerMetrics } from './BreakerMetrics.ts'
import { BreakerSharing, type SharedChange } from './BreakerSharing.ts'
import { BREAKER_STATES, resolveBreakerOptions, type BreakerOptions, type BreakerState, type CallOutcome, type ResolvedBreakerOptions } from './BreakerOptions.ts'

const OUTCOME_NAMES: ReadonlySet<string> = new Set<CallOutcome>(['success', 'failure', 'ignored', 'timeout'])

/** Every real transition of every breaker of a system, exactly once each. */
export const BreakerTransitionTopic: Topic<BreakerTransition> = topic<BreakerTransition>('troupe.breaker.transition')

/** What a breaker tells the callers on its shard: enough to decide a call without asking. */
export interface BreakerBroadcast {
  readonly breaker: string
  /** `stopped`: the actor is gone; clients refuse calls. */
  readonly state: BreakerState | 'stopped'
  readonly epoch: number
  /** Clock time when an open breaker lets probes through; -1 otherwise. */
  readonly openUntil: number
}

/** The per-breaker topic its fast-path clients listen on (one topic per breaker actor). */
export function breakerStateTopic(ref: ActorRef<any>): Topic<BreakerBroadcast> {
  return topic<BreakerBroadcast>(`troupe.breaker.state:${ref.path}`)
}

/** A permit granted by the actor: report it with `complete(epoch, permit, …)` once the call ends. */
export interface BreakerGrant {
  readonly epoch: number
  /** > 0: a tracked half-open permit; 0: a closed-state permit. */
  readonly permit: number
}

/** Outcomes a fast-path client gathered in one epoch (plain arrays: the report may cross a thread). */
export interface OutcomeReport {
  readonly epoch: number
  /** Successes that were not slow, before the listed outcomes (the common case travels as a count). */
  readonly successes?: number
  /** Codes of OUTCOMES: 0 success, 1 failure, 2 ignored, 3 timeout. */
  readonly outcomes: readonly number[]
  readonly durations: readonly number[]
  readonly rejectedOpen: number
  readonly rejectedHalfOpen: number
  readonly rejectedForcedOpen: number
}

export interface CircuitBreakerProtocol {
  /** Asks for a permit (the slow path: half-open probes, or callers that keep no mirror). Rejects with CallNotPermittedError. */
  acquire(): BreakerGrant
  /** Reports one permitted call; releases a half-open permit whatever the outcome. */
  complete(epoch: number, permit: number, outcome: CallOutcome, durationMs: number): void
  /** Reports a fast-path client's batch of closed-state outcomes and local rejections. */
  report(report: OutcomeReport): void
  snapshot(): BreakerSnapshot
  /** Operator calls; each answers the state after it. */
  forceOpen(): BreakerState
  disable(): BreakerState
  metricsOnly(): BreakerState
  close(): BreakerState
  trip(): BreakerState
  reset(): BreakerState
  /** Timer: applies what time decides (open → half-open, half-open deadline). */
  tick(): void
  /** Cluster-shared mode: exchange state changes with `peer` (a breaker of the same name, usually on another node). */
  addPeer(peer: ActorRef<CircuitBreakerProtocol>): void
  removePeer(peer: ActorRef<CircuitBreakerProtocol>): void
  /** Peer to peer: `peer` has added this breaker; `change` is its current state, if any. */
  peerHello(peer: ActorRef<CircuitBreakerProtocol>, change: SharedChange | null): void
  /** Peer to peer: a state change of a breaker of the same name. */
  peerChange(change: SharedChange): void
  /** The peers this breaker shares state with, as ref strings. */
  peers(): string[]
}

/**
 * Sharing is best effort: a peer whose mailbox or link refuses the change misses it (it converges
 * at the next change), and this breaker must not fail over it.
 */
function tellPeer(peer: ActorRef<CircuitBreakerProtocol>, ...message: ['peerHello', ActorRef<CircuitBreakerProtocol>, SharedChange | null] | ['peerChange', SharedChange]): void {
  try {
    if (message[0] === 'peerHello') peer.tell('peerHello', message[1], message[2])
    else peer.tell('peerChange', message[1])
  } catch (_refused) {
    // Dropped: see above.
  }
}

/** State kept across restarts of one actor (its cell outlives instances; a restart keeps the ref). */
interface Kept {
  core: BreakerCore
  owner: CircuitBreaker
  /** Peers survive restarts whatever the policy: they are topology, not state. */
  sharing: BreakerSharing
}
const kept = new WeakMap<ActorRef<any>, Kept>()

/**
 * A circuit breaker as an actor: the one authority for its state, usable from any shard or node
 * through its protocol, and from callers on its own shard through `BreakerClient`'s fast path
 * (state broadcast on `breakerStateTopic`, outcomes reported in batches). Put it under a supervisor
 * like any worker; `onRestart` decides whether a restart keeps the state or starts closed.
 */
export class CircuitBreaker extends Actor<CircuitBreakerProtocol> implements CircuitBreakerProtocol {
  private readonly options: ResolvedBreakerOptions
  private core!: BreakerCore
  private sharing!: BreakerSharing
  private readonly stateTopic: Topic<BreakerBroadcast>

  constructor(options: BreakerOptions) {
    super()
    this.options = resolveBreakerOptions(options)
    this.stateTopic = breakerStateTopic(this.context.self)
  }

  override preStart(): void {
    const self = this.context.self
    const previous = kept.get(self)
    if (previous !== undefined && this.options.onRestart === 'keep') {
      previous.owner = this
      this.core = previous.core
      this.sharing = previous.sharing
    } else {
      const system = this.context.system
      const sharing = previous?.sharing ?? new BreakerSharing(this.options.name, self.toString())
      const entry: Kept = { core: null as unknown as BreakerCore, owner: this, sharing }
      this.sharing = sharing
      // The core outlives this instance when state is kept: route its events through `entry`.
      entry.core = new BreakerCore(this.options, system.clock, system.random, (t) => entry.owner.transitioned(t), previous === undefined ? 0 : previous.core.epoch + 1)
      if (previous !== undefined && this.options.registry !== null) BreakerMetrics.of(this.options.registry).remove(previous.core)
      kept.set(self, entry)
      this.core = entry.core
      // A restart that drops the state is a transition too: observers hear of it once.
      const before = previous?.core.state
      if (before !== undefined && before !== 'closed') {
        system.publish(BreakerTransitionTopic, { breaker: this.options.name, from: before, to: 'closed', reason: 'restarted', at: system.clock.now(), epoch: this.core.epoch })
      }
    }
    if (this.options.registry !== null) BreakerMetrics.of(this.options.registry).add(this.core)
    this.core.tick()
    this.armDeadline()
    this.broadcast()
    for (const peer of this.sharing.peers.values()) this.context.watch(peer)
    for (const peer of this.options.peers) this.addPeer(peer)
  }

  override preRestart(): void {
    // Not postStop: the breaker lives on in the new instance, and its clients keep their mirror.
  }

  override postStop(): void {
    if (this.options.registry !== null) BreakerMetrics.of(this.options.registry).remove(this.core)
    kept.delete(this.context.self)
    this.context.system.publish(this.stateTopic, { breaker: this.options.name, state: 'stopped', epoch: this.core.epoch, openUntil: -1 })
  }

  acquire(): BreakerGrant {
    const permit = this.core.acquire()
    if (permit === REJECTED) {
      const data = this.core.rejection()
      throw new CallNotPermittedError(`circuit breaker '${data.breaker}' is ${data.state}; retry after ${data.retryAfterMs} ms`, { data })
    }
    // A first probe starts the half-open deadline's clock.
    if (permit > 0) this.armDeadline()
    return { epoch: this.core.epoch, permit }
  }

  complete(epoch: number, permit: number, outcome: CallOutcome, durationMs: number): void {
    if (!Number.isInteger(epoch) || !Number.isInteger(permit) || !OUTCOME_NAMES.has(outcome) || typeof durationMs !== 'number') {
      throw new BreakerBadMessageError(`malformed 'complete' to circuit breaker '${this.options.name}'`, { data: { method: 'complete' } })
    }
    this.core.complete(epoch, permit, outcome, durationMs)
  }

  report(report: OutcomeReport): void {
    const valid =
      typeof report === 'object' &&
      report !== null &&
      Number.isInteger(report.epoch) &&
      Array.isArray(report.outcomes) &&
      Array.isArray(report.durations) &&
      (report.successes === undefined || (Number.isSafeInteger(report.successes) && report.successes >= 0)) &&
      [report.rejectedOpen, report.rejectedHalfOpen, report.rejectedForcedOpen].every((n) => Number.isInteger(n) && n >= 0)
    if (!valid) throw new BreakerBadMessageError(`malformed 'report' to circuit breaker '${this.options.name}'`, { data: { method: 'report' } })
    this.core.countRejections(report.rejectedOpen, report.rejectedHalfOpen, report.rejectedForcedOpen)
    const length = Math.min(report.outcomes.length, report.durations.length)
    this.core.completeBatch(report.epoch, report.successes ?? 0, report.outcomes, report.durations, length)
  }

  snapshot(): BreakerSnapshot {
    this.core.tick()
    return this.core.snapshot()
  }

  forceOpen(): BreakerState {
    this.core.forceOpen()
    return this.core.state
  }
  disable(): BreakerState {
    this.core.disable()
    return this.core.state
  }
  metricsOnly(): BreakerState {
    this.core.metricsOnly()
    return this.core.state
  }
  close(): BreakerState {
    this.core.close()
    return this.core.state
  }
  trip(): BreakerState {
    this.core.trip()
    return this.core.state
  }
  reset(): BreakerState {
    this.core.reset()
    return this.core.state
  }

  tick(): void {
    this.core.tick()
    this.armDeadline()
  }

  addPeer(peer: ActorRef<CircuitBreakerProtocol>): void {
    if (!this.sharing.add(peer)) return
    this.context.watch(peer)
    tellPeer(peer, 'peerHello', this.context.self, this.currentChange())
  }

  removePeer(peer: ActorRef<CircuitBreakerProtocol>): void {
    if (this.sharing.remove(peer)) this.context.unwatch(peer)
  }

  peerHello(peer: ActorRef<CircuitBreakerProtocol>, change: SharedChange | null): void {
    if (this.sharing.add(peer)) {
      this.context.watch(peer)
      // Tell the newcomer where this breaker stands; it applies it only if it is news to it.
      const mine = this.currentChange()
      if (mine !== null) tellPeer(peer, 'peerChange', mine)
    }
    if (change !== null) this.peerChange(change)
  }

  peerChange(change: SharedChange): void {
    const valid =
      typeof change === 'object' &&
      change !== null &&
      BREAKER_STATES.includes(change.to) &&
      Number.isFinite(change.openForMs) &&
      change.openForMs >= 0 &&
      Number.isInteger(change.lamport) &&
      typeof change.origin === 'string'
    if (!valid) throw new BreakerBadMessageError(`malformed 'peerChange' to circuit breaker '${this.options.name}'`, { data: { method: 'peerChange' } })
    if (!this.sharing.accept(change, this.core.state)) return
    this.core.adopt(change.to, change.openForMs)
    // An open breaker that only extended its interval made no transition: its clients still need the new deadline.
    this.broadcast()
    this.armDeadline()
  }

  peers(): string[] {
    return [...this.sharing.peers.keys()]
  }

  override onTerminated(terminated: Terminated): void {
    this.sharing.remove(terminated.ref)
  }

  private currentChange(): SharedChange | null {
    const snapshot = this.core.snapshot()
    return this.sharing.current(snapshot.state, snapshot.openUntil - this.context.system.clock.now())
  }

  /** Called by the core on every real transition, inside whichever handler caused it. */
  private transitioned(transition: BreakerTransition): void {
    this.context.system.publish(BreakerTransitionTopic, transition)
    this.broadcast()
    this.armDeadline()
    // The sharing field is unset only while the first core is being made (no transition happens then).
    const change = transition.reason === 'peer' || this.sharing === undefined ? null : this.sharing.outgoing(transition)
    if (change !== null) for (const peer of this.sharing.peers.values()) tellPeer(peer, 'peerChange', change)
  }

  private broadcast(): void {
    const core = this.core
    // During construction of a fresh core the field is not set yet; preStart broadcasts afterwards.
    if (core === undefined) return
    const snapshot = core.snapshot()
    this.context.system.publish(this.stateTopic, { breaker: this.options.name, state: snapshot.state, epoch: snapshot.epoch, openUntil: snapshot.openUntil })
  }

  private armDeadline(): void {
    if (this.core === undefined) return
    const at = this.core.nextDeadline()
    if (at < 0) {
      this.context.timers.cancel('deadline')
      return
    }
    this.context.timers.startSingle('deadline', Math.max(0, at - this.context.system.clock.now()), 'tick')
  }
}
