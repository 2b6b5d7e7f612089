import type { ActorContext } from './ActorContext.ts'
import type { ActorRef } from './ActorRef.ts'
import type { ExitReason, Terminated } from './ExitReason.ts'
import type { MailboxOptions } from './Mailbox.ts'
import { ActorInitError } from './errors.ts'

/** What a supervisor does about a failed child (the supervision layer chooses per error). */
export type Directive = 'resume' | 'restart' | 'stop' | 'escalate'

let constructing: ActorContext<any> | null = null

/** @internal The system sets the context the next Actor constructor picks up. */
export function withConstructionContext<T>(context: ActorContext<any>, construct: () => T): T {
  const previous = constructing
  constructing = context
  try {
    return construct()
  } finally {
    constructing = previous
  }
}

/**
 * Base class of every actor. `P` is the protocol interface the actor implements: its public methods
 * are the message handlers. Handlers may be sync or async; by default the next message waits until
 * an async handler settles (turn-based), so state needs no locks.
 *
 * Lifecycle hooks are overridable; none of them is callable as a message.
 */
export abstract class Actor<P = unknown> {
  /** Phantom: carries the protocol type for inference (`ProtocolOf`); never set at run time. */
  declare readonly __protocol?: P
  /** This actor's context: self, sender, children, timers, stash, watch. */
  protected readonly context: ActorContext<P>

  constructor() {
    if (constructing === null) {
      throw new ActorInitError('actors are created by spawn(), not with new')
    }
    this.context = constructing as ActorContext<P>
  }

  /** Typed ref to this actor. */
  protected get self(): ActorRef<P> {
    return this.context.self
  }

  /** Runs before the first message; messages wait until it completes. A throw is a start failure. */
  preStart(): void | Promise<void> {}

  /**
   * Runs when a stop begins, before the runtime stops the children (which it then does all at
   * once). Supervisors stop their children here, in reverse start order with shutdown timeouts.
   */
  onStopping(): void | Promise<void> {}

  /** Runs after the actor and all its children have stopped (not after a kill). */
  postStop(): void | Promise<void> {}

  /** Runs on the failed instance before a restart (children are stopped by the runtime). Default: postStop. */
  preRestart(_error: Error): void | Promise<void> {
    return this.postStop()
  }

  /** Runs on the fresh instance after a restart. Default: preStart. */
  postRestart(_error: Error): void | Promise<void> {
    return this.preStart()
  }

  /** Death watch: a watched actor has stopped. */
  onTerminated(_terminated: Terminated): void | Promise<void> {}

  /**
   * A child failed: choose what happens to it. Default: restart (Akka's default strategy), or stop
   * when it failed to start (restarting would fail again). Return nothing to take charge yourself:
   * the child stays suspended until you restart, resume or stop it through the context. The
   * supervision layer's Supervisor does that for OTP strategies, restart budgets and backoff.
   */
  onChildFailure(_child: ActorRef<any>, error: Error): Directive | void {
    return error instanceof ActorInitError ? 'stop' : 'restart'
  }

  /** A child has stopped, for whatever reason (after `onTerminated` of any watcher was queued). */
  onChildTerminated(_child: ActorRef<any>, _reason: ExitReason): void {}
}

/** The protocol an actor class implements. */
export type ProtocolOf<A> = A extends Actor<infer P> ? P : never

/** An actor class with constructor arguments `Args`. */
export type ActorClass<A extends Actor<any>, Args extends any[]> = new (...args: Args) => A

export interface SpawnOptionsBase {
  /** Path segment, unique among siblings. Generated (`$a`, `$b`, …) when omitted. */
  readonly name?: string
  /** Also register the actor in the system registry under this name (system-wide unique). */
  readonly registerAs?: string
  readonly mailbox?: MailboxOptions
  /**
   * Let the next message start while an async handler is still pending (Orleans' `[Reentrant]`).
   * Off by default: turn-based handling is what keeps actor state consistent.
   */
  readonly reentrant?: boolean
  /** Most messages the stash holds. Default 1000. */
  readonly stashCapacity?: number
  /**
   * Erlang's `trap_exit`: an abnormal exit of a linked actor arrives as `onTerminated` (with
   * `linked: true`) instead of failing this actor. Can be changed later with `context.trapExits()`.
   */
  readonly trapExits?: boolean
}

/** Spawn options; `args` is required exactly when the class's constructor takes arguments. */
export type SpawnOptions<Args extends any[]> = Args extends [] ? SpawnOptionsBase & { readonly args?: [] } : SpawnOptionsBase & { readonly args: Args }

/** The rest-argument form of spawn's options: optional when the constructor takes no arguments. */
export type SpawnArgs<C> = C extends new (...args: infer Args) => any
  ? Args extends []
    ? [options?: SpawnOptions<[]>]
    : [options: SpawnOptions<Args>]
  : never

/** Names of Actor's own members: never callable as messages, from any client. */
export const RESERVED_METHODS: ReadonlySet<string> = new Set(
  (() => {
    const names = new Set<string>(['constructor', 'context', 'self', '__protocol'])
    let proto: object | null = Actor.prototype
    while (proto !== null) {
      for (const name of Object.getOwnPropertyNames(proto)) names.add(name)
      proto = Object.getPrototypeOf(proto) as object | null
    }
    return names
  })(),
)
