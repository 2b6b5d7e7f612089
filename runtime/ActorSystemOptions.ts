/**
 * The options of an actor system and the shapes it publishes (lifecycle, failures, mailbox hooks),
 * apart from the system itself so the host, the guardian and the facade share them without cycles.
 */
import type { Directive } from './Actor.ts'
import type { ActorRef } from './ActorRef.ts'
import type { Clock } from './Clock.ts'
import type { Envelope } from './Envelope.ts'
import { topic } from './EventStream.ts'
import type { ExitReason } from './ExitReason.ts'
import type { IdSource } from './IdSource.ts'
import type { Instrumentation } from './Instrumentation.ts'
import type { Logger } from './Logger.ts'
import type { MailboxOptions } from './Mailbox.ts'
import type { Random } from './Random.ts'
import type { Scheduler } from './Scheduler.ts'

/** Read-only view of an actor that mailbox hooks receive (metrics label by `actorType`, never by path). */
export interface ActorInfo {
  readonly actorType: string
  readonly path: string
  readonly mailboxSize: number
}

/** Mailbox instrumentation points; metrics attach here. Called synchronously: keep them cheap. */
export interface MailboxHooks {
  posted?(actor: ActorInfo, depth: number): void
  received?(actor: ActorInfo, depth: number, envelope: Envelope): void
  idle?(actor: ActorInfo): void
  /** `count` queued messages left without being handled (the actor stopped; they became dead letters). */
  discarded?(actor: ActorInfo, count: number): void
}

/** Lifecycle events published on `LifecycleTopic`. */
export interface LifecycleEvent {
  readonly ref: ActorRef<any>
  readonly actorType: string
  readonly event: 'started' | 'restarted' | 'stopped' | 'failed'
  readonly error?: Error
  readonly reason?: ExitReason
  /** `failed` in a handler: the method of the message it was handling (absent for lifecycle hooks). */
  readonly method?: string
}
export const LifecycleTopic = topic<LifecycleEvent>('troupe.lifecycle')

/** Published when the top of the tree fails and the system terminates because of it. */
export interface SystemFailure {
  readonly error: Error
  readonly path: string
}
export const SystemFailureTopic = topic<SystemFailure>('troupe.system-failure')

/**
 * Where messages to actors that do not live in this system go. The shard and NATS transports
 * implement it; without one, a non-local address is unknown.
 */
export interface RemoteRouter {
  /** Sends an envelope whose target is not local. Throws a typed error if it cannot be queued. */
  route(envelope: Envelope): void
  /**
   * Optional, the `offer` path: sends envelopes for one target now, in order after what `route`
   * buffered for it, or throws having sent none (ERR_TRANSPORT_FULL: no room yet). Without it,
   * offers are routed like tells.
   */
  sendNow?(envelopes: Envelope[]): void
}

export interface ActorSystemOptions {
  readonly name: string
  /** This node's id (cluster member name). Default `local`. */
  readonly node?: string
  /** This system's shard number within the node. Default 0. */
  readonly shard?: number
  readonly clock?: Clock
  readonly random?: Random
  readonly ids?: IdSource
  /** Replaces the dispatcher (the simulator does). Default: RealScheduler with `throughput`. */
  readonly scheduler?: Scheduler
  /** Messages per actor per turn with the default scheduler. Default 100. */
  readonly throughput?: number
  /** Default ask timeout. Default 5000 ms. */
  readonly askTimeoutMs?: number
  /**
   * How long an `offer` to an actor in another system (shard, node) waits for the transport's room
   * (credit) before it fails with ERR_OFFER_TIMEOUT. Default: `askTimeoutMs`.
   */
  readonly offerTimeoutMs?: number
  /** Most such offers waiting for room at once; past it `offer` fails at the call with ERR_TRANSPORT_FULL. Default 10 000. */
  readonly maxWaitingOffers?: number
  /** Default mailbox for actors that do not set their own. Default: bounded 10 000, reject. */
  readonly mailbox?: MailboxOptions
  /**
   * Test mode: encode and decode every message even in-process, so a payload that could not cross a
   * thread or node (a function, a class instance) fails at `tell` instead of in production.
   */
  readonly serializeMessages?: boolean
  /** Largest encoded envelope the codec accepts. Default 1 MiB. */
  readonly maxMessageBytes?: number
  /** How many shards this node runs (ShardedSystem sets it): frames naming another shard of this node are refused. */
  readonly shardCount?: number
  readonly mailboxHooks?: MailboxHooks
  /** Tracing/metrics hooks on send and handle (see Instrumentation; combine several with combineInstrumentation). */
  readonly instrumentation?: Instrumentation
  /**
   * What the user guardian does when a top-level actor fails. Default `restart` (and `stop` for
   * start failures). `escalate` terminates the system (see SystemFailureTopic).
   */
  readonly guardianStrategy?: Directive | ((child: ActorRef<any>, error: Error) => Directive)
  /**
   * Whether a running system keeps the Node.js process alive, as a server does, until `terminate()`.
   * Default true (with the real clock). Actor timers themselves never hold the process.
   */
  readonly keepAlive?: boolean
  /** Where actors log (`context.log`, bound to the actor's path and type). Default: silent. */
  readonly logger?: Logger
  /** Receives errors nobody else can: throwing event listeners, failures while terminating. */
  readonly onInternalError?: (error: unknown, where: string) => void
}

/** Names of systems and actors: letters, digits and `_-.~:@+=` (never `$`, which unnamed actors use). */
export const NAME_PATTERN = /^[A-Za-z0-9_\-.~:@+=]+$/
export const DEFAULT_ASK_TIMEOUT_MS = 5000
export const DEFAULT_MAX_WAITING_OFFERS = 10_000
