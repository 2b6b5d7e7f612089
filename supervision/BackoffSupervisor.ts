import {
  Actor,
  EnvelopeKind,
  ExitReasons,
  StashFullError,
  type ActorClass,
  type ActorContext,
  type ActorRef,
  type Directive,
  type ExitReason,
  type ProtocolOf,
  type SpawnOptionsBase,
  type TimerHandle,
} from '../runtime/index.ts'
import { backoffDelay, backoffResetAfter } from './Backoff.ts'
import { BackoffStashFullError } from './errors.ts'
import { withForwarding } from './Forwarding.ts'
import { SupervisorEventTopic } from './SupervisorEvents.ts'

type ArgsOf<C> = C extends new (...args: infer A) => any ? A : never

/** Pekko's BackoffSupervisor, with Akka typed's stash and `withStopChildren`. */
export interface BackoffSupervisorOptions<C extends ActorClass<Actor<any>, any[]>> {
  readonly child: { readonly actor: C; readonly args: ArgsOf<C>; readonly spawn?: Omit<SpawnOptionsBase, 'name'> }
  /** The child's name under the supervisor. Default `child`. */
  readonly childName?: string
  /**
   * `on-failure` (default, Pekko `BackoffOpts.onFailure`): a failed child is restarted in place after
   * the delay; a child that stops by itself stops the supervisor. `on-stop` (`BackoffOpts.onStop`):
   * whenever the child stops, a new one is started after the delay.
   */
  readonly mode?: 'on-failure' | 'on-stop'
  readonly minBackoffMs: number
  readonly maxBackoffMs: number
  /** In [0, 1]; applied after the cap, as Pekko. Default 0. */
  readonly randomFactor?: number
  /** Healthy running time after which the next delay starts from `minBackoffMs`. Default `(min + max) / 2`. */
  readonly resetAfterMs?: number
  /** Restarts in a row after which the supervisor stops itself (Pekko `withMaxNrOfRetries`). Default unlimited. */
  readonly maxRetries?: number
  /** Messages kept while the child is down; beyond it they go to dead letters (`stash-full`). Default 1000. */
  readonly stashCapacity?: number
  /** While the child is down, asks are answered with this value instead of being stashed (Pekko `withReplyWhileStopped`). */
  readonly replyWhileStopped?: { readonly value: unknown }
  /** Whether a restart stops the child's own children (default true; `false` is Akka typed's `withStopChildren(false)`). */
  readonly stopChildren?: boolean
}

/** The supervisor's own messages (its ref is also typed with the child's protocol, for everything else). */
export interface BackoffControlProtocol {
  /** The child, or null while it is down (Pekko `GetCurrentChild`). */
  $currentChild(): ActorRef<any> | null
  /** Restarts since the last reset (Pekko `GetRestartCount`). */
  $restartCount(): number
  /** Starts the next delay from `minBackoffMs` again (Pekko `Reset`). */
  $reset(): void
}

const DEFAULT_STASH_CAPACITY = 1000

/**
 * Pekko's BackoffSupervisor: one child, restarted after exponentially growing delays. Its ref speaks
 * the child's protocol: messages are forwarded to the child while it runs (a tell keeps its sender;
 * an ask is answered through the supervisor), and stashed while it is down, then handed over in
 * order once it is back. Spawn it with `spawnBackoffSupervisor`.
 */
export class BackoffSupervisor<C extends ActorClass<Actor<any>, any[]> = ActorClass<Actor<any>, any[]>> extends Actor<BackoffControlProtocol> implements BackoffControlProtocol {
  static readonly reentrant = true
  private readonly options: BackoffSupervisorOptions<C>
  private readonly childName: string
  private child: ActorRef<any> | null = null
  private down = true
  private attempt = 0
  private startedAt = 0
  private timer: TimerHandle | null = null

  constructor(options: BackoffSupervisorOptions<C>) {
    super()
    this.options = options
    this.childName = options.childName ?? 'child'
    return withForwarding(this, (method) => (...args: unknown[]) => this.forward(method, args))
  }

  override async preStart(): Promise<void> {
    await this.startChild()
  }

  override postStop(): void {
    if (this.timer !== null) this.context.system.clock.clearTimer(this.timer)
  }

  $currentChild(): ActorRef<any> | null {
    return this.down ? null : this.child
  }
  $restartCount(): number {
    return this.attempt
  }
  $reset(): void {
    this.attempt = 0
  }

  override onChildFailure(child: ActorRef<any>, error: Error): Directive | void {
    if (this.child === null || !child.equals(this.child)) return 'stop'
    if ((this.options.mode ?? 'on-failure') === 'on-stop') return 'stop'
    // Take charge: the child stays suspended until the delay is over, then restarts in place.
    this.backOff(error, () => {
      const keepChildren = this.options.stopChildren === false
      return this.context.restartChild(child, error, { keepChildren })
    })
  }

  override onChildTerminated(child: ActorRef<any>, reason: ExitReason): void {
    if (this.child === null || !child.equals(this.child)) return
    this.child = null
    if ((this.options.mode ?? 'on-failure') === 'on-failure' && reason.kind !== 'failure') {
      // Pekko onFailure: a child that stops by itself ends the supervisor too.
      this.context.stop()
      return
    }
    this.backOff(reason.kind === 'failure' ? reason.error : null, () => this.startChild())
  }

  private async startChild(): Promise<void> {
    const { actor, args, spawn } = this.options.child
    const started = (this.context.spawnAndWait as (cls: unknown, options: unknown) => Promise<ActorRef<any>>)(actor, { ...spawn, name: this.childName, args })
    this.child = this.context.child(this.childName) ?? null
    await started
    this.up()
  }

  private up(): void {
    this.down = false
    this.startedAt = this.context.system.clock.now()
    this.context.unstashAll()
  }

  /** Schedules `restart` after the next delay; messages are stashed meanwhile. */
  private backOff(error: Error | null, restart: () => Promise<unknown>): void {
    this.down = true
    const clock = this.context.system.clock
    if (clock.now() - this.startedAt >= backoffResetAfter(this.backoff())) this.attempt = 0
    const max = this.options.maxRetries
    if (max !== undefined && this.attempt >= max) {
      this.context.stop()
      return
    }
    const attempt = this.attempt++
    const delayMs = backoffDelay(this.backoff(), attempt, this.context.system.random)
    this.context.system.publish(SupervisorEventTopic, { type: 'restart-scheduled', supervisor: this.self, childId: this.childName, delayMs, attempt })
    if (this.timer !== null) clock.clearTimer(this.timer)
    this.timer = clock.setTimer(delayMs, () => {
      this.timer = null
      restart().then(
        () => {
          // A restart in place (on-failure) resolves once the child runs again; a fresh start already said so.
          if (this.down) this.up()
          this.context.system.publish(SupervisorEventTopic, { type: 'child-restarted', supervisor: this.self, childId: this.childName, child: this.child as ActorRef<any>, reason: error ?? ExitReasons.normal })
        },
        () => undefined, // a failed start arrives as a child failure (or exit) and backs off again
      )
    })
  }

  private backoff() {
    const o = this.options
    return {
      minMs: o.minBackoffMs,
      maxMs: o.maxBackoffMs,
      ...(o.randomFactor === undefined ? {} : { randomFactor: o.randomFactor }),
      ...(o.resetAfterMs === undefined ? {} : { resetAfterMs: o.resetAfterMs }),
    }
  }

  /** A message in the child's protocol, handled by the supervisor: forwarded, stashed or answered. */
  private forward(method: string, args: unknown[]): unknown {
    const context = this.context as ActorContext<any>
    const envelope = context.currentEnvelope
    if (envelope === null) return undefined
    const child = this.child
    if (!this.down && child !== null) {
      if (envelope.kind === EnvelopeKind.Ask) return (child.ask as (m: string, ...a: unknown[]) => Promise<unknown>)(method, ...args)
      // A tell keeps its sender: the same envelope, addressed to the child.
      envelope.target = child
      context.system.deliverInbound(envelope)
      return undefined
    }
    const reply = this.options.replyWhileStopped
    if (reply !== undefined && envelope.kind === EnvelopeKind.Ask) return reply.value
    const capacity = this.options.stashCapacity ?? DEFAULT_STASH_CAPACITY
    let full = context.stashSize >= capacity
    if (!full) {
      try {
        context.stash()
      } catch (error) {
        if (!(error instanceof StashFullError)) throw error
        full = true
      }
    }
    if (full) {
      context.system.deadLetter(envelope, 'stash-full')
      if (envelope.kind === EnvelopeKind.Ask) throw new BackoffStashFullError(`${context.path} is backing off and its stash is full (${capacity})`, { data: { capacity } })
    }
    return undefined
  }
}

/**
 * Spawns a BackoffSupervisor under `parent` (the system or an actor's context) and returns its ref
 * typed with the child's protocol: tell and ask it as you would the child.
 */
export function spawnBackoffSupervisor<C extends ActorClass<Actor<any>, any[]>>(
  parent: { spawn: ActorContext<any>['spawn'] },
  options: BackoffSupervisorOptions<C>,
  spawnOptions: Omit<SpawnOptionsBase, 'stashCapacity'> = {},
): ActorRef<ProtocolOf<InstanceType<C>>> {
  const stashCapacity = options.stashCapacity ?? DEFAULT_STASH_CAPACITY
  const ref = (parent.spawn as (cls: unknown, options: unknown) => ActorRef<any>)(BackoffSupervisor, { ...spawnOptions, stashCapacity, args: [options] })
  return ref as ActorRef<ProtocolOf<InstanceType<C>>>
}
