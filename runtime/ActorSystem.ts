import { Actor, type ActorClass, type Directive, type ProtocolOf, type SpawnArgs, type SpawnOptionsBase } from './Actor.ts'
import { formatAddress, type ActorAddress } from './ActorAddress.ts'
import { ActorCell, CellStatus, type CellHost } from './ActorCell.ts'
import { ActorRef, type AskOptions, type RefHost } from './ActorRef.ts'
import { AskDeadlines, type DeadlineQueue, type Expirable } from './AskDeadlines.ts'
import type { Clock } from './Clock.ts'
import { Codec } from './Codec.ts'
import { DeadLetterTopic, type DeadLetter, type DeadLetterReason } from './DeadLetters.ts'
import { Envelope, EnvelopeKind, type Headers } from './Envelope.ts'
import {
  ActorInitError,
  ActorStoppedError,
  AskTimeoutError,
  errorCode,
  ErrorCodes,
  InvalidArgumentError,
  InvalidNameError,
  NameTakenError,
  NodeDownError,
  ShardDownError,
  SystemTerminatedError,
  decodeError,
  encodeError,
  type EncodedError,
  UnknownActorError,
} from './errors.ts'
import { EventStream, topic, type EventListener, type Subscription, type Topic } from './EventStream.ts'
import { ExitReasons, type ExitReason, type Terminated } from './ExitReason.ts'
import { SequentialIds, type IdSource } from './IdSource.ts'
import type { Instrumentation } from './Instrumentation.ts'
import { silentLogger, type Logger } from './Logger.ts'
import { Mailbox, type MailboxOptions } from './Mailbox.ts'
import type { Random } from './Random.ts'
import { RealScheduler } from './RealScheduler.ts'
import { Registry } from './Registry.ts'
import type { Scheduler } from './Scheduler.ts'
import { SystemClock } from './SystemClock.ts'
import { SystemRandom } from './SystemRandom.ts'

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

const NAME_PATTERN = /^[A-Za-z0-9_\-.~:@+=]+$/
const RESOLVED_CACHE_LIMIT = 10_000
/** Shared by every spawn without options, so an idle actor does not keep an empty object of its own. */
const NO_OPTIONS: SpawnOptionsBase = Object.freeze({})
const DEFAULT_ASK_TIMEOUT_MS = 5000

/** One ask in flight. Settles exactly once: reply, error, or timeout. */
class PendingAsk implements Expirable {
  resolve: ((value: unknown) => void) | null
  reject: ((error: Error) => void) | null
  deadline = 0
  queue: DeadlineQueue<unknown> | null = null
  /** Set for asks routed to another system, so a node or shard going down can fail them fast. */
  remoteTarget: ActorAddress | null = null
  /** What the timeout error names; dropped on settle so a waiting husk retains nothing. */
  request: Envelope | null
  readonly timeoutMs: number
  private readonly host: SystemHost
  constructor(host: SystemHost, request: Envelope, timeoutMs: number, resolve: (value: unknown) => void, reject: (error: Error) => void) {
    this.host = host
    this.request = request
    this.timeoutMs = timeoutMs
    this.resolve = resolve
    this.reject = reject
  }
  get settled(): boolean {
    return this.resolve === null
  }
  expire(): void {
    this.host.askExpired(this)
  }
}

/** The user guardian: parent of every top-level actor (`/user`). */
class UserGuardian extends Actor<Record<string, never>> {
  override onChildFailure(child: ActorRef<any>, error: Error): Directive {
    const strategy = guardianStrategyOf(this.context.system)
    if (typeof strategy === 'function') return strategy(child, error)
    if (strategy !== undefined) return strategy
    // A top-level supervisor that gave up is the application failing: nothing above can fix it.
    if (errorCode(error) === ErrorCodes.SupervisorGaveUp) return 'escalate'
    // A start failure would fail again on restart: stop it (Akka's ActorInitializationException rule).
    return error instanceof ActorInitError ? 'stop' : 'restart'
  }
}

const guardianStrategies = new WeakMap<ActorSystem, ActorSystemOptions['guardianStrategy']>()
function guardianStrategyOf(system: ActorSystem): ActorSystemOptions['guardianStrategy'] {
  return guardianStrategies.get(system)
}

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
    guardianStrategies.set(this, options.guardianStrategy)
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
    this.host.remoteTerminated(ref, reason)
  }

  /** Stops every actor, children first, then resolves. Idempotent. */
  terminate(): Promise<void> {
    if (this.terminating === null) {
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

/**
 * The system's internals as cells and refs see them. Kept apart from ActorSystem so the public class
 * stays small and its surface deliberate.
 */
class SystemHost implements CellHost, RefHost {
  readonly system: ActorSystem
  readonly clock: Clock
  readonly systemName: string
  readonly hooks: MailboxHooks | null
  readonly instrumentation: Instrumentation | null
  readonly defaultMailbox: MailboxOptions | undefined
  readonly serializeMessages: boolean
  currentCell: ActorCell | null = null
  router: RemoteRouter | null = null
  deadLetterCount = 0
  liveCells = 0
  private nameCounter = 0
  /** Return address of asks made from plain code to other systems (replies match by correlation id). */
  private tempRefCache: ActorRef<any> | null = null
  private get tempRef(): ActorRef<any> {
    if (this.tempRefCache === null) {
      this.tempRefCache = new ActorRef<any>(this, null, { system: this.systemName, node: this.system.node, shard: this.system.shard, path: '/temp', uid: 0 })
    }
    return this.tempRefCache
  }
  private readonly askDeadlines: AskDeadlines<PendingAsk>
  /** Asks whose reply may arrive from another shard or node, by request id. */
  private readonly remoteAsks = new Map<number, PendingAsk>()

  get remoteAsksInFlight(): number {
    return this.remoteAsks.size
  }

  constructor(system: ActorSystem, options: ActorSystemOptions) {
    this.system = system
    this.clock = system.clock
    this.systemName = system.name
    this.hooks = options.mailboxHooks ?? null
    this.instrumentation = options.instrumentation ?? null
    if (options.mailbox !== undefined) new Mailbox(options.mailbox)
    this.defaultMailbox = options.mailbox
    this.serializeMessages = options.serializeMessages === true
    this.askDeadlines = new AskDeadlines<PendingAsk>(system.clock)
  }

  get public(): ActorSystem {
    return this.system
  }

  scheduleCell(cell: ActorCell): void {
    this.system.scheduler.schedule(cell)
  }

  nextUid(): number {
    this.liveCells++
    return this.system.ids.nextUid()
  }

  nextMessageId(): number {
    return this.system.ids.nextMessageId()
  }

  addressOf(target: ActorRef<any>): ActorAddress {
    const cell = target.cell as ActorCell
    return { system: this.systemName, node: this.system.node, shard: this.system.shard, path: cell.path, uid: cell.uid }
  }

  refForAddress(address: ActorAddress): ActorRef<any> {
    if (address.node === this.system.node && address.shard === this.system.shard && address.system === this.systemName) {
      // Inbound traffic names the same few actors over and over: a hit skips the path walk.
      const cached = this.resolved.get(address.path)
      if (cached !== undefined && cached.uid === address.uid && cached.status !== CellStatus.Stopped) return cached.ref
      const local = this.system.resolvePath(address.path)
      if (local !== undefined && (local.cell as ActorCell).uid === address.uid) {
        // Bounded without bookkeeping on stop: dead entries fail the status check, and a full map starts over.
        if (this.resolved.size >= RESOLVED_CACHE_LIMIT) this.resolved.clear()
        this.resolved.set(address.path, local.cell as ActorCell)
        return local
      }
      // A local address whose actor is gone: a ref with no fast path; messages become dead letters.
    }
    return new ActorRef<any>(this, null, address)
  }

  /** Local cells recently resolved from addresses, by path. */
  private readonly resolved = new Map<string, ActorCell>()

  currentSender(): ActorRef<any> | null {
    const cell = this.currentCell
    return cell === null ? null : cell.ref
  }

  spawnChild(parent: ActorCell, actorClass: ActorClass<Actor<any>, any[]>, options: SpawnOptionsBase & { args?: unknown[] }): ActorRef<any> {
    if (typeof actorClass !== 'function' || !(actorClass.prototype instanceof Actor)) {
      throw new InvalidArgumentError(`spawn() needs a class that extends Actor`)
    }
    // Unnamed actors get a number, shown as `$` + base 36; user names cannot contain `$`, so the two never collide.
    let name: string | number
    if (options.name === undefined) {
      name = this.nameCounter++
    } else {
      name = options.name
      if (!NAME_PATTERN.test(name)) throw new InvalidNameError(`invalid actor name '${name}': use letters, digits and _-.~:@+=`)
      if (parent.hasChildNamed(name)) throw new NameTakenError(`${parent.path} already has a child named '${name}'`, { data: { name } })
    }
    // Validate the mailbox now: it is built lazily, on the first message, where a throw would land in the dispatcher.
    if (options.mailbox !== undefined) new Mailbox(options.mailbox)
    if (options.registerAs !== undefined && this.system.registry.lookup(options.registerAs) !== undefined) {
      throw new NameTakenError(`name '${options.registerAs}' is already registered`, { data: { name: options.registerAs } })
    }
    const cell = new ActorCell(this, parent, name, actorClass, options)
    try {
      cell.init()
    } catch (error) {
      this.liveCells--
      throw error
    }
    parent.adoptChild(cell)
    if (options.registerAs !== undefined) {
      this.system.registry.register(options.registerAs, cell.ref)
      cell.recordRegisteredName(options.registerAs)
    }
    return cell.ref
  }

  // ------------------------------------------------------------------ sending

  sendTell(target: ActorRef<any>, method: string, args: unknown[], headers: Headers | null): void {
    const payload = this.serializeMessages ? this.system.codec.roundTripArgs(args) : args
    const sender = this.currentCell === null ? null : this.currentCell.ref
    const envelope = new Envelope(EnvelopeKind.Tell, target, sender, this.system.ids.nextMessageId(), 0, headers, method, payload)
    if (this.instrumentation !== null && this.instrumentation.onSend !== undefined) this.instrumentation.onSend(envelope)
    const cell = target.cell as ActorCell | null
    if (cell !== null) cell.postUser(envelope)
    else this.routeOut(envelope)
  }

  sendAsk(target: ActorRef<any>, method: string, args: unknown[], options: AskOptions | null): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? this.system.askTimeoutMs
    if (!(timeoutMs > 0)) return Promise.reject(new InvalidArgumentError(`ask timeout must be > 0, got ${timeoutMs}`))
    let payload: unknown[]
    try {
      payload = this.serializeMessages ? this.system.codec.roundTripArgs(args) : args
    } catch (error) {
      return Promise.reject(error)
    }
    const sender = this.currentCell === null ? null : this.currentCell.ref
    const envelope = new Envelope(EnvelopeKind.Ask, target, sender, this.system.ids.nextMessageId(), 0, options?.headers ?? null, method, payload)
    if (this.instrumentation !== null && this.instrumentation.onSend !== undefined) this.instrumentation.onSend(envelope)
    let pending!: PendingAsk
    const promise = new Promise<unknown>((resolve, reject) => {
      pending = new PendingAsk(this, envelope, timeoutMs, resolve, reject)
    })
    envelope.local = pending
    this.askDeadlines.add(pending, timeoutMs)
    const cell = target.cell as ActorCell | null
    try {
      if (cell !== null) cell.postUser(envelope)
      else {
        // A reply needs somewhere to come back to: plain code asks from the system's temp address.
        if (envelope.sender === null) envelope.sender = this.tempRef
        pending.remoteTarget = target.address
        this.remoteAsks.set(envelope.id, pending)
        this.routeOut(envelope)
      }
    } catch (error) {
      this.remoteAsks.delete(envelope.id)
      this.settle(pending, null, error as Error)
    }
    return promise
  }

  sendOffer(target: ActorRef<any>, method: string, args: unknown[]): Promise<void> {
    let payload: unknown[]
    try {
      payload = this.serializeMessages ? this.system.codec.roundTripArgs(args) : args
    } catch (error) {
      return Promise.reject(error)
    }
    const sender = this.currentCell === null ? null : this.currentCell.ref
    const envelope = new Envelope(EnvelopeKind.Tell, target, sender, this.system.ids.nextMessageId(), 0, null, method, payload)
    if (this.instrumentation !== null && this.instrumentation.onSend !== undefined) this.instrumentation.onSend(envelope)
    const cell = target.cell as ActorCell | null
    if (cell !== null) return cell.offerUser(envelope)
    try {
      this.routeOut(envelope)
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Delivers an envelope built elsewhere (poison pill, inbound from a transport). */
  deliver(envelope: Envelope): void {
    const cell = envelope.target.cell as ActorCell | null
    if (cell !== null) cell.postUser(envelope)
    else this.routeOut(envelope)
  }

  deliverInbound(envelope: Envelope): void {
    if (envelope.kind === EnvelopeKind.System) {
      this.handleRemoteSystem(envelope)
      return
    }
    if (envelope.kind === EnvelopeKind.ReplyOk || envelope.kind === EnvelopeKind.ReplyError) {
      const pending = this.remoteAsks.get(envelope.correlationId)
      if (pending === undefined || pending.settled) {
        this.deadLetter(envelope, 'late-reply')
        return
      }
      this.remoteAsks.delete(envelope.correlationId)
      if (envelope.kind === EnvelopeKind.ReplyOk) this.settle(pending, envelope.args[0], null)
      else this.settle(pending, null, envelope.args[0] as Error)
      return
    }
    // The codec resolved the target when it decoded the frame: resolve again only if it found no local actor.
    const local = envelope.target.cell !== null ? envelope.target : this.refForAddress(envelope.target.address)
    envelope.target = local
    const cell = local.cell as ActorCell | null
    if (cell === null) {
      this.deadLetter(envelope, 'unknown')
      if (envelope.kind === EnvelopeKind.Ask) this.replyError(envelope, new UnknownActorError(`no actor at ${local.path}`))
      return
    }
    try {
      cell.postUser(envelope)
    } catch (error) {
      // Rejected by a full mailbox: the remote sender cannot catch a throw, so it gets the error as a reply.
      this.deadLetter(envelope, 'overflow')
      if (envelope.kind === EnvelopeKind.Ask) this.replyError(envelope, error as Error)
    }
  }

  // ------------------------------------------------------------------ remote death watch

  /** Local watchers of remote actors, by the remote actor's formatted address. */
  private readonly remoteWatched = new Map<string, { ref: ActorRef<any>; watchers: Set<ActorCell> }>()
  /** Watches other systems hold on local actors: system key -> local cell -> the callback registered on it. */
  private readonly watchedFor = new Map<string, { node: string; shard: number; cells: Map<ActorCell, (t: Terminated) => void> }>()

  watchRemote(watcher: ActorCell, target: ActorRef<any>): void {
    if (this.router === null) {
      // No transport: nothing can be watched beyond this system, so it is as good as gone.
      watcher.postSystem({ type: 'terminated', terminated: { ref: target, reason: ExitReasons.notFound } })
      return
    }
    const key = formatAddress(target.address)
    let entry = this.remoteWatched.get(key)
    if (entry === undefined) {
      entry = { ref: target, watchers: new Set() }
      this.remoteWatched.set(key, entry)
      // One watch per remote actor and system: the remote side notifies this system, which fans out.
      this.sendSystem(target, watcher.ref, 'watch', [])
    }
    entry.watchers.add(watcher)
  }

  unwatchRemote(watcher: ActorCell, target: ActorRef<any>): void {
    const key = formatAddress(target.address)
    const entry = this.remoteWatched.get(key)
    if (entry === undefined) return
    entry.watchers.delete(watcher)
    if (entry.watchers.size > 0) return
    this.remoteWatched.delete(key)
    if (this.router !== null) this.sendSystem(target, watcher.ref, 'unwatch', [])
  }

  private handleRemoteSystem(envelope: Envelope): void {
    const from = envelope.sender
    if (from === null) return
    switch (envelope.method) {
      case 'watch': {
        const local = this.refForAddress(envelope.target.address)
        const cell = local.cell as ActorCell | null
        if (cell === null || cell.status === CellStatus.Stopped) {
          this.sendSystem(from, envelope.target, 'terminated', encodeExitReason(ExitReasons.notFound))
          return
        }
        const systemKey = systemKeyOf(from.address)
        let watched = this.watchedFor.get(systemKey)
        if (watched === undefined) {
          watched = { node: from.address.node, shard: from.address.shard, cells: new Map() }
          this.watchedFor.set(systemKey, watched)
        }
        const cells = watched.cells
        if (cells.has(cell)) return
        const notify = (terminated: Terminated): void => {
          cells.delete(cell)
          this.sendSystem(from, terminated.ref, 'terminated', encodeExitReason(terminated.reason))
        }
        cells.set(cell, notify)
        cell.addWatcher(notify)
        return
      }
      case 'unwatch': {
        const cell = envelope.target.cell as ActorCell | null
        const cells = this.watchedFor.get(systemKeyOf(from.address))?.cells
        const notify = cell === null ? undefined : cells?.get(cell)
        if (cell === null || cells === undefined || notify === undefined) return
        cells.delete(cell)
        cell.removeWatcher(notify)
        return
      }
      case 'terminated':
        this.remoteTerminated(from, decodeExitReason(envelope.args))
        return
    }
  }

  remoteTerminated(ref: ActorRef<any>, reason: ExitReason): void {
    const key = formatAddress(ref.address)
    const entry = this.remoteWatched.get(key)
    if (entry === undefined) return
    this.remoteWatched.delete(key)
    for (const watcher of entry.watchers) watcher.postSystem({ type: 'terminated', terminated: { ref: entry.ref, reason } })
  }

  /**
   * A node (or one of its shards) is gone: watchers of its actors get Terminated with the reason,
   * asks in flight to it fail fast, and the watches it held here are dropped.
   */
  remoteDown(node: string, shard: number | null, cause?: Error): void {
    const reason = shard === null ? ExitReasons.nodeDown(node) : ExitReasons.shardDown(node, shard)
    const matches = (address: ActorAddress): boolean => address.node === node && (shard === null || address.shard === shard)
    for (const entry of [...this.remoteWatched.values()]) if (matches(entry.ref.address)) this.remoteTerminated(entry.ref, reason)
    for (const [id, pending] of [...this.remoteAsks]) {
      if (pending.remoteTarget === null || !matches(pending.remoteTarget)) continue
      this.remoteAsks.delete(id)
      const where = formatAddress(pending.remoteTarget)
      this.settle(pending, null, cause ?? (shard === null ? new NodeDownError(`node ${node} is down (ask to ${where})`, { data: { node } }) : new ShardDownError(`shard ${shard} of ${node} is down (ask to ${where})`, { data: { node, shard } })))
    }
    for (const [systemKey, watched] of [...this.watchedFor]) {
      if (watched.node !== node || (shard !== null && watched.shard !== shard)) continue
      for (const [cell, notify] of watched.cells) cell.removeWatcher(notify)
      this.watchedFor.delete(systemKey)
    }
  }

  private sendSystem(target: ActorRef<any>, sender: ActorRef<any>, method: 'watch' | 'unwatch' | 'terminated', args: unknown[]): void {
    if (this.router === null) return
    const envelope = new Envelope(EnvelopeKind.System, target, sender, this.system.ids.nextMessageId(), 0, null, method, args)
    try {
      this.router.route(envelope)
    } catch {
      // The route is down; the failure detector turns that into node-down for whoever waits.
    }
  }

  private routeOut(envelope: Envelope): void {
    const router = this.router
    const address = envelope.target.address
    const isLocalAddress = address.shard === this.system.shard && address.node === this.system.node && address.system === this.systemName
    if (router === null || isLocalAddress) {
      const reason: DeadLetterReason = isLocalAddress ? 'stopped' : 'unknown'
      this.deadLetter(envelope, reason)
      if (envelope.kind === EnvelopeKind.Ask) {
        const error = isLocalAddress
          ? new ActorStoppedError(`${address.path} is not running`)
          : new UnknownActorError(`no route to ${envelope.target.toString()}`)
        this.replyError(envelope, error)
      }
      return
    }
    envelope.local = null
    router.route(envelope)
  }

  // ------------------------------------------------------------------ replies

  replyOk(request: Envelope, value: unknown): void {
    this.reply(request, EnvelopeKind.ReplyOk, value)
  }

  replyError(request: Envelope, error: Error): void {
    this.reply(request, EnvelopeKind.ReplyError, error)
  }

  /** A local asker's pending ask settles directly (or the reply is late); a remote one gets an envelope. */
  private reply(request: Envelope, kind: typeof EnvelopeKind.ReplyOk | typeof EnvelopeKind.ReplyError, value: unknown): void {
    const pending = request.local as PendingAsk | null
    if (pending === null) {
      this.replyRemote(request, kind, value)
      return
    }
    if (pending.settled) this.lateReply(request, kind, value)
    else if (kind === EnvelopeKind.ReplyOk) this.settle(pending, value, null)
    else this.settle(pending, null, value as Error)
  }

  private replyRemote(request: Envelope, kind: EnvelopeKind, value: unknown): void {
    const replyTo = request.sender
    if (replyTo === null || this.router === null) {
      this.lateReply(request, kind, value)
      return
    }
    const reply = new Envelope(kind, replyTo, request.target, this.system.ids.nextMessageId(), request.id, request.headers, request.method, [value])
    try {
      this.router.route(reply)
    } catch (error) {
      // The transport refused (full, closed): the reply is lost to the asker, who will time out or
      // hear node-down; it must not escape into the replying actor's dispatcher.
      this.deadLetter(reply, 'undeliverable', error as Error)
    }
  }

  private lateReply(request: Envelope, kind: EnvelopeKind, value: unknown): void {
    const reply = new Envelope(kind, request.sender ?? request.target, request.target, 0, request.id, null, request.method, [value])
    this.deadLetter(reply, 'late-reply')
  }

  private settle(pending: PendingAsk, value: unknown, error: Error | null): void {
    const resolve = pending.resolve
    const reject = pending.reject
    if (resolve === null || reject === null) return
    // Drop the callbacks and the request so a settled ask retains nothing while it waits to leave its deadline queue.
    pending.resolve = null
    pending.reject = null
    const request = pending.request
    if (pending.remoteTarget !== null && request !== null) this.remoteAsks.delete(request.id)
    pending.request = null
    this.askDeadlines.settledEarly(pending)
    const hooks = this.instrumentation
    if (hooks !== null && hooks.onAskSettled !== undefined && request !== null) hooks.onAskSettled(request, error, this.system.clock.now() - (pending.deadline - pending.timeoutMs))
    if (error !== null) reject(error)
    else resolve(value)
  }

  /** The ask's deadline passed before any reply. */
  askExpired(pending: PendingAsk): void {
    const request = pending.request
    if (request === null || pending.settled) return
    this.remoteAsks.delete(request.id)
    // A timer's stack says nothing about the ask; skipping its capture makes mass timeouts cheap.
    const stackLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    const error = new AskTimeoutError(`no reply to '${request.method}' from ${request.target.path} within ${pending.timeoutMs} ms`, {
      data: { method: request.method, timeoutMs: pending.timeoutMs },
    })
    Error.stackTraceLimit = stackLimit
    this.settle(pending, null, error)
  }

  // ------------------------------------------------------------------ bookkeeping

  deadLetter(envelope: Envelope, reason: DeadLetterReason, error?: Error): void {
    this.deadLetterCount++
    const stream = this.system.eventStream
    if (!stream.hasSubscribers(DeadLetterTopic)) return
    stream.publish(DeadLetterTopic, error === undefined ? { envelope, reason } : { envelope, reason, error })
  }

  subscribe<T>(topicToWatch: Topic<T>, listener: (event: T) => void): Subscription {
    return this.system.eventStream.subscribe(topicToWatch, listener)
  }

  unregisterNames(ref: ActorRef<any>, names: readonly string[]): void {
    this.system.registry.removeActor(ref, names)
  }

  lifecycle(cell: ActorCell, event: LifecycleEvent['event'], detail?: Error | ExitReason, method?: string): void {
    const stream = this.system.eventStream
    if (!stream.hasSubscribers(LifecycleTopic)) return
    const base = { ref: cell.ref, actorType: cell.actorType, event }
    if (detail === undefined) stream.publish(LifecycleTopic, base)
    else if (detail instanceof Error) stream.publish(LifecycleTopic, method === undefined ? { ...base, error: detail } : { ...base, error: detail, method })
    else stream.publish(LifecycleTopic, { ...base, reason: detail })
  }

  cellTerminated(cell: ActorCell, reason: ExitReason): void {
    this.liveCells--
    this.lifecycle(cell, 'stopped', reason)
    if (cell.parentCell === null) {
      this.system.beginTerminate()
      this.system.markTerminated(reason.kind === 'failure' ? reason.error : null)
    }
  }

  topLevelFailure(cell: ActorCell, error: Error): void {
    // The guardian itself failed (a top-level actor escalated): nobody above can decide, so the
    // system reports it and terminates with the failure as its reason.
    this.system.publish(SystemFailureTopic, { error, path: cell.path })
    this.system.beginTerminate()
    cell.postSystem({ type: 'stop', reason: ExitReasons.failure(error) })
  }
}

function systemKeyOf(address: ActorAddress): string {
  return `${address.system}@${address.node}:${address.shard}`
}

/** An exit reason as it crosses a boundary: `[kind, error?, node?, shard?]`. */
export function encodeExitReason(reason: ExitReason): unknown[] {
  switch (reason.kind) {
    case 'failure':
      return [reason.kind, encodeError(reason.error)]
    case 'node-down':
      return [reason.kind, null, reason.node]
    case 'shard-down':
      return [reason.kind, null, reason.node, reason.shard]
    default:
      return [reason.kind]
  }
}

export function decodeExitReason(args: readonly unknown[]): ExitReason {
  const [kind, error, node, shard] = args
  switch (kind) {
    case 'normal':
      return ExitReasons.normal
    case 'shutdown':
      return ExitReasons.shutdown
    case 'killed':
      return ExitReasons.killed
    case 'failure':
      return ExitReasons.failure(decodeError(error as EncodedError))
    case 'node-down':
      return ExitReasons.nodeDown(String(node))
    case 'shard-down':
      return ExitReasons.shardDown(String(node), Number(shard))
    default:
      return ExitReasons.notFound
  }
}
