import { Actor, type ActorClass, type SpawnOptionsBase } from './Actor.ts'
import type { ActorAddress } from './ActorAddress.ts'
import { ActorCell, CellStatus, type CellHost } from './ActorCell.ts'
import { ActorRef, type AskOptions, type RefHost } from './ActorRef.ts'
import { Asks, PendingAsk } from './Asks.ts'
import type { ActorSystem } from './ActorSystem.ts'
import {
  LifecycleTopic,
  NAME_PATTERN,
  SystemFailureTopic,
  type ActorSystemOptions,
  type LifecycleEvent,
  type MailboxHooks,
  type RemoteRouter,
} from './ActorSystemOptions.ts'
import type { Clock } from './Clock.ts'
import { DeadLetterTopic, type DeadLetterReason } from './DeadLetters.ts'
import { Envelope, EnvelopeKind, type Headers } from './Envelope.ts'
import { ActorStoppedError, InvalidArgumentError, InvalidNameError, NameTakenError, NodeDownError, ShardDownError, UnknownActorError } from './errors.ts'
import type { Subscription, Topic } from './EventStream.ts'
import { ExitReasons, type ExitReason } from './ExitReason.ts'
import type { Instrumentation } from './Instrumentation.ts'
import { HandleHooks, type ActorTypeCounts, type HandlerCounting, type SendSampling } from './HandlerCounting.ts'
import { announce, countsFor } from './HostInstrumentation.ts'
import { reply } from './Replies.ts'
import { offersFor } from './HostOffers.ts'
import { Mailbox, type MailboxOptions } from './Mailbox.ts'
import { RemoteOffers } from './RemoteOffers.ts'
import { RemoteWatch, type WatchHost } from './RemoteWatch.ts'

const RESOLVED_CACHE_LIMIT = 10_000

/**
 * The system's internals as cells and refs see them. Kept apart from ActorSystem so the public class
 * stays small and its surface deliberate.
 */
export class SystemHost implements CellHost, RefHost, WatchHost {
  readonly system: ActorSystem
  readonly clock: Clock
  readonly systemName: string
  readonly hooks: MailboxHooks | null
  readonly instrumentation: Instrumentation | null
  /** The instrumentation's `onSend` is called for sends (all of them, or those `sampling` lets through). */
  readonly announcing: boolean
  readonly sampling: SendSampling | null
  /** How the dispatcher brackets handlers with the instrumentation's hooks (see HandleHooks). */
  readonly handleHooks: HandleHooks
  readonly counting: HandlerCounting | null
  /** The counts of the class the dispatcher asked for last (one run of messages is one class). */
  countedClass: object | null = null
  lastCounts: ActorTypeCounts | null = null
  readonly countsByClass = new Map<object, ActorTypeCounts>()
  /** With `sampling`: the synchronous part of a handler of a message with headers is running; its sends are announced. */
  inTracedHandler = false
  /** With `sampling`: async handlers of messages with headers still running; sends from plain code are announced meanwhile. */
  tracedPending = 0
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
  /** Asks in flight: deadlines, and those routed to other systems. */
  readonly asks: Asks
  /** Offers to other systems waiting for the transport's room. */
  readonly offers: RemoteOffers
  /** Death watch across systems. */
  readonly remoteWatch: RemoteWatch

  get remoteAsksInFlight(): number {
    return this.asks.remoteInFlight
  }

  constructor(system: ActorSystem, options: ActorSystemOptions) {
    this.system = system
    this.clock = system.clock
    this.systemName = system.name
    this.hooks = options.mailboxHooks ?? null
    const instrumentation = options.instrumentation ?? null
    this.instrumentation = instrumentation
    this.announcing = instrumentation?.onSend !== undefined
    this.sampling = instrumentation?.sampling ?? null
    this.counting = instrumentation?.counting ?? null
    const brackets = instrumentation !== null && (instrumentation.beforeHandle !== undefined || instrumentation.afterHandle !== undefined || instrumentation.aroundHandle !== undefined)
    this.handleHooks = !brackets ? HandleHooks.None : this.sampling === null ? HandleHooks.All : HandleHooks.WithHeaders
    if (options.mailbox !== undefined) new Mailbox(options.mailbox)
    this.defaultMailbox = options.mailbox
    this.serializeMessages = options.serializeMessages === true
    this.asks = new Asks(system.clock, this.instrumentation)
    this.remoteWatch = new RemoteWatch(this)
    this.offers = offersFor(this, options)
  }

  get public(): ActorSystem {
    return this.system
  }

  /** The dispatcher's counts for an actor class (Instrumentation.counting); called once per run of messages. */
  countsFor(actorClass: { readonly name: string }): ActorTypeCounts {
    return countsFor(this, actorClass)
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
    if (this.announcing) announce(this, envelope)
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
    if (this.announcing) announce(this, envelope)
    let pending!: PendingAsk
    const asks = this.asks
    const promise = new Promise<unknown>((resolve, reject) => {
      pending = new PendingAsk(asks, envelope, timeoutMs, resolve, reject)
    })
    envelope.local = pending
    asks.track(pending, timeoutMs)
    const cell = target.cell as ActorCell | null
    try {
      if (cell !== null) cell.postUser(envelope)
      else {
        // A reply needs somewhere to come back to: plain code asks from the system's temp address.
        if (envelope.sender === null) envelope.sender = this.tempRef
        asks.addRemote(envelope.id, pending, target.address)
        this.routeOut(envelope)
      }
    } catch (error) {
      asks.forgetRemote(envelope.id)
      asks.settle(pending, null, error as Error)
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
    if (this.announcing) announce(this, envelope)
    const cell = target.cell as ActorCell | null
    if (cell !== null) return cell.offerUser(envelope)
    // Another system: wait for the transport's room (credit) as a local offer waits for the mailbox's.
    if (this.router === null || this.isLocalAddress(target.address)) {
      try {
        this.routeOut(envelope)
        return Promise.resolve()
      } catch (error) {
        return Promise.reject(error)
      }
    }
    envelope.local = null
    return this.offers.offer(envelope)
  }

  /** Delivers an envelope built elsewhere (poison pill, inbound from a transport). */
  deliver(envelope: Envelope): void {
    const cell = envelope.target.cell as ActorCell | null
    if (cell !== null) cell.postUser(envelope)
    else this.routeOut(envelope)
  }

  deliverInbound(envelope: Envelope): void {
    if (envelope.kind === EnvelopeKind.System) {
      this.remoteWatch.handle(envelope)
      return
    }
    if (envelope.kind === EnvelopeKind.ReplyOk || envelope.kind === EnvelopeKind.ReplyError) {
      const pending = this.asks.takeRemote(envelope.correlationId)
      if (pending === undefined) {
        this.deadLetter(envelope, 'late-reply')
        return
      }
      if (envelope.kind === EnvelopeKind.ReplyOk) this.asks.settle(pending, envelope.args[0], null)
      else this.asks.settle(pending, null, envelope.args[0] as Error)
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

  // ------------------------------------------------------------------ other systems

  watchRemote(watcher: ActorCell, target: ActorRef<any>): void {
    this.remoteWatch.watch(watcher, target)
  }

  unwatchRemote(watcher: ActorCell, target: ActorRef<any>): void {
    this.remoteWatch.unwatch(watcher, target)
  }

  /**
   * A node (or one of its shards) is gone: watchers of its actors get Terminated with the reason,
   * asks in flight and offers waiting for it fail fast, and the watches it held here are dropped.
   */
  remoteDown(node: string, shard: number | null, cause?: Error): void {
    this.remoteWatch.down(node, shard)
    this.asks.failRemote(node, shard, cause)
    this.offers.fail(node, shard, cause ?? ((n, s) => (shard === null ? new NodeDownError(`node ${n} is down (offer waiting for room)`, { data: { node: n } }) : new ShardDownError(`shard ${s} of ${n} is down (offer waiting for room)`, { data: { node: n, shard: s } }))))
  }

  private isLocalAddress(address: ActorAddress): boolean {
    return address.shard === this.system.shard && address.node === this.system.node && address.system === this.systemName
  }

  private routeOut(envelope: Envelope): void {
    const router = this.router
    const address = envelope.target.address
    const isLocalAddress = this.isLocalAddress(address)
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
    reply(this, request, EnvelopeKind.ReplyOk, value)
  }

  replyError(request: Envelope, error: Error): void {
    reply(this, request, EnvelopeKind.ReplyError, error)
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
