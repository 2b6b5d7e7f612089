import type { ActorRef } from './ActorRef.ts'
import type { Envelope, Headers } from './Envelope.ts'
import type { Actor, ActorClass, ProtocolOf, SpawnArgs } from './Actor.ts'
import type { MethodArgs, MethodName } from './Protocol.ts'
import type { Timers } from './Timers.ts'
import type { Topic } from './EventStream.ts'
import type { ActorSystem } from './ActorSystem.ts'
import type { ExitReason, Terminated } from './ExitReason.ts'
import type { Logger } from './Logger.ts'

/** What an actor knows about itself and can do, available as `this.context` inside an Actor. */
export interface ActorContext<P> {
  readonly self: ActorRef<P>
  readonly system: ActorSystem
  /** Parent actor; null only for the system's guardian. */
  readonly parent: ActorRef<any> | null
  readonly name: string
  readonly path: string
  /** Class name; metrics use it as a label. */
  readonly actorType: string
  /** Sender of the message being handled (an actor), or null when plain code sent it. */
  readonly sender: ActorRef<any> | null
  /** Headers of the message being handled (trace context lives here). */
  readonly headers: Headers | null
  /** The envelope being handled, for layers that need more than sender and headers. */
  readonly currentEnvelope: Envelope | null
  readonly timers: Timers<P>
  /** The system's logger bound to this actor's path and type (made on first use). */
  readonly log: Logger

  /** Starts a child actor. Its path is this actor's path plus the child's name. */
  spawn<A extends Actor<any>, C extends ActorClass<A, any[]>>(
    actorClass: C,
    ...options: SpawnArgs<C>
  ): ActorRef<ProtocolOf<InstanceType<C>>>
  /** Live children, in start order. */
  readonly children: readonly ActorRef<any>[]
  child(name: string): ActorRef<any> | undefined

  /** Stops this actor (after the current message) or a child; the reason defaults to normal for self, shutdown for a child. */
  stop(ref?: ActorRef<any>, reason?: ExitReason): void
  /** Death watch: `onTerminated` is called with the reason when `ref` stops (at once if it already has). */
  watch(ref: ActorRef<any>): void
  unwatch(ref: ActorRef<any>): void

  /** Stashes the message being handled, to be handled again after `unstashAll`. Bounded. */
  stash(): void
  /** Puts every stashed message back at the front of the mailbox, oldest first. */
  unstashAll(): void
  readonly stashSize: number

  /** Sends `method` to self when no user message arrived for `timeoutMs`. Reset by every user message. */
  setReceiveTimeout<K extends MethodName<P>>(timeoutMs: number, method: K, ...args: MethodArgs<P, K>): void
  cancelReceiveTimeout(): void

  /** Delivers every event published on `topic` to `method` of this actor, until it stops or unsubscribes. */
  /** Spawns a child and resolves once its preStart has completed; rejects with its start failure. */
  spawnAndWait<A extends Actor<any>, C extends ActorClass<A, any[]>>(
    actorClass: C,
    ...options: SpawnArgs<C>
  ): Promise<ActorRef<ProtocolOf<InstanceType<C>>>>
  /**
   * Restarts a child in place (same ref, fresh instance). With `hold` it stops after phase one
   * (preRestart, its children stopped) until `completeRestart`; resolves when the phase is done.
   * With `keepChildren` the child's own children are not stopped: they carry on under the new instance.
   */
  restartChild(child: ActorRef<any>, cause: Error, options?: { hold?: boolean; keepChildren?: boolean }): Promise<void>
  completeRestart(child: ActorRef<any>): Promise<void>
  /** Lets a failed (suspended) child continue with its state as it was. */
  resumeChild(child: ActorRef<any>): void
  /** Stops a child with a shutdown policy (`brutal`, ms before a kill, or `infinity`); resolves when stopped. */
  stopChild(child: ActorRef<any>, shutdown: 'brutal' | 'infinity' | number, reason?: ExitReason): Promise<Terminated>
  killChild(child: ActorRef<any>): void
  /** Fails this actor with `error` as if a handler threw it; the parent decides what follows. */
  fail(error: Error): void
  /**
   * The `escalate` directive for a failed child, applied by hand (a supervisor that decided later):
   * fails this actor with the child's error, and if this actor is then resumed, the child resumes too.
   */
  escalateChild(child: ActorRef<any>, error: Error): void
  /** Bidirectional link: an abnormal exit of either actor fails the other (unless it traps exits). */
  link(ref: ActorRef<any>): void
  unlink(ref: ActorRef<any>): void
  /** Erlang's `trap_exit`: linked exits arrive as `onTerminated` with `linked: true`. */
  trapExits(enabled: boolean): void

  subscribe<T, K extends MethodName<P>>(topic: Topic<T>, method: K & (MethodArgs<P, K> extends [T] ? K : never)): void
  unsubscribe(topic: Topic<any>): void
}
