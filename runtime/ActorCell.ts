import { Actor, type ActorClass, type SpawnOptionsBase } from './Actor.ts'
import type { ActorContext } from './ActorContext.ts'
import { ActorRef, type RefHost } from './ActorRef.ts'
import { Children, type ChildNode } from './Children.ts'
import type { Envelope, Headers } from './Envelope.ts'
import { ActorStoppedError, InvalidArgumentError } from './errors.ts'
import type { Subscription, Topic } from './EventStream.ts'
import { ExitReasons, type ExitReason, type Terminated } from './ExitReason.ts'
import type { Mailbox } from './Mailbox.ts'
import type { Runnable } from './Scheduler.ts'
import type { TimerEntry, TimerOwner, Timers } from './Timers.ts'
import type { ActorSystem, MailboxHooks } from './ActorSystem.ts'
import type { Instrumentation } from './Instrumentation.ts'
import type { ActorTypeCounts, HandleHooks, HandlerCounting } from './HandlerCounting.ts'
import type { Logger } from './Logger.ts'
import type { Clock } from './Clock.ts'
import type { DeadLetterReason } from './DeadLetters.ts'
import type { MailboxOptions } from './Mailbox.ts'
import { CellExtras, CellFlag, CellStatus, type SystemMessage, type Watcher } from './cell/CellState.ts'
import { applyDirective, completeRestart, ownChild, pendingWork, restartChild, stopChild } from './cell/ChildSupervision.ts'
import { addWatcher, link, unlink, unwatch, watch } from './cell/DeathWatch.ts'
import { deliverTimer, offerUser, postSystem, postUser, run } from './cell/Dispatch.ts'
import { construct, fail, whenRunning } from './cell/FaultHandling.ts'
import { cancelReceiveTimeout, setReceiveTimeout, timersOf } from './cell/ReceiveTimeout.ts'
import { stash, unstashAll } from './cell/Stash.ts'
import { kill } from './cell/Termination.ts'

export { CellStatus, type SystemMessage } from './cell/CellState.ts'

const EMPTY_OPTIONS: SpawnOptionsBase & { args?: unknown[] } = {}

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
  readonly handleHooks: HandleHooks
  readonly counting: HandlerCounting | null
  countsFor(actorClass: { readonly name: string }): ActorTypeCounts
  inTracedHandler: boolean
  tracedPending: number
  readonly defaultMailbox: MailboxOptions | undefined
  unregisterNames(ref: ActorRef<any>, names: readonly string[]): void
}

/**
 * The runtime side of one actor. One cell per actor incarnation; a restart keeps the cell (and so
 * every ref stays valid) and swaps the instance. The cell is also the actor's local ref and its
 * `context`, which saves two objects per actor.
 *
 * As Akka's ActorCell is composed of `dungeon/Children`, `Dispatch`, `DeathWatch`, `FaultHandling`
 * and `ReceiveTimeout`, this class holds the state and the public surface, and each concern lives in
 * a module of functions over the cell under `cell/` (see docs/runtime.md, "The actor cell"). Fields
 * the concerns share are public but `@internal`: the class is not exported from the layer.
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
  /** @internal CellFlag bits. */
  flags = 0
  mailbox: Mailbox<SystemMessage> | null = null
  /** @internal Rarely used state, allocated on first use (see CellExtras). */
  extras: CellExtras | null = null
  /** @internal The envelope being handled. */
  current: Envelope | null = null
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
    if (this.options.reentrant === true || (actorClass as { reentrant?: unknown }).reentrant === true) this.flags |= CellFlag.REENTRANT
    if (this.options.trapExits === true) this.ext().trapExits = true
  }

  /** @internal */
  ext(): CellExtras {
    if (this.extras === null) this.extras = new CellExtras()
    return this.extras
  }

  /** ChildNode: kept in `flags` to keep the cell small. */
  get linked(): boolean {
    return (this.flags & CellFlag.LINKED) !== 0
  }
  set linked(value: boolean) {
    if (value) this.flags |= CellFlag.LINKED
    else this.flags &= ~CellFlag.LINKED
  }

  /**
   * @internal This actor's children. Kept in the extras: most actors have none, and a field on
   * every cell would cost 8 bytes per actor.
   */
  get childCells(): Children<ActorCell> | null {
    return this.extras === null ? null : this.extras.children
  }

  /** @internal Bumped on restart and stop so that late async completions of an old instance are ignored. */
  get incarnation(): number {
    return this.extras === null ? 0 : this.extras.incarnation
  }

  // ---------------------------------------------------------------- context (public surface)

  /** The actor's ref (the cell itself: a local ref's fast path). */
  get ref(): ActorRef<any> {
    return this
  }
  get name(): string {
    const raw = this.rawName
    return typeof raw === 'string' ? raw : `$${raw.toString(36)}`
  }
  get self(): ActorRef<any> {
    return this
  }
  get system(): ActorSystem {
    return this.host.public
  }
  get clock(): Clock {
    return this.host.clock
  }
  get parent(): ActorRef<any> | null {
    return this.parentCell
  }
  override get path(): string {
    const extras = this.ext()
    if (extras.path === null) extras.path = this.parentCell === null ? `/${this.name}` : `${this.parentCell.path}/${this.name}`
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
    return timersOf(this)
  }
  get children(): readonly ActorRef<any>[] {
    const children = this.childCells
    if (children === null) return []
    const out: ActorRef<any>[] = []
    children.forEach((child) => {
      if (child.status !== CellStatus.Stopped) out.push(child)
    })
    return out
  }
  get isAlive(): boolean {
    return this.status !== CellStatus.Stopped
  }
  get mailboxSize(): number {
    return this.mailbox === null ? 0 : this.mailbox.userSize
  }
  get stashSize(): number {
    const stashed = this.extras?.stash
    return stashed ? stashed.length : 0
  }
  get exitReason(): ExitReason | null {
    return this.extras?.exitReason ?? null
  }

  child(name: string): ActorRef<any> | undefined {
    const cell = this.childCells?.get(name)
    return cell !== undefined && cell.status !== CellStatus.Stopped ? cell : undefined
  }

  spawn(actorClass: any, ...rest: any[]): any {
    if (this.status === CellStatus.Stopping || this.status === CellStatus.Stopped) {
      throw new ActorStoppedError(`${this.path} is stopping and cannot spawn children`)
    }
    return this.host.spawnChild(this, actorClass, rest[0] ?? EMPTY_OPTIONS)
  }

  /** Spawns a child and resolves once its preStart has completed; rejects with its start failure. */
  spawnAndWait(actorClass: any, ...rest: any[]): Promise<ActorRef<any>> {
    const ref = this.spawn(actorClass, ...rest) as ActorRef<any>
    return whenRunning(ref.cell as ActorCell, false).then(() => ref)
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
    watch(this, ref)
  }
  unwatch(ref: ActorRef<any>): void {
    unwatch(this, ref)
  }
  /** Links this actor with `ref` both ways: an abnormal exit of either reaches the other. */
  link(ref: ActorRef<any>): void {
    link(this, ref)
  }
  unlink(ref: ActorRef<any>): void {
    unlink(this, ref)
  }
  /** Erlang's `trap_exit`: linked exits arrive as `onTerminated` instead of failing this actor. */
  trapExits(enabled: boolean): void {
    this.ext().trapExits = enabled
  }

  stash(): void {
    stash(this)
  }
  unstashAll(): void {
    unstashAll(this)
  }

  setReceiveTimeout(timeoutMs: number, method: string, ...args: unknown[]): void {
    setReceiveTimeout(this, timeoutMs, method, args)
  }
  cancelReceiveTimeout(): void {
    cancelReceiveTimeout(this)
  }

  subscribe(topic: Topic<any>, method: string): void {
    const extras = this.ext()
    if (extras.subscriptions === null) extras.subscriptions = new Map()
    extras.subscriptions.get(topic.name)?.unsubscribe()
    const host = this.host
    extras.subscriptions.set(
      topic.name,
      host.subscribe(topic, (event) => host.sendTell(this, method, [event], null)),
    )
  }
  unsubscribe(topic: Topic<any>): void {
    const subscription = this.extras?.subscriptions?.get(topic.name)
    if (subscription === undefined) return
    subscription.unsubscribe()
    this.extras?.subscriptions?.delete(topic.name)
  }

  // ---------------------------------------------------------------- supervising children

  restartChild(ref: ActorRef<any>, cause: Error, options: { hold?: boolean; keepChildren?: boolean } = {}): Promise<void> {
    return restartChild(this, ref, cause, options)
  }
  completeRestart(ref: ActorRef<any>): Promise<void> {
    return completeRestart(this, ref)
  }
  /** Lets a suspended (failed) child carry on with its state as it was. */
  resumeChild(ref: ActorRef<any>): void {
    ownChild(this, ref).postSystem({ type: 'resume' })
  }
  stopChild(ref: ActorRef<any>, shutdown: 'brutal' | 'infinity' | number, reason: ExitReason = ExitReasons.shutdown): Promise<Terminated> {
    return stopChild(this, ref, shutdown, reason)
  }
  /** Kills a child at once (children first, no postStop). */
  killChild(ref: ActorRef<any>): void {
    kill(ownChild(this, ref))
  }
  /** Fails this actor with `error`, as if a handler had thrown it: the parent decides. */
  fail(error: Error): void {
    fail(this, error, null)
  }
  escalateChild(ref: ActorRef<any>, error: Error): void {
    applyDirective(this, ownChild(this, ref), 'escalate', error)
  }

  // ---------------------------------------------------------------- runtime entry points (@internal)

  /** @internal Instantiates the actor and queues its start; called once by the system at spawn. */
  init(): void {
    this.actor = construct(this)
    if (this.actorClass.prototype.preStart === Actor.prototype.preStart) {
      // Nothing to wait for: the actor is running as soon as it exists (the common, cheap case).
      this.status = CellStatus.Running
      this.host.lifecycle(this, 'started')
    } else {
      this.postSystem({ type: 'start' })
    }
  }
  /** @internal Resolves when the actor next reaches Running; rejects if it fails to start or stops. */
  whenRunning(next = false): Promise<void> {
    return whenRunning(this, next)
  }
  /** @internal Queues a user message; applies the overflow policy. Throws MailboxFullError for `reject`. */
  postUser(envelope: Envelope): void {
    postUser(this, envelope)
  }
  /** @internal Backpressure path: waits for room instead of applying the overflow policy. */
  offerUser(envelope: Envelope): Promise<void> {
    return offerUser(this, envelope)
  }
  /** @internal */
  postSystem(message: SystemMessage): void {
    postSystem(this, message)
  }
  /** @internal TimerOwner: a timer of this actor fired. */
  deliverTimer(entry: TimerEntry): void {
    deliverTimer(this, entry)
  }
  /** Runnable: handle up to `budget` user messages (system messages do not count against it). */
  run(budget: number): boolean {
    return run(this, budget)
  }
  /** Immediate stop without finishing the current message or running postStop (children first). */
  kill(): void {
    kill(this)
  }
  /** @internal Applies a supervision directive to a failed child. */
  applyDirective(child: ActorCell, directive: 'resume' | 'restart' | 'stop' | 'escalate', error: Error): void {
    applyDirective(this, child, directive, error)
  }

  /** @internal Used by the system's watch(): a callback instead of a watcher actor. */
  addWatcher(watcher: Watcher): void {
    addWatcher(this, watcher)
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
    const extras = this.ext()
    if (extras.children === null) extras.children = new Children<ActorCell>(this)
    extras.children.add(child)
  }
  /** @internal */
  releaseChild(child: ActorCell): void {
    this.childCells?.remove(child)
  }
  /** @internal Queued user messages plus in-flight handlers in this subtree (for draining on shutdown). */
  pendingWork(): number {
    return pendingWork(this)
  }
  /** Whether a user-given child name is taken (generated `$…` names never collide with them). */
  hasChildNamed(name: string): boolean {
    const children = this.childCells
    return children !== null && children.hasName(name)
  }
  /** @internal */
  recordRegisteredName(name: string): void {
    const extras = this.ext()
    if (extras.registeredNames === null) extras.registeredNames = []
    extras.registeredNames.push(name)
  }
}
