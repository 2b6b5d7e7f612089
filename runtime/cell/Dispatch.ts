import { RESERVED_METHODS, type Actor, type ActorClass } from '../Actor.ts'
import type { ActorCell } from '../ActorCell.ts'
import { Envelope, EnvelopeKind } from '../Envelope.ts'
import { handlerThrew, invokeInstrumented } from '../Instrumentation.ts'
import { HandleHooks, type ActorTypeCounts, type HandlerCounting } from '../HandlerCounting.ts'
import { ExitReasons } from '../ExitReason.ts'
import { ActorStoppedError, MailboxFullError, Rejection, UnknownMethodError, toError } from '../errors.ts'
import { Mailbox, PostResult } from '../Mailbox.ts'
import type { TimerEntry } from '../Timers.ts'
import { CellFlag, CellStatus, isThenable, type SystemMessage } from './CellState.ts'
import { beginAwait, endAwait, fail } from './FaultHandling.ts'
import { handleStop } from './Termination.ts'
import { acceptTimerFiring, noteActivity } from './ReceiveTimeout.ts'
import { hasStash, isStashedAsk, unmarkStashedAsk } from './Stash.ts'
import { systemInvoke } from './SystemInvoke.ts'

/**
 * Dispatch (Akka's `dungeon/Dispatch` plus the cell's `invoke`): posting into the mailbox, waking the
 * cell on the scheduler, and the run loop that hands messages to handlers. This is the hot path:
 * no closure, promise or lookup table per message where a field will do.
 */

type Handler = (...args: unknown[]) => unknown

/**
 * Handlers resolved per actor class: the prototype's method for a name, or null when the name is
 * reserved or the prototype has none (then the instance is asked, for handlers set as fields).
 * Only hits are kept, so the map is bounded by the class's methods: method names arrive from other
 * nodes, and a sender must not be able to grow it with names that do not exist. A one-entry front
 * cache serves the common case of one method sent over and over.
 */
class HandlerCache {
  readonly owner: ActorClass<Actor<any>, any[]>
  private readonly byMethod = new Map<string, Handler | null>()
  lastMethod = ''
  lastHandler: Handler | null = null
  constructor(owner: ActorClass<Actor<any>, any[]>) {
    this.owner = owner
  }
  resolve(method: string): Handler | null {
    let handler = this.byMethod.get(method)
    if (handler === undefined) {
      const found = RESERVED_METHODS.has(method) ? undefined : (this.owner.prototype as Record<string, unknown>)[method]
      handler = typeof found === 'function' ? (found as Handler) : null
      if (handler !== null) this.byMethod.set(method, handler)
    }
    this.lastMethod = method
    this.lastHandler = handler
    return handler
  }
}

const HANDLERS = Symbol('troupe.handlers')

function handlerCacheOf(actorClass: ActorClass<Actor<any>, any[]>): HandlerCache {
  const holder = actorClass as unknown as { [HANDLERS]?: HandlerCache }
  const cache = holder[HANDLERS]
  // A subclass sees its parent's static property: it needs a cache of its own.
  if (cache !== undefined && cache.owner === actorClass) return cache
  const own = new HandlerCache(actorClass)
  Object.defineProperty(actorClass, HANDLERS, { value: own, writable: true, configurable: true })
  return own
}

/** The handler for `method` on this cell's actor, or null when the actor has none it may expose. */
function handlerFor(cell: ActorCell, actor: Actor<any>, method: string): Handler | null {
  // Read from the class, not kept on the cell: a field per actor would cost 8 bytes on every one.
  const cache = handlerCacheOf(cell.actorClass)
  const handler = cache.lastMethod === method ? cache.lastHandler : cache.resolve(method)
  if (handler !== null) return handler
  if (RESERVED_METHODS.has(method)) return null
  // Handlers assigned as instance fields (arrow functions) are not on the prototype.
  const own = (actor as unknown as Record<string, unknown>)[method]
  return typeof own === 'function' ? (own as Handler) : null
}

export function ensureMailbox(cell: ActorCell): Mailbox<SystemMessage> {
  if (cell.mailbox === null) cell.mailbox = new Mailbox<SystemMessage>(cell.options.mailbox ?? cell.host.defaultMailbox)
  return cell.mailbox
}

export function hasRunnableWork(cell: ActorCell): boolean {
  if ((cell.flags & CellFlag.AWAITING) !== 0 || cell.status === CellStatus.Stopped) return false
  const mailbox = cell.mailbox
  if (mailbox === null) return false
  return mailbox.hasSystem || (cell.status === CellStatus.Running && mailbox.hasUser)
}

export function wake(cell: ActorCell): void {
  if ((cell.flags & CellFlag.SCHEDULED) !== 0 || !hasRunnableWork(cell)) return
  cell.flags |= CellFlag.SCHEDULED
  cell.host.scheduleCell(cell)
}

export function notePosted(cell: ActorCell, mailbox: Mailbox<SystemMessage>, count = 1): void {
  const hooks = cell.host.hooks
  if (hooks !== null && hooks.posted !== undefined) for (let i = 0; i < count; i++) hooks.posted(cell, mailbox.userSize)
}

/** Queues a user message; applies the overflow policy. Throws MailboxFullError for `reject`. */
export function postUser(cell: ActorCell, envelope: Envelope): void {
  if (cell.status === CellStatus.Stopped) {
    rejectUndeliverable(cell, envelope)
    return
  }
  const mailbox = cell.mailbox ?? ensureMailbox(cell)
  const result = mailbox.postUser(envelope)
  // Hooks see a message when it enters the queue (an eviction swaps one for another: no change).
  if (result === PostResult.Posted) {
    if (cell.host.hooks !== null) notePosted(cell, mailbox)
  } else overflowed(cell, envelope, result, mailbox)
  if ((cell.flags & CellFlag.SCHEDULED) === 0) wake(cell)
}

/** Backpressure path: waits for room instead of applying the overflow policy. */
export function offerUser(cell: ActorCell, envelope: Envelope): Promise<void> {
  if (cell.status === CellStatus.Stopped) {
    cell.host.deadLetter(envelope, 'stopped')
    return Promise.reject(new ActorStoppedError(`${cell.path} has stopped`))
  }
  const mailbox = ensureMailbox(cell)
  const before = mailbox.userSize
  const promise = mailbox.offer(envelope)
  if (mailbox.userSize > before) notePosted(cell, mailbox)
  wake(cell)
  return promise
}

export function postSystem(cell: ActorCell, message: SystemMessage): void {
  // A stopped actor has nobody left to act on system messages.
  if (cell.status === CellStatus.Stopped) return
  ensureMailbox(cell).postSystem(message)
  wake(cell)
}

/** A timer of this actor fired: its message joins the user queue. */
export function deliverTimer(cell: ActorCell, entry: TimerEntry): void {
  if (cell.status === CellStatus.Stopped) return
  const envelope = new Envelope(EnvelopeKind.Timer, cell, cell, cell.host.nextMessageId(), 0, null, entry.method, entry.args)
  envelope.local = entry
  const mailbox = ensureMailbox(cell)
  const result = mailbox.postUser(envelope)
  // A timer has no sender to tell: a full mailbox turns its firing into a dead letter (reject
  // and drop-newest alike); an evicted oldest message is handled as for any post.
  if (result === PostResult.Rejected) cell.host.deadLetter(envelope, 'overflow')
  else if (result !== PostResult.Posted) dropped(cell, envelope, result, mailbox)
  else notePosted(cell, mailbox)
  wake(cell)
}

/** Runnable: handle up to `budget` user messages (system messages do not count against it). */
export function run(cell: ActorCell, budget: number): boolean {
  const host = cell.host
  const previous = host.currentCell
  host.currentCell = cell
  const mailbox = cell.mailbox as Mailbox<SystemMessage>
  const hooks = host.hooks
  // Instrumentation.counting: this run's messages are one class's, counted on its record's fields.
  const counts = host.counting === null ? null : host.countsFor(cell.actorClass)
  let processed = 0
  try {
    for (;;) {
      if ((cell.flags & CellFlag.AWAITING) !== 0) break
      if (mailbox.hasSystem) {
        systemInvoke(cell, mailbox.takeSystem() as SystemMessage)
        continue
      }
      if (cell.status !== CellStatus.Running || processed >= budget) break
      const envelope = mailbox.takeUser()
      if (envelope === undefined) break
      // Taking a message can admit one waiting in `offer`: that one enters the queue now.
      if (mailbox.admitted > 0) {
        notePosted(cell, mailbox, mailbox.admitted)
        mailbox.admitted = 0
      }
      processed++
      if (hooks !== null && hooks.received !== undefined) hooks.received(cell, mailbox.userSize, envelope)
      invoke(cell, envelope, counts)
    }
  } finally {
    host.currentCell = previous
  }
  if (hasRunnableWork(cell)) return true
  cell.flags &= ~CellFlag.SCHEDULED
  if (hooks !== null && hooks.idle !== undefined && cell.status === CellStatus.Running && !mailbox.hasUser) hooks.idle(cell)
  return false
}

function invoke(cell: ActorCell, envelope: Envelope, counts: ActorTypeCounts | null): void {
  const kind = envelope.kind
  if (kind === EnvelopeKind.Timer) {
    if (!acceptTimerFiring(cell, envelope.local as TimerEntry)) return
  } else if (kind === EnvelopeKind.Poison) {
    handleStop(cell, ExitReasons.normal)
    return
  } else if (cell.extras !== null) noteActivity(cell)
  const actor = cell.actor as Actor<any>
  const method = envelope.method
  const handler = handlerFor(cell, actor, method)
  if (handler === null) {
    cell.host.deadLetter(envelope, 'unknown-method')
    if (kind === EnvelopeKind.Ask) cell.host.replyError(envelope, unknownMethod(cell, method))
    return
  }
  cell.current = envelope
  if (kind === EnvelopeKind.Ask && hasStash(cell)) unmarkStashedAsk(envelope)
  const host = cell.host
  // 1 counted handler in `untilTimed` reads the clock; the others cost a decrement.
  const started = counts !== null && --counts.untilTimed <= 0 ? host.clock.now() : -1
  // The instrumentation's hooks bracket every handler, or (send-site sampling) those of messages
  // with headers: a message without them belongs to no trace.
  const hookMode = host.handleHooks
  const instrumentation = hookMode === HandleHooks.All || (hookMode === HandleHooks.WithHeaders && envelope.headers !== null) ? host.instrumentation : null
  let outerTraced = false
  if (hookMode === HandleHooks.WithHeaders) {
    outerTraced = host.inTracedHandler
    host.inTracedHandler = instrumentation !== null
  }
  let result: unknown
  try {
    result = instrumentation === null ? handler.apply(actor, envelope.args) : invokeInstrumented(instrumentation, envelope, cell, actor, handler)
  } catch (thrown) {
    if (hookMode === HandleHooks.WithHeaders) host.inTracedHandler = outerTraced
    if (instrumentation !== null) handlerThrew(instrumentation, envelope, cell, thrown)
    cell.current = null
    if (counts !== null) counted(cell, counts, started, false)
    if (thrown instanceof Rejection) rejected(cell, thrown, envelope)
    else fail(cell, toError(thrown), envelope)
    return
  }
  if (hookMode === HandleHooks.WithHeaders) host.inTracedHandler = outerTraced
  if (isThenable(result)) {
    const traced = hookMode === HandleHooks.WithHeaders && instrumentation !== null
    if (traced) host.tracedPending++
    awaitHandler(cell, result, envelope, counts, started, traced)
    return
  }
  cell.current = null
  if (counts !== null) {
    counts.ok++
    if (started >= 0) (host.counting as HandlerCounting).timed(counts, host.clock.now() - started)
  }
  if (kind === EnvelopeKind.Ask && !(hasStash(cell) && isStashedAsk(envelope))) cell.host.replyOk(envelope, result)
}

/** A counted handler is over: its outcome, and its duration when it was the timed one. */
function counted(cell: ActorCell, counts: ActorTypeCounts, started: number, ok: boolean): void {
  if (ok) counts.ok++
  else counts.failed++
  const host = cell.host
  if (started >= 0 && host.counting !== null) host.counting.timed(counts, host.clock.now() - started)
}

/** An async handler settled: its counts, and the end of its trace's async part (send-site sampling). */
function settled(cell: ActorCell, counts: ActorTypeCounts | null, started: number, traced: boolean, ok: boolean): void {
  if (traced) cell.host.tracedPending--
  if (counts !== null) counted(cell, counts, started, ok)
}

function awaitHandler(cell: ActorCell, result: PromiseLike<unknown>, envelope: Envelope, counts: ActorTypeCounts | null, started: number, traced: boolean): void {
  const incarnation = cell.incarnation
  if ((cell.flags & CellFlag.REENTRANT) !== 0) {
    cell.current = null
    const scheduler = cell.host.public.scheduler
    if (scheduler.awaitStarted !== undefined) scheduler.awaitStarted(cell)
    result.then(
      (value) => {
        if (scheduler.awaitEnded !== undefined) scheduler.awaitEnded(cell)
        settled(cell, counts, started, traced, true)
        if (envelope.kind === EnvelopeKind.Ask && !isStashedAsk(envelope)) cell.host.replyOk(envelope, value)
      },
      (thrown) => {
        if (scheduler.awaitEnded !== undefined) scheduler.awaitEnded(cell)
        settled(cell, counts, started, traced, false)
        if (thrown instanceof Rejection) rejected(cell, thrown, envelope)
        else if (incarnation === cell.incarnation) fail(cell, toError(thrown), envelope)
        else if (envelope.kind === EnvelopeKind.Ask) cell.host.replyError(envelope, toError(thrown))
      },
    )
    return
  }
  beginAwait(cell)
  result.then(
    (value) => {
      settled(cell, counts, started, traced, true)
      if (incarnation !== cell.incarnation) return
      endAwait(cell)
      cell.current = null
      if (envelope.kind === EnvelopeKind.Ask && !isStashedAsk(envelope)) cell.host.replyOk(envelope, value)
      wake(cell)
    },
    (thrown) => {
      settled(cell, counts, started, traced, false)
      if (incarnation !== cell.incarnation) return
      endAwait(cell)
      cell.current = null
      if (thrown instanceof Rejection) rejected(cell, thrown, envelope)
      else fail(cell, toError(thrown), envelope)
      wake(cell)
    },
  )
}

/** A handler refused a request: the asker gets the rejection; the actor carries on unharmed. */
function rejected(cell: ActorCell, rejection: Rejection, envelope: Envelope): void {
  if (envelope.kind === EnvelopeKind.Ask) {
    if (!isStashedAsk(envelope)) cell.host.replyError(envelope, rejection)
  } else {
    cell.host.deadLetter(envelope, 'rejected', rejection)
  }
}

/** A message that will never be handled: dead letter, and an ask fails fast instead of timing out. */
export function rejectUndeliverable(cell: ActorCell, envelope: Envelope): void {
  cell.host.deadLetter(envelope, 'stopped')
  if (envelope.kind === EnvelopeKind.Ask) cell.host.replyError(envelope, new ActorStoppedError(`${cell.path} stopped before handling '${envelope.method}'`))
}

function overflowed(cell: ActorCell, envelope: Envelope, result: PostResult, mailbox: Mailbox<SystemMessage>): void {
  if (result === PostResult.Rejected) {
    throw new MailboxFullError(`mailbox of ${cell.path} is full (${mailbox.capacity})`, {
      data: { path: cell.path, capacity: mailbox.capacity },
    })
  }
  dropped(cell, envelope, result, mailbox)
}

/** A drop policy removed a message: dead letter, and an ask learns why at once. */
function dropped(cell: ActorCell, envelope: Envelope, result: PostResult, mailbox: Mailbox<SystemMessage>): void {
  const lost = result === PostResult.DroppedNewest ? envelope : (mailbox.evicted as Envelope)
  mailbox.evicted = null
  cell.host.deadLetter(lost, 'overflow')
  if (lost.kind === EnvelopeKind.Ask) {
    cell.host.replyError(lost, new MailboxFullError(`mailbox of ${cell.path} overflowed; message dropped`, { data: { path: cell.path } }))
  }
}

function unknownMethod(cell: ActorCell, method: string): Error {
  return new UnknownMethodError(`${cell.actorType} at ${cell.path} has no handler '${method}'`, {
    data: { method, actorType: cell.actorType },
  })
}
