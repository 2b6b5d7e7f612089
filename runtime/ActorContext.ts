import type { ActorRef } from './ActorRef.ts'
import type { Envelope, Headers } from './Envelope.ts'
import type { Actor, ActorClass, ProtocolOf, SpawnArgs } from './Actor.ts'
import type { MethodArgs, MethodName } from './Protocol.ts'
import type { Timers } from './Timers.ts'
import type { Topic } from './EventStream.ts'
import type { ActorSystem } from './ActorSystem.ts'
import type { ExitReason } from './ExitReason.ts'

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
  subscribe<T, K extends MethodName<P>>(topic: Topic<T>, method: K & (MethodArgs<P, K> extends [T] ? K : never)): void
  unsubscribe(topic: Topic<any>): void
}
