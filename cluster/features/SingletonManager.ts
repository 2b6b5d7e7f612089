import { Actor, encodeError, type ActorClass, type ActorRef, type EncodedError, type ExitReason } from '../../runtime/index.ts'
import { ClusterQuarantinedError, type FencingToken } from '../membership/index.ts'
import type { FeatureContext } from './FeatureContext.ts'
import type { Receptionist } from './Receptionist.ts'
import { refString, RESERVED_PREFIX } from './ServiceKey.ts'
import { writeWithRetry } from './Writes.ts'

/** The registry name a singleton's holder claims before it starts the instance (the proxy routes by it). */
export function claimKey(name: string): string {
  return `${RESERVED_PREFIX}singleton/${name}`
}

/** Given to the singleton instance as its last constructor argument: storage rejects writes with an older token. */
export interface SingletonToken {
  readonly name: string
  readonly node: string
  readonly incarnation: number
  readonly fencing: FencingToken
}

/** What a member's manager is doing, for tests, benches and `/cluster` views. */
export interface SingletonStatus {
  readonly name: string
  running: boolean
  token: FencingToken | null
  /** Instances started on this member. */
  starts: number
}

/** The manager's answer to a proxy: delivered to the instance here, or no instance here (the proxy buffers and retries). */
export type RouteResult = { readonly ok: true; readonly value?: unknown; readonly failed?: EncodedError } | { readonly ok: false }

export interface SingletonManagerProtocol {
  route(method: string, args: unknown[]): RouteResult
  request(method: string, args: unknown[]): Promise<RouteResult>
  evaluate(): void
}

export interface SingletonManagerSpec {
  readonly name: string
  readonly actorClass: ActorClass<Actor<any>, any[]>
  readonly args: readonly unknown[]
  readonly features: FeatureContext
  readonly receptionist: Receptionist
  readonly status: SingletonStatus
}

const CLAIM_RETRY_MS = 200

/**
 * One per member and singleton (Akka's ClusterSingletonManager). Runs the instance only while, in
 * this member's replica, (1) the placement names this member incarnation and (2) the claim key
 * holds exactly this manager. The claim is a unique registry entry written *before* the start and
 * removed only *after* the instance stopped (or by the state machine when the node is downed).
 * Both facts come from one replica, applied in log order, so a new holder — which needs the claim
 * key empty before it can claim — never starts while the old one's instance runs on a live member.
 */
export class SingletonManager extends Actor<SingletonManagerProtocol> implements SingletonManagerProtocol {
  private readonly spec: SingletonManagerSpec
  private instance: ActorRef<any> | null = null
  private stopping = false
  /** The instance ended on its own (stopped itself, or failed for good): no restart until the placement moves. */
  private ended = false
  private claimBusy = false
  private unsubscribe: (() => void) | null = null
  private closed = false

  constructor(spec: SingletonManagerSpec) {
    super()
    this.spec = spec
  }

  override preStart(): void {
    const state = this.spec.features.state
    const poke = (): void => this.self.tell('evaluate')
    const offChange = state.onChange((c) => {
      if (c.type === 'reset' || c.type === 'member' || (c.type === 'placement' && c.placement.name === this.spec.name) || (c.type === 'registry' && c.key === claimKey(this.spec.name))) poke()
    })
    this.unsubscribe = offChange
    // Quarantine is learnt outside the log (a probe's answer) and retries need a clock: look again now and then.
    this.context.timers.startPeriodic('evaluate', 250, 'evaluate')
    this.evaluate()
  }

  override postStop(): void {
    this.closed = true
    this.unsubscribe?.()
    this.spec.status.running = false
    this.spec.status.token = null
    // The instance (a child) has stopped by now: release the claim so the next holder need not wait for this node's down.
    const { state, clock, writeTimeoutMs } = this.spec.features
    const me = refString(this.self)
    if (!state.quarantined && state.lookupCached(claimKey(this.spec.name)).some((e) => e.ref === me)) {
      writeWithRetry(clock, writeTimeoutMs, () => false, () => state.unregister(claimKey(this.spec.name), me)).catch(() => {
        // No quorum for the whole timeout: the claim stays until this member leaves or is downed.
      })
    }
  }

  route(method: string, args: unknown[]): RouteResult {
    if (this.instance === null || this.stopping) return { ok: false }
    ;(this.instance.tell as (m: string, ...a: unknown[]) => void).call(this.instance, method, ...args)
    return { ok: true }
  }

  async request(method: string, args: unknown[]): Promise<RouteResult> {
    if (this.instance === null || this.stopping) return { ok: false }
    try {
      const value = await (this.instance.ask as (m: string, ...a: unknown[]) => Promise<unknown>).call(this.instance, method, ...args)
      return { ok: true, value }
    } catch (error) {
      // The instance's refusal is the caller's answer, not the manager's failure (which would restart it).
      return { ok: true, failed: encodeError(error) }
    }
  }

  evaluate(): void {
    const { state, isStopped } = this.spec.features
    if (isStopped()) return
    const p = state.placement(this.spec.name)
    const self = state.self
    const mine = p !== undefined && p.node === self.node && p.incarnation === self.incarnation && !state.quarantined
    const me = refString(this.self)
    const listing = state.lookupCached(claimKey(this.spec.name))
    const claimed = listing.some((e) => e.ref === me)
    if (!mine) {
      this.ended = false
      if (this.instance !== null) this.stopInstance()
      else if (claimed && !this.stopping) this.release()
      return
    }
    if (this.instance !== null || this.ended) return
    if (!claimed) {
      if (listing.length === 0) this.claim()
      return
    }
    // Placement and sole claim seen together in this replica: no other live member runs the instance.
    if (listing.length === 1) this.start({ term: p.term, version: p.version })
  }

  override onChildTerminated(child: ActorRef<any>, _reason: ExitReason): void {
    if (this.instance === null || !child.equals(this.instance)) return
    this.instance = null
    this.spec.status.running = false
    this.spec.status.token = null
    if (this.stopping) {
      this.stopping = false
      this.release()
    } else this.ended = true
  }

  private start(fencing: FencingToken): void {
    const self = this.spec.features.state.self
    const token: SingletonToken = { name: this.spec.name, node: self.node, incarnation: self.incarnation, fencing }
    const spawn = this.context.spawn as (cls: unknown, options: unknown) => ActorRef<any>
    this.instance = spawn.call(this.context, this.spec.actorClass, { name: 'instance', args: [...this.spec.args, token] })
    this.spec.status.running = true
    this.spec.status.token = fencing
    this.spec.status.starts++
  }

  private stopInstance(): void {
    if (this.stopping || this.instance === null) return
    this.stopping = true
    this.context.stop(this.instance)
  }

  private claim(): void {
    if (this.claimBusy) return
    this.claimBusy = true
    this.spec.receptionist.addInternal(claimKey(this.spec.name), this.self, true).then(
      () => this.done(0),
      // A conflict (the old holder has not released yet) or no quorum: look again shortly.
      () => this.done(CLAIM_RETRY_MS),
    )
  }

  /** Removes this manager's claim; only ever called with no instance running here. */
  private release(): void {
    if (this.claimBusy) return
    this.claimBusy = true
    const { state } = this.spec.features
    state.unregister(claimKey(this.spec.name), refString(this.self)).then(
      () => this.done(0),
      (error: unknown) => this.done(error instanceof ClusterQuarantinedError ? -1 : CLAIM_RETRY_MS),
    )
  }

  private done(retryMs: number): void {
    this.claimBusy = false
    if (retryMs < 0 || this.closed) return
    if (retryMs === 0) this.self.tell('evaluate')
    else this.context.timers.startSingle('retry', retryMs, 'evaluate')
  }
}
