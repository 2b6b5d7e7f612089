import { Actor, RESERVED_METHODS, withConstructionContext, type ActorClass, type Directive, type SpawnOptionsBase } from './Actor.ts'
import type { ActorContext } from './ActorContext.ts'
import { formatAddress } from './ActorAddress.ts'
import { ActorRef, type RefHost } from './ActorRef.ts'
import { Children, type ChildNode } from './Children.ts'
import { Deque } from './Deque.ts'
import { Envelope, EnvelopeKind, type Headers } from './Envelope.ts'
import {
  ActorInitError,
  ActorKilledError,
  ActorStoppedError,
  InvalidArgumentError,
  LinkedExitError,
  MailboxFullError,
  Rejection,
  NotInActorError,
  StashFullError,
  UnknownMethodError,
  toError,
} from './errors.ts'
import type { Subscription, Topic } from './EventStream.ts'
import { ExitReasons, isNormalExit, type ExitReason, type Terminated } from './ExitReason.ts'
import { Mailbox, PostResult } from './Mailbox.ts'
import type { Runnable } from './Scheduler.ts'
import { Timers, type TimerEntry, type TimerOwner } from './Timers.ts'
import type { ActorSystem, MailboxHooks } from './ActorSystem.ts'
import type { Instrumentation } from './Instrumentation.ts'
import type { Logger } from './Logger.ts'
import type { Clock, TimerHandle } from './Clock.ts'
import type { DeadLetterReason } from './DeadLetters.ts'
import type { MailboxOptions } from './Mailbox.ts'

/** Cell states. Numbers, not strings: the dispatcher compares them on every message. */
export const CellStatus = {
  /** preStart (or postRestart) has not completed; user messages wait. */
  Starting: 0,
  Running: 1,
  /** Failed; waiting for the parent's directive. User messages wait. */
  Suspended: 2,
  /** Restart in progress: waiting for preRestart and for children to stop. */
  Restarting: 3,
  /** Stop in progress: waiting for children to stop, then postStop. */
  Stopping: 4,
  Stopped: 5,
} as const

const SCHEDULED = 1
const AWAITING = 2
const REENTRANT = 4
const POST_STOP_STARTED = 8
const PRE_RESTART_DONE = 16
const HOLD_RESTART = 32
/** In its parent's list of children (see Children). */
const LINKED = 64
/** The instance ran preRestart (which ran postStop by default): a stop must not run its hooks again. */
const RETIRED = 128

/** Internal system messages; they take the mailbox's system lane. */
export type SystemMessage =
  | { readonly type: 'start' }
  | { readonly type: 'stop'; readonly reason: ExitReason }
  | { readonly type: 'restart'; readonly error: Error; readonly hold: boolean; readonly keepChildren?: boolean }
  | { readonly type: 'complete-restart' }
  | { readonly type: 'linked-exit'; readonly from: ActorRef<any>; readonly reason: ExitReason }
  | { readonly type: 'resume' }
  | { readonly type: 'child-failed'; readonly child: ActorCell; readonly error: Error }
  | { readonly type: 'child-terminated'; readonly child: ActorCell; readonly reason: ExitReason }
  | { readonly type: 'terminated'; readonly terminated: Terminated }

type Watcher = ActorCell | ((terminated: Terminated) => void)

interface ReceiveTimeout {
  readonly timeoutMs: number
  readonly entry: TimerEntry
  lastActivity: number
  armed: TimerHandle | null
}

/** State most actors never use, allocated on first use so an idle actor stays small. */
class CellExtras {
  watchers: Set<Watcher> | null = null
  watching: Set<ActorCell> | null = null
  timers: Timers<any> | null = null
  stash: Deque<Envelope> | null = null
  subscriptions: Map<string, Subscription> | null = null
  registeredNames: string[] | null = null
  receiveTimeout: ReceiveTimeout | null = null
  exitReason: ExitReason | null = null
  restartCause: Error | null = null
  /** Death-watch notifications that arrived while the actor was not running; replayed on (re)start. */
  deferredSystem: SystemMessage[] | null = null
  path: string | null = null
  log: Logger | null = null
  incarnation = 0
  /** Settled when the actor next reaches Running (start or restart), or fails to. */
  startWaiters: Waiter[] | null = null
  /** Settled when a held restart has finished its first phase. */
  preparedWaiters: Waiter[] | null = null
  links: Set<ActorCell> | null = null
  /** Children whose failure this actor escalated; resumed with it. */
  escalated: Set<ActorCell> | null = null
  /** Remote actors this one watches, by formatted address. */
  watchingRemote: Map<string, ActorRef<any>> | null = null
  trapExits = false
  /** A held restart finished its first phase and waits for `complete-restart`. */
  prepared = false
}

interface Waiter {
  resolve: () => void
  reject: (error: Error) => void
}

function settleWaiters(waiters: Waiter[] | null, error: Error | null): void {
  if (waiters === null) return
  for (const waiter of waiters) {
    if (error === null) waiter.resolve()
    else waiter.reject(error)
  }
}

const RECEIVE_TIMEOUT_KEY = '$receive-timeout'
/** Asks whose handler stashed them: their reply waits until they are handled for real. */
const stashedAsks = new WeakSet<Envelope>()
const DEFAULT_STASH_CAPACITY = 1000
const EMPTY_OPTIONS: SpawnOptionsBase & { args?: unknown[] } = {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
}

/** @internal What a cell needs from its system (the ActorSystem implements it). */
export interface CellHost {
  readonly clock: Clock
  readonly public: ActorSystem
  currentCell: ActorCell | null
  scheduleCell(cell: ActorCell): void
  nextUid(): number
  nextMessageId(): number
  spawnChild(parent: ActorCell, actorClass: ActorClass<Actor<any>, any[]>, options: SpawnOptionsBase & { args?: unknown[] }): ActorRef<any>
  sendTell(target: ActorRef<any>, method: string, args: unknown[], headers: Headers | null): void
  replyOk(request: Envelope, value: unknown): void
  replyError(request: Envelope, error: Error): void
  deadLetter(envelope: Envelope, reason: DeadLetterReason, error?: Error): void
  subscribe<T>(topic: Topic<T>, listener: (event: T) => void): Subscription
  cellTerminated(cell: ActorCell, reason: ExitReason): void
  /** Death watch of an actor in another system (shard or node), through the remote router. */
  watchRemote(watcher: ActorCell, target: ActorRef<any>): void
  unwatchRemote(watcher: ActorCell, target: ActorRef<any>): void
  topLevelFailure(cell: ActorCell, error: Error): void
  lifecycle(cell: ActorCell, event: 'started' | 'restarted' | 'stopped' | 'failed', detail?: Error | ExitReason, method?: string): void
  readonly hooks: MailboxHooks | null
  readonly instrumentation: Instrumentation | null
  readonly defaultMailbox: MailboxOptions | undefined
  unregisterNames(ref: ActorRef<any>, names: readonly string[]): void
}

/**
 * The runtime side of one actor: its mailbox, state machine, children and death watch. One cell per
 * actor incarnation; a restart keeps the cell (and so every ref stays valid) and swaps the instance.
 * The cell is also the actor's `context`, which saves an object per actor.
 */
export class ActorCell extends ActorRef<any> implements ActorContext<any>, Runnable, TimerOwner, ChildNode {
  declare readonly host: CellHost & RefHost
  readonly parentCell: ActorCell | null
  /** A user-given name, or the counter a generated name is made from (built only when read). */
  readonly rawName: string | number
  readonly uid: number
  readonly actorClass: ActorClass<Actor<any>, any[]>
  readonly options: SpawnOptionsBase & { args?: unknown[] }
  actor: Actor<any> | null = null
  status: number = CellStatus.Starting
  private flags = 0
  mailbox: Mailbox<SystemMessage> | null = null
  private childCells: Children<ActorCell> | null = null
  private extras: CellExtras | null = null
  private current: Envelope | null = null
  /** Links in the parent's list of children (see Children). */
  prevSibling: ActorCell | null = null
  nextSibling: ActorCell | null = null

  constructor(host: CellHost & RefHost, parent: ActorCell | null, name: string | number, actorClass: ActorClass<Actor<any>, any[]>, options: (SpawnOptionsBase & { args?: unknown[] }) | undefined) {
    // The cell is its own local ref: one object per actor fewer (refs are addresses plus this fast path).
    super(host, null, null)
    ;(this as { cell: object | null }).cell = this
    this.parentCell = parent
    this.rawName = name
    this.uid = host.nextUid()
    this.actorClass = actorClass
    this.options = options ?? EMPTY_OPTIONS
    // Reentrancy is a property of the code, so a class may declare it (`static reentrant = true`).
    if (this.options.reentrant === true || (actorClass as { reentrant?: unknown }).reentrant === true) this.flags |= REENTRANT
    if (this.options.trapExits === true) this.ext().trapExits = true
  }

  /** ChildNode: kept in `flags` to keep the cell small. */
  get linked(): boolean {
    return (this.flags & LINKED) !== 0
  }
  set linked(value: boolean) {
    if (value) this.flags |= LINKED
    else this.flags &= ~LINKED
  }

  /**
   * Bumped on restart and stop so that late async completions of an old instance are ignored.
   * Kept in the extras: only actors that await or restart ever need it.
   */
  private get incarnation(): number {
    return this.extras === null ? 0 : this.extras.incarnation
  }
  private bumpIncarnation(): void {
    this.ext().incarnation++
  }

  /** The actor's ref (the cell itself: a local ref's fast path). */
  get ref(): ActorRef<any> {
    return this
  }

  // ---------------------------------------------------------------- context (public surface)

  get name(): string {
    const raw = this.rawName
    return typeof raw === 'string' ? raw : `$${raw.toString(36)}`
  }

  get self(): ActorRef<any> {
    return this.ref
  }
  get system(): ActorSystem {
    return this.host.public
  }
  get clock(): Clock {
    return this.host.clock
  }
  get parent(): ActorRef<any> | null {
    return this.parentCell === null ? null : this.parentCell.ref
  }
  override get path(): string {
    const extras = this.ext()
    if (extras.path === null) {
      extras.path = this.parentCell === null ? `/${this.name}` : `${this.parentCell.path}/${this.name}`
    }
    return extras.path
  }
  get actorType(): string {
    return this.actorClass.name
  }
  get sender(): ActorRef<any> | null {
    return this.current === null ? null : this.current.sender
  }
  get headers(): Headers | null {
    return this.current === null ? null : this.current.headers
  }
  get currentEnvelope(): Envelope | null {
    return this.current
  }
  get log(): Logger {
    const extras = this.ext()
    if (extras.log === null) extras.log = this.host.public.log.child({ actor: this.path, actorType: this.actorType })
    return extras.log
  }
  get timers(): Timers<any> {
    const extras = this.ext()
    if (extras.timers === null) extras.timers = new Timers<any>(this)
    return extras.timers
  }
  get children(): readonly ActorRef<any>[] {
    if (this.childCells === null) return []
    const out: ActorRef<any>[] = []
    this.childCells.forEach((child) => {
      if (child.status !== CellStatus.Stopped) out.push(child.ref)
    })
    return out
  }
  private get isAwaiting(): boolean {
    return (this.flags & AWAITING) !== 0
  }
  get isAlive(): boolean {
    return this.status !== CellStatus.Stopped
  }
  get mailboxSize(): number {
    return this.mailbox === null ? 0 : this.mailbox.userSize
  }
  get stashSize(): number {
    const stash = this.extras?.stash
    return stash ? stash.length : 0
  }

  child(name: string): ActorRef<any> | undefined {
    const cell = this.childCells?.get(name)
    return cell !== undefined && cell.status !== CellStatus.Stopped ? cell.ref : undefined
  }

  spawn(actorClass: any, ...rest: any[]): any {
    if (this.status === CellStatus.Stopping || this.status === CellStatus.Stopped) {
      throw new ActorStoppedError(`${this.path} is stopping and cannot spawn children`)
    }
    return this.host.spawnChild(this, actorClass, rest[0] ?? EMPTY_OPTIONS)
  }

  stop(ref?: ActorRef<any>, reason?: ExitReason): void {
    if (ref === undefined || ref.cell === this) {
      this.postSystem({ type: 'stop', reason: reason ?? ExitReasons.normal })
      return
    }
    const target = ref.cell as ActorCell | null
    if (target === null || target.parentCell !== this) {
      throw new InvalidArgumentError(`${ref.path} is not a child of ${this.path}; stop it through its parent or the system`)
    }
    target.postSystem({ type: 'stop', reason: reason ?? ExitReasons.shutdown })
  }

  watch(ref: ActorRef<any>): void {
    const target = ref.cell as ActorCell | null
    const extras = this.ext()
    if (target === null) {
      if (extras.watchingRemote === null) extras.watchingRemote = new Map()
      const key = formatAddress(ref.address)
      if (extras.watchingRemote.has(key)) return
      extras.watchingRemote.set(key, ref)
      this.host.watchRemote(this, ref)
      return
    }
    if (target === this) return
    if (extras.watching === null) extras.watching = new Set()
    extras.watching.add(target)
    target.addWatcher(this)
  }

  unwatch(ref: ActorRef<any>): void {
    const target = ref.cell as ActorCell | null
    if (target === null) {
      const key = formatAddress(ref.address)
      if (this.extras?.watchingRemote?.delete(key) === true) this.host.unwatchRemote(this, ref)
      return
    }
    this.extras?.watching?.delete(target)
    target.removeWatcher(this)
  }

  stash(): void {
    const envelope = this.current
    if (envelope === null) throw new NotInActorError('stash() is only valid while handling a message')
    const extras = this.ext()
    if (extras.stash === null) extras.stash = new Deque<Envelope>(8)
    const capacity = this.options.stashCapacity ?? DEFAULT_STASH_CAPACITY
    if (extras.stash.length >= capacity) throw new StashFullError(`stash of ${this.path} is full (${capacity})`, { data: { capacity } })
    extras.stash.push(envelope)
    if (envelope.kind === EnvelopeKind.Ask) stashedAsks.add(envelope)
  }

  unstashAll(): void {
    const stash = this.extras?.stash
    if (!stash || stash.length === 0) return
    const mailbox = this.ensureMailbox()
    const unstashed = stash.drain()
    mailbox.prependUser(unstashed)
    this.notePosted(mailbox, unstashed.length)
    this.wake()
  }

  setReceiveTimeout(timeoutMs: number, method: string, ...args: unknown[]): void {
    if (!(timeoutMs > 0)) throw new InvalidArgumentError(`receive timeout must be > 0, got ${timeoutMs}`)
    this.cancelReceiveTimeout()
    const entry: TimerEntry = { key: RECEIVE_TIMEOUT_KEY, method, args, intervalMs: 0, handle: null }
    const timeout: ReceiveTimeout = { timeoutMs, entry, lastActivity: this.host.clock.now(), armed: null }
    this.ext().receiveTimeout = timeout
    this.armReceiveTimeout(timeout, timeoutMs)
  }

  cancelReceiveTimeout(): void {
    const extras = this.extras
    const timeout = extras?.receiveTimeout
    if (!extras || !timeout) return
    if (timeout.armed !== null) this.host.clock.clearTimer(timeout.armed)
    extras.receiveTimeout = null
  }

  subscribe(topic: Topic<any>, method: string): void {
    const extras = this.ext()
    if (extras.subscriptions === null) extras.subscriptions = new Map()
    extras.subscriptions.get(topic.name)?.unsubscribe()
    const ref = this.ref
    const host = this.host
    extras.subscriptions.set(
      topic.name,
      host.subscribe(topic, (event) => host.sendTell(ref, method, [event], null)),
    )
  }

  unsubscribe(topic: Topic<any>): void {
    const subscription = this.extras?.subscriptions?.get(topic.name)
    if (subscription === undefined) return
    subscription.unsubscribe()
    this.extras?.subscriptions?.delete(topic.name)
  }

  // ---------------------------------------------------------------- supervision and links

  /** Spawns a child and resolves once its preStart has completed; rejects with its start failure. */
  spawnAndWait(actorClass: any, ...rest: any[]): Promise<ActorRef<any>> {
    const ref = this.spawn(actorClass, ...rest) as ActorRef<any>
    const child = ref.cell as ActorCell
    return child.whenRunning().then(() => ref)
  }

  /**
   * Restarts a child in place: the same ref, a fresh instance. With `hold`, stops after the first
   * phase (preRestart, children stopped) until `completeRestart`, so a supervisor can order phases
   * across siblings as OTP does. Resolves when the phase asked for is done.
   */
  restartChild(ref: ActorRef<any>, cause: Error, options: { hold?: boolean; keepChildren?: boolean } = {}): Promise<void> {
    const child = this.ownChild(ref)
    const hold = options.hold === true
    const done = hold ? child.whenPrepared() : child.whenRunning(true)
    child.postSystem({ type: 'restart', error: cause, hold, keepChildren: options.keepChildren === true })
    return done
  }

  /** Second phase of a held restart: builds the new instance; resolves when it runs. */
  completeRestart(ref: ActorRef<any>): Promise<void> {
    const child = this.ownChild(ref)
    const done = child.whenRunning(true)
    child.postSystem({ type: 'complete-restart' })
    return done
  }

  /** Lets a suspended (failed) child carry on with its state as it was. */
  resumeChild(ref: ActorRef<any>): void {
    this.ownChild(ref).postSystem({ type: 'resume' })
  }

  /**
   * Stops a child and resolves when it has stopped. `shutdown`: `brutal` kills at once; a number of
   * ms lets it finish its current message, children and postStop, then kills it; `infinity` waits.
   */
  stopChild(ref: ActorRef<any>, shutdown: 'brutal' | 'infinity' | number, reason: ExitReason = ExitReasons.shutdown): Promise<Terminated> {
    const child = this.ownChild(ref)
    return new Promise<Terminated>((resolve) => {
      let timer: TimerHandle | null = null
      child.addWatcher((terminated) => {
        if (timer !== null) this.host.clock.clearTimer(timer)
        resolve(terminated)
      })
      if (shutdown === 'brutal') {
        child.kill()
        return
      }
      child.postSystem({ type: 'stop', reason })
      if (shutdown !== 'infinity') timer = this.host.clock.setTimer(shutdown, () => child.kill())
    })
  }

  /** Kills a child at once (children first, no postStop). */
  killChild(ref: ActorRef<any>): void {
    this.ownChild(ref).kill()
  }

  /** Fails this actor with `error`, as if a handler had thrown it: the parent decides. */
  fail(error: Error): void {
    this.fail0(error, null)
  }

  escalateChild(ref: ActorRef<any>, error: Error): void {
    this.applyDirective(this.ownChild(ref), 'escalate', error)
  }

  /** Links this actor with `ref` both ways: an abnormal exit of either reaches the other. */
  link(ref: ActorRef<any>): void {
    const other = ref.cell as ActorCell | null
    if (other === null || other === this) return
    if (other.status === CellStatus.Stopped) {
      // Erlang: linking to a process that is gone is an exit signal `noproc`.
      this.postSystem({ type: 'linked-exit', from: ref, reason: ExitReasons.notFound })
      return
    }
    const mine = this.ext()
    if (mine.links === null) mine.links = new Set()
    mine.links.add(other)
    const theirs = other.ext()
    if (theirs.links === null) theirs.links = new Set()
    theirs.links.add(this)
  }

  unlink(ref: ActorRef<any>): void {
    const other = ref.cell as ActorCell | null
    if (other === null) return
    this.extras?.links?.delete(other)
    other.extras?.links?.delete(this)
  }

  /** Erlang's `trap_exit`: linked exits arrive as `onTerminated` instead of failing this actor. */
  trapExits(enabled: boolean): void {
    this.ext().trapExits = enabled
  }

  /** @internal Resolves when the actor next reaches Running; rejects if it fails to start or stops. */
  whenRunning(next = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.status === CellStatus.Stopped) {
        reject(new ActorStoppedError(`${this.path} has stopped`))
        return
      }
      const extras = this.ext()
      if (!next && this.status === CellStatus.Running) {
        resolve()
        return
      }
      if (extras.startWaiters === null) extras.startWaiters = []
      extras.startWaiters.push({ resolve, reject })
    })
  }

  private whenPrepared(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.status === CellStatus.Stopped) {
        reject(new ActorStoppedError(`${this.path} has stopped`))
        return
      }
      const extras = this.ext()
      if (extras.preparedWaiters === null) extras.preparedWaiters = []
      extras.preparedWaiters.push({ resolve, reject })
    })
  }

  private ownChild(ref: ActorRef<any>): ActorCell {
    const child = ref.cell as ActorCell | null
    if (child === null || child.parentCell !== this) {
      throw new InvalidArgumentError(`${ref.path} is not a child of ${this.path}`)
    }
    return child
  }

  // ---------------------------------------------------------------- runtime entry points

  /** @internal Instantiates the actor and queues its start; called once by the system at spawn. */
  init(): void {
    this.actor = this.construct()
    if (this.actorClass.prototype.preStart === Actor.prototype.preStart) {
      // Nothing to wait for: the actor is running as soon as it exists (the common, cheap case).
      this.status = CellStatus.Running
      this.host.lifecycle(this, 'started')
    } else {
      this.postSystem({ type: 'start' })
    }
  }

  /** Queues a user message; applies the overflow policy. Throws MailboxFullError for `reject`. */
  postUser(envelope: Envelope): void {
    if (this.status === CellStatus.Stopped) {
      this.rejectUndeliverable(envelope)
      return
    }
    const mailbox = this.ensureMailbox()
    const result = mailbox.postUser(envelope)
    // Hooks see a message when it enters the queue (an eviction swaps one for another: no change).
    if (result === PostResult.Posted) this.notePosted(mailbox)
    else this.overflowed(envelope, result, mailbox)
    if ((this.flags & SCHEDULED) === 0) this.wake()
  }

  private notePosted(mailbox: Mailbox<SystemMessage>, count = 1): void {
    const hooks = this.host.hooks
    if (hooks !== null && hooks.posted !== undefined) for (let i = 0; i < count; i++) hooks.posted(this, mailbox.userSize)
  }

  /** Backpressure path: waits for room instead of applying the overflow policy. */
  offerUser(envelope: Envelope): Promise<void> {
    if (this.status === CellStatus.Stopped) {
      this.host.deadLetter(envelope, 'stopped')
      return Promise.reject(new ActorStoppedError(`${this.path} has stopped`))
    }
    const mailbox = this.ensureMailbox()
    const before = mailbox.userSize
    const promise = mailbox.offer(envelope)
    if (mailbox.userSize > before) this.notePosted(mailbox)
    this.wake()
    return promise
  }

  postSystem(message: SystemMessage): void {
    // A stopped actor has nobody left to act on system messages.
    if (this.status === CellStatus.Stopped) return
    this.ensureMailbox().postSystem(message)
    this.wake()
  }

  /** @internal TimerOwner: a timer of this actor fired. */
  deliverTimer(entry: TimerEntry): void {
    if (this.status === CellStatus.Stopped) return
    const envelope = new Envelope(EnvelopeKind.Timer, this.ref, this.ref, this.host.nextMessageId(), 0, null, entry.method, entry.args)
    envelope.local = entry
    const mailbox = this.ensureMailbox()
    const result = mailbox.postUser(envelope)
    // A timer has no sender to tell: a full mailbox turns its firing into a dead letter (reject
    // and drop-newest alike); an evicted oldest message is handled as for any post.
    if (result === PostResult.Rejected) this.host.deadLetter(envelope, 'overflow')
    else if (result !== PostResult.Posted) this.dropped(envelope, result, mailbox)
    else this.notePosted(mailbox)
    this.wake()
  }

  /** Runnable: handle up to `budget` user messages (system messages do not count against it). */
  run(budget: number): boolean {
    const host = this.host
    const previous = host.currentCell
    host.currentCell = this
    const mailbox = this.mailbox as Mailbox<SystemMessage>
    const hooks = host.hooks
    let processed = 0
    try {
      for (;;) {
        if ((this.flags & AWAITING) !== 0) break
        if (mailbox.hasSystem) {
          this.handleSystem(mailbox.takeSystem() as SystemMessage)
          continue
        }
        if (this.status !== CellStatus.Running || processed >= budget) break
        const envelope = mailbox.takeUser()
        if (envelope === undefined) break
        // Taking a message can admit one waiting in `offer`: that one enters the queue now.
        if (mailbox.admitted > 0) {
          this.notePosted(mailbox, mailbox.admitted)
          mailbox.admitted = 0
        }
        processed++
        if (hooks !== null && hooks.received !== undefined) hooks.received(this, mailbox.userSize, envelope)
        this.invoke(envelope)
      }
    } finally {
      host.currentCell = previous
    }
    if (this.hasRunnableWork()) return true
    this.flags &= ~SCHEDULED
    if (hooks !== null && hooks.idle !== undefined && this.status === CellStatus.Running && !mailbox.hasUser) hooks.idle(this)
    return false
  }

  /** Immediate stop without finishing the current message or running postStop (children first). */
  kill(): void {
    if (this.status === CellStatus.Stopped) return
    if (this.childCells !== null) for (const child of this.childCells.toArray()) child.kill()
    const current = this.current
    if (current !== null && (this.flags & AWAITING) !== 0 && current.kind === EnvelopeKind.Ask) {
      this.host.replyError(current, new ActorKilledError(`${this.path} was killed while handling '${current.method}'`))
    }
    this.terminate(ExitReasons.killed)
  }

  /** @internal Used by the system's watch(): a callback instead of a watcher actor. */
  addWatcher(watcher: Watcher): void {
    if (this.status === CellStatus.Stopped) {
      this.notifyWatcher(watcher, { ref: this.ref, reason: this.extras?.exitReason ?? ExitReasons.notFound })
      return
    }
    const extras = this.ext()
    if (extras.watchers === null) extras.watchers = new Set()
    extras.watchers.add(watcher)
  }

  /** @internal Whether this cell still has a watcher (the system uses it for remote watchers). */
  hasWatcher(watcher: Watcher): boolean {
    return this.extras?.watchers?.has(watcher) === true
  }

  removeWatcher(watcher: Watcher): void {
    this.extras?.watchers?.delete(watcher)
  }

  /** @internal Registers a child the system just created. */
  adoptChild(child: ActorCell): void {
    if (this.childCells === null) this.childCells = new Children<ActorCell>(this)
    this.childCells.add(child)
  }

  /** @internal */
  releaseChild(child: ActorCell): void {
    this.childCells?.remove(child)
  }

  /** @internal Queued user messages plus in-flight handlers in this subtree (for draining on shutdown). */
  pendingWork(): number {
    // A suspended or restarting actor's queue cannot drain by itself: waiting for it would only stall shutdown.
    const queued = this.status === CellStatus.Running ? this.mailboxSize : 0
    let pending = queued + ((this.flags & AWAITING) !== 0 ? 1 : 0)
    if (this.childCells !== null) this.childCells.forEach((child) => (pending += child.pendingWork()))
    return pending
  }

  /** Whether a user-given child name is taken (generated `$…` names never collide with them). */
  hasChildNamed(name: string): boolean {
    return this.childCells !== null && this.childCells.hasName(name)
  }

  /** @internal */
  recordRegisteredName(name: string): void {
    const extras = this.ext()
    if (extras.registeredNames === null) extras.registeredNames = []
    extras.registeredNames.push(name)
  }

  get exitReason(): ExitReason | null {
    return this.extras?.exitReason ?? null
  }

  // ---------------------------------------------------------------- message handling

  private invoke(envelope: Envelope): void {
    const kind = envelope.kind
    if (kind === EnvelopeKind.Timer) {
      const entry = envelope.local as TimerEntry
      if (entry.key === RECEIVE_TIMEOUT_KEY) {
        if (this.extras?.receiveTimeout?.entry !== entry) return
      } else if (this.extras?.timers?.acceptFiring(entry) !== true) return
    } else if (kind === EnvelopeKind.Poison) {
      this.handleStop(ExitReasons.normal)
      return
    } else {
      const timeout = this.extras?.receiveTimeout
      if (timeout) timeout.lastActivity = this.host.clock.now()
    }
    const actor = this.actor as unknown as Record<string, unknown>
    const method = envelope.method
    const handler = actor[method]
    if (typeof handler !== 'function' || RESERVED_METHODS.has(method)) {
      this.host.deadLetter(envelope, 'unknown-method')
      if (kind === EnvelopeKind.Ask) this.host.replyError(envelope, unknownMethod(this, method))
      return
    }
    this.current = envelope
    if (kind === EnvelopeKind.Ask) stashedAsks.delete(envelope)
    let result: unknown
    try {
      const around = this.host.instrumentation?.aroundHandle
      result =
        around === undefined
          ? (handler as (...args: unknown[]) => unknown).apply(actor, envelope.args)
          : around(envelope, this, () => (handler as (...args: unknown[]) => unknown).apply(actor, envelope.args))
    } catch (thrown) {
      this.current = null
      if (thrown instanceof Rejection) this.rejected(thrown, envelope)
      else this.fail0(toError(thrown), envelope)
      return
    }
    if (isThenable(result)) {
      this.awaitHandler(result, envelope)
      return
    }
    this.current = null
    if (kind === EnvelopeKind.Ask && !stashedAsks.has(envelope)) this.host.replyOk(envelope, result)
  }

  private awaitHandler(result: PromiseLike<unknown>, envelope: Envelope): void {
    const incarnation = this.incarnation
    if ((this.flags & REENTRANT) !== 0) {
      this.current = null
      const scheduler = this.host.public.scheduler
      if (scheduler.awaitStarted !== undefined) scheduler.awaitStarted(this)
      result.then(
        (value) => {
          if (scheduler.awaitEnded !== undefined) scheduler.awaitEnded(this)
          if (envelope.kind === EnvelopeKind.Ask && !stashedAsks.has(envelope)) this.host.replyOk(envelope, value)
        },
        (thrown) => {
          if (scheduler.awaitEnded !== undefined) scheduler.awaitEnded(this)
          if (thrown instanceof Rejection) this.rejected(thrown, envelope)
          else if (incarnation === this.incarnation) this.fail0(toError(thrown), envelope)
          else if (envelope.kind === EnvelopeKind.Ask) this.host.replyError(envelope, toError(thrown))
        },
      )
      return
    }
    this.beginAwait()
    result.then(
      (value) => {
        if (incarnation !== this.incarnation) return
        this.endAwait()
        this.current = null
        if (envelope.kind === EnvelopeKind.Ask && !stashedAsks.has(envelope)) this.host.replyOk(envelope, value)
        this.wake()
      },
      (thrown) => {
        if (incarnation !== this.incarnation) return
        this.endAwait()
        this.current = null
        if (thrown instanceof Rejection) this.rejected(thrown, envelope)
        else this.fail0(toError(thrown), envelope)
        this.wake()
      },
    )
  }

  /** The actor now waits on a promise; the simulator is told so it can tell idle from blocked-outside. */
  private beginAwait(): void {
    this.flags |= AWAITING
    const scheduler = this.host.public.scheduler
    if (scheduler.awaitStarted !== undefined) scheduler.awaitStarted(this)
  }

  private endAwait(): void {
    if ((this.flags & AWAITING) === 0) return
    this.flags &= ~AWAITING
    const scheduler = this.host.public.scheduler
    if (scheduler.awaitEnded !== undefined) scheduler.awaitEnded(this)
  }

  /** A handler refused a request: the asker gets the rejection; the actor carries on unharmed. */
  private rejected(rejection: Rejection, envelope: Envelope): void {
    if (envelope.kind === EnvelopeKind.Ask) {
      if (!stashedAsks.has(envelope)) this.host.replyError(envelope, rejection)
    } else {
      this.host.deadLetter(envelope, 'rejected', rejection)
    }
  }

  /**
   * A handler (or lifecycle hook) failed. The crashing message is not redelivered: it goes to dead
   * letters with the reason, an ask gets the error, and the parent decides what happens next.
   */
  private fail0(error: Error, envelope: Envelope | null): void {
    if (envelope !== null) {
      // The failing message always gets its outcome, whatever state the actor is in by now.
      if (envelope.kind === EnvelopeKind.Ask) this.host.replyError(envelope, error)
      this.host.deadLetter(envelope, 'failed', error)
    }
    const status = this.status
    // Already failed, being replaced, or gone: the parent has (or had) this actor's case in hand;
    // reporting again would charge its restart budget twice.
    if (status === CellStatus.Stopped || status === CellStatus.Suspended || status === CellStatus.Restarting) return
    if (status === CellStatus.Stopping) {
      // A handler still in flight (reentrant) failing does not cut the stop short; a lifecycle hook
      // failing (postStop threw) ends it, with the failure as the exit reason.
      if (envelope !== null) return
      this.host.lifecycle(this, 'failed', error)
      this.terminate(ExitReasons.failure(error))
      return
    }
    if (this.status === CellStatus.Starting && this.extras !== null) {
      const waiters = this.extras.startWaiters
      this.extras.startWaiters = null
      settleWaiters(waiters, error)
    }
    this.status = CellStatus.Suspended
    this.host.lifecycle(this, 'failed', error, envelope === null ? undefined : envelope.method)
    if (this.parentCell === null) this.host.topLevelFailure(this, error)
    else this.parentCell.postSystem({ type: 'child-failed', child: this, error })
  }

  private handleSystem(message: SystemMessage): void {
    switch (message.type) {
      case 'start':
        this.runHook(() => (this.actor as Actor<any>).preStart(), () => this.started(false))
        return
      case 'stop':
        this.handleStop(message.reason)
        return
      case 'restart':
        this.handleRestart(message.error, message.hold, message.keepChildren === true)
        return
      case 'complete-restart':
        if (this.extras?.prepared === true) {
          this.extras.prepared = false
          this.finishRestart()
        }
        return
      case 'linked-exit':
        this.handleLinkedExit(message.from, message.reason)
        return
      case 'resume': {
        if (this.status !== CellStatus.Suspended) return
        this.status = CellStatus.Running
        this.replayDeferred()
        const escalated = this.extras?.escalated
        if (escalated) {
          for (const child of escalated) if (child.status === CellStatus.Suspended) child.postSystem({ type: 'resume' })
          escalated.clear()
        }
        return
      }
      case 'child-failed':
        this.handleChildFailed(message.child, message.error)
        return
      case 'child-terminated':
        this.handleChildTerminated(message.child, message.reason)
        return
      case 'terminated':
        this.handleTerminated(message.terminated)
        return
    }
  }

  private handleChildFailed(child: ActorCell, error: Error): void {
    if (this.childCells === null || !this.childCells.contains(child) || child.status !== CellStatus.Suspended) return
    if (this.status === CellStatus.Stopping || this.status === CellStatus.Restarting) return
    let directive: Directive | void
    let cause = error
    try {
      directive = (this.actor as Actor<any>).onChildFailure(child.ref, error)
    } catch (thrown) {
      directive = 'escalate'
      cause = toError(thrown)
    }
    // No directive: the actor took charge and will restart, resume or stop the child itself.
    if (directive !== undefined) this.applyDirective(child, directive, cause)
  }

  /** @internal Applies a supervision directive to a failed child. */
  applyDirective(child: ActorCell, directive: Directive, error: Error): void {
    switch (directive) {
      case 'resume':
        child.postSystem({ type: 'resume' })
        return
      case 'restart':
        child.postSystem({ type: 'restart', error, hold: false })
        return
      case 'stop':
        child.postSystem({ type: 'stop', reason: ExitReasons.failure(error) })
        return
      case 'escalate': {
        // Remembered so that if our parent resumes us, the child resumes too (Akka: resuming an
        // actor resumes its subordinates); a restart or stop of ours stops it anyway.
        const extras = this.ext()
        if (extras.escalated === null) extras.escalated = new Set()
        extras.escalated.add(child)
        this.fail0(error, null)
        return
      }
    }
  }

  private handleChildTerminated(child: ActorCell, reason: ExitReason): void {
    const removed = this.childCells?.remove(child) === true
    if (this.status === CellStatus.Suspended && !removed) {
      // Held until we run again (resumed: replayed; restarted: the new instance has no use for it).
      this.deferSystem({ type: 'child-terminated', child, reason })
    } else if (this.status === CellStatus.Running) {
      const actor = this.actor as Actor<any>
      try {
        actor.onChildTerminated(child.ref, reason)
      } catch (thrown) {
        this.fail0(toError(thrown), null)
      }
    }
    if (this.childCells !== null && this.childCells.size > 0) return
    if (this.status === CellStatus.Stopping && this.extras?.exitReason && (this.flags & POST_STOP_STARTED) === 0 && !this.isAwaiting) this.finishStop()
    else if (this.status === CellStatus.Restarting && this.extras?.restartCause && (this.flags & PRE_RESTART_DONE) !== 0) this.restartPhaseOneDone()
  }

  private handleLinkedExit(from: ActorRef<any>, reason: ExitReason): void {
    if (this.status === CellStatus.Stopping || this.status === CellStatus.Stopped) return
    if (this.extras?.trapExits === true) {
      this.handleTerminated({ ref: from, reason, linked: true })
      return
    }
    const cause = reason.kind === 'failure' ? reason.error : undefined
    this.fail0(
      new LinkedExitError(`linked actor ${from.path} exited: ${reason.kind}`, cause === undefined ? { data: { reason: reason.kind } } : { cause, data: { reason: reason.kind } }),
      null,
    )
  }

  private handleTerminated(terminated: Terminated): void {
    const target = terminated.ref.cell as ActorCell | null
    const watching = this.extras?.watching
    const remoteKey = target === null && terminated.linked !== true ? formatAddress(terminated.ref.address) : null
    if (terminated.linked !== true) {
      // Unwatched meanwhile: Akka's guarantee is no Terminated after unwatch.
      if (target !== null && (!watching || !watching.delete(target))) return
      if (remoteKey !== null && this.extras?.watchingRemote?.delete(remoteKey) !== true) return
    }
    if (this.status !== CellStatus.Running) {
      // Deliver once the actor runs again (after a restart) rather than to a half-built instance.
      if (this.status === CellStatus.Stopping) return
      if (watching && target !== null) watching.add(target)
      if (remoteKey !== null) this.ext().watchingRemote?.set(remoteKey, terminated.ref)
      this.deferSystem({ type: 'terminated', terminated })
      return
    }
    this.runHook(() => (this.actor as Actor<any>).onTerminated(terminated), null)
  }

  /** Notifications held while the actor was not running go back to its system lane, in order. */
  private replayDeferred(): void {
    const extras = this.extras
    const deferred = extras === null ? null : extras.deferredSystem
    if (extras === null || deferred === null) return
    extras.deferredSystem = null
    for (const message of deferred) this.ensureMailbox().postSystem(message)
  }

  private deferSystem(message: SystemMessage): void {
    const extras = this.ext()
    if (extras.deferredSystem === null) extras.deferredSystem = []
    extras.deferredSystem.push(message)
  }

  private handleStop(reason: ExitReason): void {
    if (this.status === CellStatus.Stopping || this.status === CellStatus.Stopped) return
    const extras = this.ext()
    extras.exitReason = reason
    this.status = CellStatus.Stopping
    this.cancelTimers()
    const actor = this.actor as Actor<any>
    if (actor.onStopping === Actor.prototype.onStopping || (this.flags & RETIRED) !== 0) {
      this.stopChildrenThenFinish()
      return
    }
    // A failing onStopping must not keep the actor alive: the stop goes on regardless.
    this.runHook(
      () => actor.onStopping(),
      () => this.stopChildrenThenFinish(),
      true,
    )
  }

  private stopChildrenThenFinish(): void {
    if (this.stopChildren()) return
    this.finishStop()
  }

  /** Asks every child to stop; true when there are children to wait for. */
  private stopChildren(): boolean {
    const children = this.childCells
    if (children === null || children.size === 0) return false
    for (const child of children.toArray()) {
      if (child.status !== CellStatus.Stopped) child.postSystem({ type: 'stop', reason: ExitReasons.shutdown })
    }
    return true
  }

  private finishStop(): void {
    this.flags |= POST_STOP_STARTED
    const reason = this.extras?.exitReason ?? ExitReasons.normal
    if ((this.flags & RETIRED) !== 0) {
      // The instance already said goodbye in preRestart; its replacement never started.
      this.terminate(reason)
      return
    }
    this.runHook(
      () => (this.actor as Actor<any>).postStop(),
      () => this.terminate(reason),
    )
  }

  private handleRestart(error: Error, hold: boolean, keepChildren: boolean): void {
    if (this.status === CellStatus.Stopping || this.status === CellStatus.Stopped) return
    if (hold) this.flags |= HOLD_RESTART
    else this.flags &= ~HOLD_RESTART
    this.status = CellStatus.Restarting
    this.bumpIncarnation()
    this.endAwait()
    this.current = null
    this.cancelTimers()
    const extras = this.ext()
    extras.restartCause = error
    this.flags &= ~PRE_RESTART_DONE
    const old = this.actor as Actor<any>
    this.flags |= RETIRED
    this.runHook(
      () => old.preRestart(error),
      () => {
        this.flags |= PRE_RESTART_DONE
        // keepChildren (Akka typed `withStopChildren(false)`): the children outlive the instance.
        if (keepChildren || !this.stopChildren()) this.restartPhaseOneDone()
      },
      true,
    )
  }

  private restartPhaseOneDone(): void {
    if ((this.flags & HOLD_RESTART) === 0) {
      this.finishRestart()
      return
    }
    const extras = this.ext()
    extras.prepared = true
    const waiters = extras.preparedWaiters
    extras.preparedWaiters = null
    settleWaiters(waiters, null)
  }

  private finishRestart(): void {
    const error = this.extras?.restartCause as Error
    this.ext().restartCause = null
    let fresh: Actor<any>
    try {
      fresh = this.construct()
    } catch (thrown) {
      this.status = CellStatus.Starting
      this.fail0(thrown instanceof ActorInitError ? thrown : new ActorInitError(`${this.path} failed in its constructor`, { cause: thrown }), null)
      return
    }
    this.actor = fresh
    this.flags &= ~RETIRED
    this.status = CellStatus.Starting
    this.runHook(() => fresh.postRestart(error), () => this.started(true))
  }

  private started(restarted: boolean): void {
    this.status = CellStatus.Running
    this.host.lifecycle(this, restarted ? 'restarted' : 'started')
    if (this.extras !== null && this.extras.startWaiters !== null) {
      const waiters = this.extras.startWaiters
      this.extras.startWaiters = null
      settleWaiters(waiters, null)
    }
    this.replayDeferred()
    if (restarted) this.unstashAll()
  }

  /**
   * Runs a lifecycle hook that may return a promise; `next` continues once it completes. A failure
   * in preStart/postRestart is a start failure; in postStop it ends the stop with that failure; in
   * preRestart it is ignored (the instance is being replaced anyway), as in Akka.
   */
  private runHook(hook: () => unknown, next: (() => void) | null, ignoreFailure = false): void {
    const onError = (thrown: unknown): void => {
      const error = toError(thrown)
      if (ignoreFailure) {
        if (next !== null) next()
        return
      }
      const starting = this.status === CellStatus.Starting
      this.fail0(starting ? new ActorInitError(`${this.path} failed to start: ${error.message}`, { cause: error }) : error, null)
    }
    let result: unknown
    try {
      result = hook()
    } catch (thrown) {
      onError(thrown)
      return
    }
    if (!isThenable(result)) {
      if (next !== null) next()
      return
    }
    const incarnation = this.incarnation
    this.beginAwait()
    result.then(
      () => {
        if (incarnation !== this.incarnation || this.status === CellStatus.Stopped) return
        this.endAwait()
        if (next !== null) next()
        this.wake()
      },
      (thrown) => {
        if (incarnation !== this.incarnation || this.status === CellStatus.Stopped) return
        this.endAwait()
        onError(thrown)
        this.wake()
      },
    )
  }

  /** Final state: everything queued becomes a dead letter, watchers and parent are told. */
  private terminate(reason: ExitReason): void {
    this.status = CellStatus.Stopped
    this.bumpIncarnation()
    this.endAwait()
    this.current = null
    this.cancelTimers()
    const extras = this.ext()
    extras.exitReason = reason
    const mailbox = this.mailbox
    if (mailbox !== null) {
      // Errors capture a stack (microseconds): build one only when someone waits for it.
      if (mailbox.hasWaiters) mailbox.rejectWaiters(new ActorStoppedError(`${this.path} has stopped`))
      const left = mailbox.drainUser()
      for (const envelope of left) this.rejectUndeliverable(envelope)
      const hooks = this.host.hooks
      if (left.length > 0 && hooks !== null && hooks.discarded !== undefined) hooks.discarded(this, left.length)
      mailbox.drainSystem()
    }
    if (extras.stash !== null) for (const envelope of extras.stash.drain()) this.rejectUndeliverable(envelope)
    if (extras.subscriptions !== null) {
      for (const subscription of extras.subscriptions.values()) subscription.unsubscribe()
      extras.subscriptions = null
    }
    if (extras.registeredNames !== null) this.host.unregisterNames(this.ref, extras.registeredNames)
    if (extras.watching !== null) {
      for (const target of extras.watching) target.removeWatcher(this)
      extras.watching = null
    }
    if (extras.watchingRemote !== null) {
      for (const ref of extras.watchingRemote.values()) this.host.unwatchRemote(this, ref)
      extras.watchingRemote = null
    }
    const terminated: Terminated = { ref: this.ref, reason }
    if (extras.watchers !== null) {
      const watchers = extras.watchers
      extras.watchers = null
      for (const watcher of watchers) this.notifyWatcher(watcher, terminated)
    }
    if (extras.links !== null) {
      const links = extras.links
      extras.links = null
      for (const linked of links) {
        linked.extras?.links?.delete(this)
        // As in Erlang a normal exit stays quiet along links; unlike Erlang, so does `shutdown`
        // (supervisors stop children with it, and it must not cascade past their ordering; see
        // docs/supervision.md). `killed` and failures propagate.
        if (!isNormalExit(reason)) linked.postSystem({ type: 'linked-exit', from: this.ref, reason })
      }
    }
    const startWaiters = extras.startWaiters
    const preparedWaiters = extras.preparedWaiters
    if (startWaiters !== null || preparedWaiters !== null) {
      const stopped = new ActorStoppedError(`${this.path} has stopped`)
      extras.startWaiters = null
      extras.preparedWaiters = null
      settleWaiters(startWaiters, reason.kind === 'failure' ? reason.error : stopped)
      settleWaiters(preparedWaiters, stopped)
    }
    extras.deferredSystem = null
    this.host.cellTerminated(this, reason)
    if (this.parentCell !== null) {
      // Free the name at once (a supervisor may start a new incarnation under it before the
      // notification below is handled); the message tells the parent in mailbox order.
      this.parentCell.releaseChild(this)
      this.parentCell.postSystem({ type: 'child-terminated', child: this, reason })
    }
  }

  private notifyWatcher(watcher: Watcher, terminated: Terminated): void {
    if (typeof watcher === 'function') watcher(terminated)
    else watcher.postSystem({ type: 'terminated', terminated })
  }

  /** A message that will never be handled: dead letter, and an ask fails fast instead of timing out. */
  private rejectUndeliverable(envelope: Envelope): void {
    this.host.deadLetter(envelope, 'stopped')
    if (envelope.kind === EnvelopeKind.Ask) this.host.replyError(envelope, new ActorStoppedError(`${this.path} stopped before handling '${envelope.method}'`))
  }

  private overflowed(envelope: Envelope, result: PostResult, mailbox: Mailbox<SystemMessage>): void {
    if (result === PostResult.Rejected) {
      throw new MailboxFullError(`mailbox of ${this.path} is full (${mailbox.capacity})`, {
        data: { path: this.path, capacity: mailbox.capacity },
      })
    }
    this.dropped(envelope, result, mailbox)
  }

  /** A drop policy removed a message: dead letter, and an ask learns why at once. */
  private dropped(envelope: Envelope, result: PostResult, mailbox: Mailbox<SystemMessage>): void {
    const dropped = result === PostResult.DroppedNewest ? envelope : (mailbox.evicted as Envelope)
    mailbox.evicted = null
    this.host.deadLetter(dropped, 'overflow')
    if (dropped.kind === EnvelopeKind.Ask) {
      this.host.replyError(dropped, new MailboxFullError(`mailbox of ${this.path} overflowed; message dropped`, { data: { path: this.path } }))
    }
  }

  private hasRunnableWork(): boolean {
    if ((this.flags & AWAITING) !== 0 || this.status === CellStatus.Stopped) return false
    const mailbox = this.mailbox
    if (mailbox === null) return false
    return mailbox.hasSystem || (this.status === CellStatus.Running && mailbox.hasUser)
  }

  private wake(): void {
    if ((this.flags & SCHEDULED) !== 0 || !this.hasRunnableWork()) return
    this.flags |= SCHEDULED
    this.host.scheduleCell(this)
  }

  private ensureMailbox(): Mailbox<SystemMessage> {
    if (this.mailbox === null) {
      const options = this.options.mailbox ?? this.host.defaultMailbox
      this.mailbox = new Mailbox<SystemMessage>(options)
    }
    return this.mailbox
  }

  private ext(): CellExtras {
    if (this.extras === null) this.extras = new CellExtras()
    return this.extras
  }

  private construct(): Actor<any> {
    const args = this.options.args ?? []
    try {
      return withConstructionContext(this, () => new this.actorClass(...args))
    } catch (thrown) {
      if (thrown instanceof ActorInitError) throw thrown
      throw new ActorInitError(`${this.path}: constructor of ${this.actorClass.name} threw: ${toError(thrown).message}`, { cause: thrown })
    }
  }

  private cancelTimers(): void {
    const extras = this.extras
    if (extras === null) return
    if (extras.timers !== null) extras.timers.cancelAll()
    this.cancelReceiveTimeout()
  }

  private armReceiveTimeout(timeout: ReceiveTimeout, delayMs: number): void {
    timeout.armed = this.host.clock.setTimer(delayMs, () => {
      if (this.extras?.receiveTimeout !== timeout) return
      const idle = this.host.clock.now() - timeout.lastActivity
      if (idle >= timeout.timeoutMs) {
        timeout.lastActivity = this.host.clock.now()
        this.armReceiveTimeout(timeout, timeout.timeoutMs)
        this.deliverTimer(timeout.entry)
      } else {
        this.armReceiveTimeout(timeout, timeout.timeoutMs - idle)
      }
    })
  }
}

function unknownMethod(cell: ActorCell, method: string): Error {
  return new UnknownMethodError(`${cell.actorType} at ${cell.path} has no handler '${method}'`, {
    data: { method, actorType: cell.actorType },
  })
}
