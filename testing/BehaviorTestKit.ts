import * as runtime from '../runtime/index.ts'
import {
  Envelope,
  EnvelopeKind,
  ExitReasons,
  Timers,
  type Actor,
  type ActorClass,
  type ActorContext,
  type ActorRef,
  type ActorSystem,
  type ExitReason,
  type Headers,
  type MethodArgs,
  type MethodName,
  type ProtocolOf,
  type SpawnOptionsBase,
  type Terminated,
  type Topic,
} from '../runtime/index.ts'
import { ExpectationError } from './errors.ts'
import type { SimProcess } from './SimProcess.ts'
import { Simulation } from './Simulation.ts'
import { InboxRouter, type InboxMessage, type TestInbox } from './TestInbox.ts'

/** Something the actor under test did through its context. */
export type Effect =
  | { readonly type: 'spawned'; readonly name: string; readonly actorClass: ActorClass<Actor<any>, any[]>; readonly child: ActorRef<any>; readonly options: SpawnOptionsBase & { readonly args?: readonly unknown[] } }
  | { readonly type: 'sent'; readonly to: ActorRef<any>; readonly message: InboxMessage }
  | { readonly type: 'stopped'; readonly target: ActorRef<any>; readonly reason: ExitReason | null }
  | { readonly type: 'watched'; readonly target: ActorRef<any> }
  | { readonly type: 'unwatched'; readonly target: ActorRef<any> }
  | { readonly type: 'timer-started'; readonly key: string; readonly delayMs: number; readonly periodic: boolean; readonly method: string; readonly args: readonly unknown[] }
  | { readonly type: 'timer-cancelled'; readonly key: string }
  | { readonly type: 'receive-timeout'; readonly timeoutMs: number | null; readonly method: string | null }
  | { readonly type: 'stashed'; readonly method: string }
  | { readonly type: 'unstashed'; readonly count: number }
  | { readonly type: 'subscribed'; readonly topic: string; readonly method: string }
  | { readonly type: 'unsubscribed'; readonly topic: string }
  | { readonly type: 'failed'; readonly error: Error }
  | { readonly type: 'supervised'; readonly action: 'restart' | 'complete-restart' | 'resume' | 'stop' | 'kill' | 'escalate'; readonly child: ActorRef<any> }
  | { readonly type: 'linked' | 'unlinked'; readonly target: ActorRef<any> }

export type EffectType = Effect['type']

/** Timers that record every start and cancel as an effect; firings land in the self inbox. */
class RecordingTimers<P> extends Timers<P> {
  private readonly record: (effect: Effect) => void
  constructor(owner: ConstructorParameters<typeof Timers<P>>[0], record: (effect: Effect) => void) {
    super(owner)
    this.record = record
  }
  override startSingle<K extends MethodName<P>>(key: string, delayMs: number, method: K, ...args: MethodArgs<P, K>): void {
    this.record({ type: 'timer-started', key, delayMs, periodic: false, method, args })
    super.startSingle(key, delayMs, method, ...args)
  }
  override startPeriodic<K extends MethodName<P>>(key: string, intervalMs: number, method: K, ...args: MethodArgs<P, K>): void {
    this.record({ type: 'timer-started', key, delayMs: intervalMs, periodic: true, method, args })
    super.startPeriodic(key, intervalMs, method, ...args)
  }
  override cancel(key: string): void {
    if (this.isActive(key)) this.record({ type: 'timer-cancelled', key })
    super.cancel(key)
  }
}

interface SelfMessage {
  readonly method: string
  readonly args: unknown[]
  readonly sender: ActorRef<any> | null
  /** Where it came from: a self-tell (also in selfInbox), a timer firing, or the stash. */
  readonly source: 'inbox' | 'timer' | 'stash'
  readonly timer: object | null
}

const KIT_SYSTEM = 'behavior-test'

/**
 * Tests one actor's handler logic synchronously, without a dispatcher (Akka's BehaviorTestKit).
 * The actor gets a recording context: spawning a child, sending, stopping, watching, starting a
 * timer or stashing does nothing but record an Effect (children are not started; what is sent to
 * them lands in their inbox). Handlers are called directly with `run`, and return what they return.
 *
 * ```ts
 * const kit = BehaviorTestKit.create(Cache, { args: [100] })
 * const store = kit.createInbox<StoreProtocol>('store')
 * kit.run('load', 'k1', store.ref)
 * store.expectMessage('fetch', 'k1')
 * kit.expectEffect('timer-started')
 * ```
 *
 * Virtual time only moves with `advance(ms)`; a timer that fires puts its message in `selfInbox`,
 * and `runOne()` handles the next self message (timers, self-tells, unstashed messages).
 */
export class BehaviorTestKit<A extends Actor<any>> {
  readonly instance: A
  /** The actor's own ref (what `context.self` returns). Messages to it land in `selfInbox`. */
  readonly ref: ActorRef<ProtocolOf<A>>
  readonly selfInbox: TestInbox<ProtocolOf<A>>
  /** Resolves once preStart completes (at once for a synchronous one). */
  readonly started: Promise<void>
  private readonly recorded: Effect[] = []
  private readonly router: InboxRouter
  private readonly sim: Simulation
  private readonly context: RecordingContext<ProtocolOf<A>>
  private readonly selfQueue: SelfMessage[] = []

  static create<C extends ActorClass<Actor<any>, any[]>>(
    actorClass: C,
    options: { readonly args?: ConstructorParameters<C>; readonly name?: string; readonly seed?: number } = {},
  ): BehaviorTestKit<InstanceType<C>> {
    return new BehaviorTestKit<InstanceType<C>>(actorClass, options)
  }

  private constructor(actorClass: ActorClass<Actor<any>, any[]>, options: { readonly args?: readonly unknown[]; readonly name?: string; readonly seed?: number }) {
    this.sim = new Simulation(options.seed === undefined ? { ambient: 'allow' } : { seed: options.seed, ambient: 'allow' })
    const record = (effect: Effect): void => {
      this.recorded.push(effect)
    }
    this.router = new InboxRouter(KIT_SYSTEM, (to, message) => record({ type: 'sent', to, message }))
    const name = options.name ?? lowerFirst(actorClass.name)
    const path = `/user/${name}`
    this.selfInbox = this.router.inbox<ProtocolOf<A>>(path)
    this.ref = this.selfInbox.ref
    const timersProcess = this.sim.createProcess('behavior')
    const hidden = this.sim.createProcess('hidden')
    // The hidden system only lends the actor a real `system` (event stream, registry, clock
    // reads); its dispatcher never runs, so nothing there competes with the handlers the test calls.
    hidden.pause()
    const system = this.sim.createSystem({ name: KIT_SYSTEM, process: hidden })
    this.context = new RecordingContext<ProtocolOf<A>>({
      name,
      path,
      self: this.ref,
      parent: this.router.inbox<any>('/user').ref,
      system,
      actorType: actorClass.name,
      router: this.router,
      record,
      timersProcess,
      selfQueue: this.selfQueue,
    })
    this.instance = construct(actorClass, options.args ?? [], this.context as unknown as ActorContext<any>) as A
    this.started = this.runLifecycle(() => this.instance.preStart())
  }

  /** Everything recorded so far, oldest first (not consumed). */
  get effects(): readonly Effect[] {
    return this.recorded
  }

  /** Takes the oldest effect, or undefined. */
  retrieveEffect(): Effect | undefined {
    return this.recorded.shift()
  }

  /** Takes every effect recorded so far. */
  retrieveAllEffects(): Effect[] {
    return this.recorded.splice(0)
  }

  /**
   * Takes the oldest effect and checks its type (and, when given, `match` on it). Effects of type
   * `sent` are skipped unless asked for: look at those through the inboxes.
   */
  expectEffect<T extends EffectType>(type: T, match?: (effect: Extract<Effect, { type: T }>) => boolean): Extract<Effect, { type: T }> {
    const index = this.recorded.findIndex((e) => e.type !== 'sent' || type === 'sent')
    const effect = index < 0 ? undefined : this.recorded.splice(index, 1)[0]
    if (effect === undefined) throw new ExpectationError(`expected a '${type}' effect, got none`)
    if (effect.type !== type) throw new ExpectationError(`expected a '${type}' effect, got '${effect.type}'`, { data: { effect } })
    const typed = effect as Extract<Effect, { type: T }>
    if (match !== undefined && !match(typed)) throw new ExpectationError(`the '${type}' effect does not match`, { data: { effect } })
    return typed
  }

  /** Fails if any effect other than `sent` is left. */
  expectNoEffects(): void {
    const left = this.recorded.filter((e) => e.type !== 'sent')
    if (left.length > 0) throw new ExpectationError(`expected no effects, got ${left.map((e) => e.type).join(', ')}`)
  }

  /** A ref to give the actor; what it sends there is recorded in the returned inbox. */
  createInbox<P = any>(name: string): TestInbox<P> {
    return this.router.inbox<P>(`/user/$inbox/${name}`)
  }

  /** The inbox of a child the actor spawned (messages to it land there). */
  childInbox<P = any>(name: string): TestInbox<P> {
    if (this.context.child(name) === undefined) throw new ExpectationError(`${this.context.path} has no child named '${name}'`)
    return this.router.inbox<P>(`${this.context.path}/${name}`)
  }

  /** Calls handler `method` as a tell (sender: null) and returns what it returns (a promise for an async handler). */
  run<K extends MethodName<ProtocolOf<A>>>(method: K, ...args: MethodArgs<ProtocolOf<A>, K>): unknown {
    return this.invoke(EnvelopeKind.Tell, null, method, args)
  }

  /** Calls handler `method` as an ask and returns its reply value (a promise for an async handler). */
  runAsk<K extends MethodName<ProtocolOf<A>>>(method: K, ...args: MethodArgs<ProtocolOf<A>, K>): unknown {
    return this.invoke(EnvelopeKind.Ask, null, method, args)
  }

  /** Calls handler `method` as a tell from `sender` (so `context.sender` is it, and replies go there). */
  runFrom<K extends MethodName<ProtocolOf<A>>>(sender: ActorRef<any>, method: K, ...args: MethodArgs<ProtocolOf<A>, K>): unknown {
    return this.invoke(EnvelopeKind.Tell, sender, method, args)
  }

  /** Handles the oldest message the actor sent itself (a self-tell, a fired timer, an unstashed message). */
  runOne(): unknown {
    for (;;) {
      const next = this.selfQueue.shift()
      if (next === undefined) throw new ExpectationError(`${this.context.path}: no message for itself to handle`)
      // A cancelled or replaced timer's firing is not handled, as in the runtime.
      if (next.source === 'timer' && !this.context.timers.acceptFiring(next.timer as never)) continue
      if (next.source === 'inbox') this.selfInbox.receiveMessage()
      return this.invoke(EnvelopeKind.Tell, next.sender, next.method, next.args)
    }
  }

  /** Handles self messages until none is left (bounded, so a self-loop cannot hang a test). */
  runAll(max = 10_000): number {
    let handled = 0
    while (this.selfQueue.length > 0 && handled < max) {
      this.runOne()
      handled++
    }
    return handled
  }

  /** Moves virtual time forward; timers that fall due put their messages in the self inbox. */
  advance(ms: number): Promise<void> {
    return this.sim.advance(ms)
  }

  /** Keys of the timers currently running. */
  get activeTimers(): string[] {
    return this.context.timers.activeKeys
  }

  /** False once the actor stopped itself. */
  get isAlive(): boolean {
    return this.context.alive
  }

  /** Runs postStop (as a stop would) and returns when it completes. */
  stop(): Promise<void> {
    this.context.alive = false
    return this.runLifecycle(() => this.instance.postStop())
  }

  private invoke(kind: EnvelopeKind, sender: ActorRef<any> | null, method: string, args: readonly unknown[]): unknown {
    if (!this.context.alive) throw new ExpectationError(`${this.context.path} has stopped`)
    const handler = (this.instance as unknown as Record<string, unknown>)[method]
    if (typeof handler !== 'function' || runtime.RESERVED_METHODS.has(method)) throw new ExpectationError(`${this.context.actorType} has no handler '${method}'`)
    const envelope = new Envelope(kind, this.ref, sender, 0, 0, null, method, [...args])
    const context = this.context
    context.current = envelope
    this.router.currentSender = this.ref
    let result: unknown
    let async = false
    try {
      result = (handler as (...a: unknown[]) => unknown).apply(this.instance, envelope.args)
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        async = true
        // The handler still "holds" its message until it settles, as under the real dispatcher.
        return (result as Promise<unknown>).finally(() => {
          if (context.current === envelope) context.current = null
        })
      }
      return result
    } finally {
      this.router.currentSender = null
      if (!async) context.current = null
    }
  }

  private runLifecycle(hook: () => unknown): Promise<void> {
    this.router.currentSender = this.ref
    try {
      const result = hook()
      return Promise.resolve(result).then(() => undefined)
    } catch (error) {
      return Promise.reject(error)
    } finally {
      this.router.currentSender = null
    }
  }
}

interface ContextParts<P> {
  readonly name: string
  readonly path: string
  readonly self: ActorRef<P>
  readonly parent: ActorRef<any>
  readonly system: ActorSystem
  readonly actorType: string
  readonly router: InboxRouter
  readonly record: (effect: Effect) => void
  readonly timersProcess: SimProcess
  readonly selfQueue: SelfMessage[]
}

/** The fake ActorContext: every action is an Effect; nothing runs behind the test's back. */
class RecordingContext<P> implements ActorContext<P> {
  readonly self: ActorRef<P>
  readonly system: ActorSystem
  readonly parent: ActorRef<any>
  readonly name: string
  readonly path: string
  readonly actorType: string
  readonly timers: Timers<P>
  current: Envelope | null = null
  alive = true
  private readonly parts: ContextParts<P>
  private readonly childRefs = new Map<string, ActorRef<any>>()
  private readonly stashed: Envelope[] = []
  private childCounter = 0

  constructor(parts: ContextParts<P>) {
    this.parts = parts
    this.self = parts.self
    this.system = parts.system
    this.parent = parts.parent
    this.name = parts.name
    this.path = parts.path
    this.actorType = parts.actorType
    const owner = {
      clock: parts.timersProcess.clock,
      deliverTimer: (entry: { key: string; method: string; args: unknown[] }): void => {
        parts.selfQueue.push({ method: entry.method, args: entry.args, sender: parts.self, source: 'timer', timer: entry })
      },
    }
    this.timers = new RecordingTimers<P>(owner as ConstructorParameters<typeof Timers<P>>[0], parts.record)
    // Self-tells are self messages too: watch the self inbox's deliveries.
    const selfInbox = parts.router.inbox<P>(parts.path)
    const deliver = selfInbox.deliver.bind(selfInbox)
    selfInbox.deliver = (message: InboxMessage): void => {
      deliver(message)
      parts.selfQueue.push({ method: message.method, args: [...message.args], sender: message.sender, source: 'inbox', timer: null })
    }
  }

  get sender(): ActorRef<any> | null {
    return this.current === null ? null : this.current.sender
  }

  /** The hidden system's logger bound to this actor, like a real context's. */
  get log(): runtime.Logger {
    return this.system.log.child({ actor: this.path, actorType: this.actorType })
  }
  get headers(): Headers | null {
    return this.current === null ? null : this.current.headers
  }
  get currentEnvelope(): Envelope | null {
    return this.current
  }
  get children(): readonly ActorRef<any>[] {
    return [...this.childRefs.values()]
  }
  get stashSize(): number {
    return this.stashed.length
  }

  child(name: string): ActorRef<any> | undefined {
    return this.childRefs.get(name)
  }

  spawn(actorClass: any, ...rest: any[]): any {
    const options = (rest[0] ?? {}) as SpawnOptionsBase & { args?: unknown[] }
    const name = options.name ?? `$${(this.childCounter++).toString(36)}`
    if (this.childRefs.has(name)) throw new runtime.NameTakenError(`${this.path} already has a child named '${name}'`)
    const child = this.parts.router.inbox<any>(`${this.path}/${name}`).ref
    this.childRefs.set(name, child)
    this.parts.record({ type: 'spawned', name, actorClass, child, options })
    return child
  }

  spawnAndWait(actorClass: any, ...rest: any[]): Promise<any> {
    return Promise.resolve(this.spawn(actorClass, ...rest))
  }

  stop(ref?: ActorRef<any>, reason?: ExitReason): void {
    if (ref === undefined || ref.equals(this.self)) {
      this.alive = false
      this.parts.record({ type: 'stopped', target: this.self, reason: reason ?? null })
      return
    }
    this.removeChild(ref)
    this.parts.record({ type: 'stopped', target: ref, reason: reason ?? null })
  }

  watch(ref: ActorRef<any>): void {
    this.parts.record({ type: 'watched', target: ref })
  }
  unwatch(ref: ActorRef<any>): void {
    this.parts.record({ type: 'unwatched', target: ref })
  }

  stash(): void {
    const current = this.current
    if (current === null) throw new runtime.NotInActorError('stash() is only valid while handling a message')
    this.stashed.push(current)
    this.parts.record({ type: 'stashed', method: current.method })
  }

  unstashAll(): void {
    const stashed = this.stashed.splice(0)
    if (stashed.length === 0) return
    this.parts.selfQueue.unshift(...stashed.map((e): SelfMessage => ({ method: e.method, args: e.args, sender: e.sender, source: 'stash', timer: null })))
    this.parts.record({ type: 'unstashed', count: stashed.length })
  }

  setReceiveTimeout<K extends MethodName<P>>(timeoutMs: number, method: K, ..._args: MethodArgs<P, K>): void {
    this.parts.record({ type: 'receive-timeout', timeoutMs, method: String(method) })
  }
  cancelReceiveTimeout(): void {
    this.parts.record({ type: 'receive-timeout', timeoutMs: null, method: null })
  }

  restartChild(child: ActorRef<any>): Promise<void> {
    this.parts.record({ type: 'supervised', action: 'restart', child })
    return Promise.resolve()
  }
  completeRestart(child: ActorRef<any>): Promise<void> {
    this.parts.record({ type: 'supervised', action: 'complete-restart', child })
    return Promise.resolve()
  }
  resumeChild(child: ActorRef<any>): void {
    this.parts.record({ type: 'supervised', action: 'resume', child })
  }
  stopChild(child: ActorRef<any>, _shutdown: 'brutal' | 'infinity' | number, reason?: ExitReason): Promise<Terminated> {
    this.removeChild(child)
    this.parts.record({ type: 'supervised', action: 'stop', child })
    return Promise.resolve({ ref: child, reason: reason ?? ExitReasons.shutdown })
  }
  killChild(child: ActorRef<any>): void {
    this.removeChild(child)
    this.parts.record({ type: 'supervised', action: 'kill', child })
  }

  fail(error: Error): void {
    this.parts.record({ type: 'failed', error })
  }
  escalateChild(child: ActorRef<any>, error: Error): void {
    this.parts.record({ type: 'supervised', action: 'escalate', child })
    this.parts.record({ type: 'failed', error })
  }
  link(ref: ActorRef<any>): void {
    this.parts.record({ type: 'linked', target: ref })
  }
  unlink(ref: ActorRef<any>): void {
    this.parts.record({ type: 'unlinked', target: ref })
  }
  trapExits(_enabled: boolean): void {}

  subscribe(topic: Topic<any>, method: string): void {
    this.parts.record({ type: 'subscribed', topic: topic.name, method })
  }
  unsubscribe(topic: Topic<any>): void {
    this.parts.record({ type: 'unsubscribed', topic: topic.name })
  }

  private removeChild(ref: ActorRef<any>): void {
    for (const [name, child] of this.childRefs) if (child.equals(ref)) this.childRefs.delete(name)
  }
}

/** Builds the actor with the recording context in place from the first line of its constructor. */
function construct(actorClass: ActorClass<Actor<any>, any[]>, args: readonly unknown[], context: ActorContext<any>): Actor<any> {
  return runtime.withConstructionContext(context, () => new actorClass(...args))
}

function lowerFirst(text: string): string {
  return text.length === 0 ? 'actor' : text[0]?.toLowerCase() + text.slice(1)
}
