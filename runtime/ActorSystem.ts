import type { Actor, ActorClass, ProtocolOf, SpawnArgs, SpawnOptionsBase } from './Actor.ts'
import type { ActorAddress } from './ActorAddress.ts'
import { ActorCell, CellStatus } from './ActorCell.ts'
import type { ActorRef } from './ActorRef.ts'
import { DEFAULT_ASK_TIMEOUT_MS, NAME_PATTERN, type ActorSystemOptions, type RemoteRouter } from './ActorSystemOptions.ts'
import type { Clock } from './Clock.ts'
import { Codec } from './Codec.ts'
import { DeadLetterTopic, type DeadLetter, type DeadLetterReason } from './DeadLetters.ts'
import { Envelope, EnvelopeKind } from './Envelope.ts'
import { InvalidArgumentError, InvalidNameError, SystemTerminatedError } from './errors.ts'
import { EventStream, type EventListener, type Subscription, type Topic } from './EventStream.ts'
import { ExitReasons, type ExitReason, type Terminated } from './ExitReason.ts'
import { SequentialIds, type IdSource } from './IdSource.ts'
import { silentLogger, type Logger } from './Logger.ts'
import type { Random } from './Random.ts'
import { RealScheduler } from './RealScheduler.ts'
import { Registry } from './Registry.ts'
import type { Scheduler } from './Scheduler.ts'
import { SystemClock } from './SystemClock.ts'
import { SystemHost } from './SystemHost.ts'
import { SystemRandom } from './SystemRandom.ts'
import { setGuardianStrategy, UserGuardian } from './UserGuardian.ts'

// The options and published shapes live in ActorSystemOptions.ts; the system's internals in
// SystemHost.ts (spawn, refs, sending, replies), Asks.ts, RemoteOffers.ts and RemoteWatch.ts.
export { LifecycleTopic, SystemFailureTopic } from './ActorSystemOptions.ts'
export type { ActorInfo, ActorSystemOptions, LifecycleEvent, MailboxHooks, RemoteRouter, SystemFailure } from './ActorSystemOptions.ts'
export { decodeExitReason, encodeExitReason } from './RemoteWatch.ts'

/** Shared by every spawn without options, so an idle actor does not keep an empty object of its own. */
const NO_OPTIONS: SpawnOptionsBase = Object.freeze({})

/**
 * An actor system: the root of an actor tree on one event loop, with its dispatcher, clock,
 * registry, event stream and dead letters. Create one with `ActorSystem.create`.
 */
export class ActorSystem {
  readonly name: string
  readonly node: string
  readonly shard: number
  readonly clock: Clock
  readonly random: Random
  readonly ids: IdSource
  readonly scheduler: Scheduler
  readonly codec: Codec
  readonly registry = new Registry()
  readonly eventStream: EventStream
  readonly askTimeoutMs: number
  /** The system's logger, bound to its node and shard. */
  readonly log: Logger
  /** Guardian of user actors; top-level spawns are its children. */
  private readonly guardian: ActorCell
  private readonly host: SystemHost
  private terminating: Promise<void> | null = null
  private resolveTerminated!: () => void
  /** Resolves when the system has terminated (every actor stopped). */
  readonly whenTerminated: Promise<void>
  /** Set when the system terminated because its top-level supervisor gave up. */
  failure: Error | null = null

  static create(options: ActorSystemOptions): ActorSystem {
    return new ActorSystem(options)
  }

  private constructor(options: ActorSystemOptions) {
    if (!NAME_PATTERN.test(options.name)) throw new InvalidNameError(`invalid system name '${options.name}'`)
    this.name = options.name
    this.node = options.node ?? 'local'
    this.shard = options.shard ?? 0
    this.clock = options.clock ?? new SystemClock()
    this.random = options.random ?? new SystemRandom()
    // Uids start at a random offset so a restarted node's new actors never match stale refs (below 2^30, so they stay small integers).
    this.ids = options.ids ?? new SequentialIds(Math.floor(this.random.next() * 2 ** 30))
    this.scheduler = options.scheduler ?? new RealScheduler(options.throughput === undefined ? {} : { throughput: options.throughput })
    const askTimeoutMs = options.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS
    if (!(askTimeoutMs > 0)) throw new InvalidArgumentError(`askTimeoutMs must be > 0, got ${askTimeoutMs}`)
    this.askTimeoutMs = askTimeoutMs
    this.log = (options.logger ?? silentLogger).child({ system: options.name, shard: this.shard })
    this.codec = new Codec({
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
      ...(options.shardCount === undefined ? {} : { localNode: this.node, shardCount: options.shardCount }),
    })
    const onInternalError = options.onInternalError ?? (() => {})
    this.eventStream = new EventStream((error, topicName) => onInternalError(error, `event listener on ${topicName}`))
    setGuardianStrategy(this, options.guardianStrategy)
    const release = options.keepAlive === false || this.clock.hold === undefined ? null : this.clock.hold()
    this.whenTerminated = new Promise<void>((resolve) => {
      this.resolveTerminated = () => {
        if (release !== null) release()
        resolve()
      }
    })
    this.host = new SystemHost(this, options)
    this.codec.bindResolver((address) => this.host.refForAddress(address))
    this.guardian = new ActorCell(this.host, null, 'user', UserGuardian as unknown as ActorClass<Actor<any>, any[]>, undefined)
    this.guardian.init()
  }

  /** Starts a top-level actor under the user guardian. */
  spawn<C extends ActorClass<Actor<any>, any[]>>(actorClass: C, ...options: SpawnArgs<C>): ActorRef<ProtocolOf<InstanceType<C>>> {
    if (this.terminating !== null) throw new SystemTerminatedError(`actor system '${this.name}' is terminating`)
    return this.host.spawnChild(this.guardian, actorClass, (options[0] ?? NO_OPTIONS) as SpawnOptionsBase & { args?: unknown[] })
  }

  /** Starts a top-level actor and resolves once its preStart has completed (rejects with its start failure). */
  spawnAndWait<C extends ActorClass<Actor<any>, any[]>>(actorClass: C, ...options: SpawnArgs<C>): Promise<ActorRef<ProtocolOf<InstanceType<C>>>> {
    const ref = this.spawn(actorClass, ...options)
    return (ref.cell as ActorCell).whenRunning().then(() => ref)
  }

  /** Stops an actor (after its current message; queued messages become dead letters). Resolves when it has stopped. */
  stop(ref: ActorRef<any>): Promise<Terminated> {
    const done = this.watch(ref)
    const cell = ref.cell as ActorCell | null
    if (cell !== null) cell.postSystem({ type: 'stop', reason: ExitReasons.shutdown })
    return done
  }

  /** Queues a stop behind the messages already in the mailbox (Akka's PoisonPill). */
  poison(ref: ActorRef<any>): void {
    const envelope = new Envelope(EnvelopeKind.Poison, ref, this.host.currentSender(), this.ids.nextMessageId(), 0, null, '', [])
    this.host.deliver(envelope)
  }

  /** Stops an actor at once, children first, without finishing its message or running postStop. */
  kill(ref: ActorRef<any>): void {
    const cell = ref.cell as ActorCell | null
    if (cell !== null) cell.kill()
  }

  /** Resolves with the reason when `ref` stops; at once if it already has or never existed. */
  watch(ref: ActorRef<any>): Promise<Terminated> {
    return new Promise<Terminated>((resolve) => {
      const cell = ref.cell as ActorCell | null
      if (cell === null) resolve({ ref, reason: ExitReasons.notFound })
      else cell.addWatcher(resolve)
    })
  }

  /** Subscribes plain code to a topic (actors use `context.subscribe`, which cleans up on stop). */
  subscribe<T>(topicToWatch: Topic<T>, listener: EventListener<T>): Subscription {
    return this.eventStream.subscribe(topicToWatch, listener)
  }

  publish<T>(topicToPublish: Topic<T>, event: T): void {
    this.eventStream.publish(topicToPublish, event)
  }

  /** Dead letters: a running count and a subscribable stream. */
  get deadLetters(): { readonly count: number; subscribe(listener: EventListener<DeadLetter>): Subscription } {
    const host = this.host
    const stream = this.eventStream
    return {
      get count() {
        return host.deadLetterCount
      },
      subscribe: (listener) => stream.subscribe(DeadLetterTopic, listener),
    }
  }

  /** The ref registered under `name` (system-wide registry). */
  lookup<P = unknown>(name: string): ActorRef<P> | undefined {
    return this.registry.lookup<P>(name)
  }

  /** The live actor at a path such as `/user/shop/cart-1`, if any. */
  resolvePath<P = unknown>(path: string): ActorRef<P> | undefined {
    const segments = path.split('/').filter((s) => s.length > 0)
    if (segments[0] !== 'user') return undefined
    let ref: ActorRef<any> | undefined = this.guardian.ref
    for (const segment of segments.slice(1)) {
      const cell: ActorCell | null = ref === undefined ? null : (ref.cell as ActorCell | null)
      ref = cell?.child(segment)
      if (ref === undefined) return undefined
    }
    return ref as ActorRef<P>
  }

  /** A ref for an address: local fast path when it lives here, else routed through the transport. */
  refFor<P = unknown>(address: ActorAddress): ActorRef<P> {
    return this.host.refForAddress(address) as ActorRef<P>
  }

  /** Top-level actors. */
  get topLevel(): readonly ActorRef<any>[] {
    return this.guardian.children
  }

  /** Number of live actors (the guardian excluded). */
  get actorCount(): number {
    const guardianAlive = this.guardian.status !== CellStatus.Stopped ? 1 : 0
    return this.host.liveCells - guardianAlive
  }

  /**
   * User messages waiting in every mailbox plus handlers still running. Walks the whole tree: meant
   * for draining before shutdown and for tests, not for a hot path.
   */
  get pendingWork(): number {
    return this.guardian.pendingWork()
  }

  /**
   * Asks sent from this system to other systems (shards, nodes) whose reply has not come yet. The
   * shard pump reads it to tell an actor waiting for a reply that may sit in its rings from a slow one.
   */
  get remoteAsksInFlight(): number {
    return this.host.remoteAsksInFlight
  }

  get isTerminated(): boolean {
    return this.guardian.status === CellStatus.Stopped
  }

  /** Counts and publishes a message that cannot be delivered (transports use it for what they cannot send). */
  deadLetter(envelope: Envelope, reason: DeadLetterReason, error?: Error): void {
    this.host.deadLetter(envelope, reason, error)
  }

  /** Lets a transport (shards, NATS) carry messages to non-local addresses. */
  setRemoteRouter(router: RemoteRouter | null): void {
    this.host.router = router
  }

  /**
   * Delivers an envelope that arrived from outside this system (another shard or node). Replies
   * settle their pending ask; other kinds go to the target's mailbox.
   */
  deliverInbound(envelope: Envelope): void {
    this.host.deliverInbound(envelope)
  }

  /**
   * Tells the system that a node (or, with `shard`, one shard of it) is gone: watchers of actors
   * there get Terminated (`node-down` / `shard-down`), asks in flight fail fast with
   * ERR_NODE_DOWN / ERR_SHARD_DOWN, or with `cause` when given (a quarantined node: ERR_QUARANTINED).
   * Called by transports and failure detectors.
   */
  remoteDown(node: string, shard: number | null = null, cause?: Error): void {
    this.host.remoteDown(node, shard, cause)
  }

  /**
   * A watch of the remote actor `ref` could not be delivered (its node or shard is down, or the way
   * there stayed full past every bound): its watchers here get Terminated with `reason` now, as if
   * it had died, instead of waiting for news that cannot come. Called by transports.
   */
  remoteUnreachable(ref: ActorRef<any>, reason: ExitReason): void {
    this.host.remoteWatch.terminated(ref, reason)
  }

  /**
   * The transport has room again toward `node` (one `shard`, or all of its shards; every node when
   * null): offers waiting for it go now, oldest first. Called by transports (through Remoting).
   */
  remoteRoom(node: string | null = null, shard: number | null = null): void {
    this.host.offers.room(node, shard)
  }

  /** Offers to actors in other systems waiting for the transport's room right now (at most `maxWaitingOffers`). */
  get offersWaiting(): number {
    return this.host.offers.waiting
  }

  /** Stops every actor, children first, then resolves. Idempotent. Offers still waiting for a transport fail with ERR_SYSTEM_TERMINATED. */
  terminate(): Promise<void> {
    if (this.terminating === null) {
      this.host.offers.fail(null, null, new SystemTerminatedError(`actor system '${this.name}' is terminating`))
      this.terminating = this.whenTerminated
      if (this.guardian.status === CellStatus.Stopped) this.resolveTerminated()
      else this.guardian.postSystem({ type: 'stop', reason: ExitReasons.shutdown })
    }
    return this.terminating
  }

  /** @internal */
  markTerminated(failure: Error | null): void {
    if (failure !== null && this.failure === null) this.failure = failure
    this.resolveTerminated()
  }

  /** @internal */
  beginTerminate(): void {
    if (this.terminating === null) this.terminating = this.whenTerminated
  }
}
