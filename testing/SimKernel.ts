import { EnvelopeKind, InvalidArgumentError, SeededRandom, toError, type Envelope, type ActorInfo, type MailboxHooks, type Runnable } from '../runtime/index.ts'
import { EventQueue, SimEvent } from './EventQueue.ts'
import { SimCrashedError, SimEscapeError, SimInvariantError } from './errors.ts'
import { deriveSeed } from './seeds.ts'
import { describeEvent, formatMs, nameOf, SELF_TRACED } from './simNames.ts'
import type { SimProcess } from './SimProcess.ts'
import type { InvariantCheck, MessageCount } from './SimulationOptions.ts'
import { chooserFor, RandomChooser, RecordingChooser, ReplayChooser, type Chooser } from './Strategy.ts'
import { formatTrace, Trace, TraceKind } from './Trace.ts'
import type { SimulationOptions } from './SimulationOptions.ts'

/**
 * The simulation's state and what its processes, clocks, schedulers and network call: the run
 * queue, the event queue, deferred callbacks, process lifecycle (pause, resume, crash), firing
 * events and running turns, and failure reports. `Simulation` adds the public driver API on top.
 */
export class SimKernel {
  readonly seed: number
  readonly throughput: number
  /** Scheduler choices (which step, turn budgets, continuations); nothing else draws from it. */
  protected readonly rng: SeededRandom
  /** Tie-breaks between events due at the same instant (its own stream, so replay keeps them). */
  protected readonly orderRng: SeededRandom
  /** Null: the inlined seeded-uniform choice. */
  protected readonly chooser: Chooser | null
  protected readonly recorder: RecordingChooser | null
  protected readonly reportEvents: number
  protected readonly trace: Trace
  protected readonly events = new EventQueue()
  protected readonly processes: SimProcess[] = []
  protected readonly invariants: { readonly name: string; readonly check: InvariantCheck }[] = []

  protected time = 0
  protected step = 0
  protected eventSeq = 0
  private resumeOrder = -Number.MAX_SAFE_INTEGER
  /** Run queue: parallel arrays, so queuing a task allocates nothing. */
  protected tasks: (Runnable | undefined)[] = []
  protected owners: (SimProcess | undefined)[] = []
  protected taskCount = 0
  protected deferred: (() => void)[] = []
  private deferredOwners: SimProcess[] = []
  /** Bumped by anything that schedules work; lets a microtask flush see that continuations did something. */
  protected activity = 0
  /** Actors currently awaiting a promise, across processes (from the runtime's await reports). */
  protected awaitingCount = 0
  protected currentTask: Runnable | null = null
  protected lastTask: Runnable | null = null
  protected currentProcess: SimProcess | null = null
  protected inHostTurn = false
  protected failureError: Error | null = null
  /** Tasks allowed to wait forever (a probe holding an ask the test never answers). */
  protected readonly patientTasks = new WeakSet<object>()
  /** Per method, when counting (`countMessages`). */
  protected readonly counts: Map<string, MessageCount> | null
  protected deliveries = 0
  protected turns = 0
  protected eventsFired = 0
  protected zombies = 0

  constructor(options: SimulationOptions, seed: number) {
    this.seed = seed
    this.throughput = positiveInt(options.throughput ?? 8, 'throughput')
    this.reportEvents = options.reportEvents ?? 40
    this.rng = new SeededRandom(deriveSeed(seed, 0))
    this.orderRng = new SeededRandom(deriveSeed(seed, 3))
    this.trace = new Trace(options.traceCapacity ?? 256, describeEvent, options.keepFullTrace === true)
    let chooser = chooserFor(options.strategy ?? 'random', this.rng, this.throughput)
    if (options.replay !== undefined) {
      if (options.replay.seed !== seed) throw new InvalidArgumentError(`a replay runs with its record's seed ${options.replay.seed}, not ${seed}`)
      chooser = new ReplayChooser(options.replay, chooser ?? new RandomChooser(this.rng, this.throughput))
    }
    this.recorder = options.record === true ? new RecordingChooser(chooser ?? new RandomChooser(this.rng, this.throughput), seed) : null
    this.chooser = this.recorder ?? chooser
    this.counts = options.countMessages === true ? new Map() : null
  }

  // ------------------------------------------------------------------ what processes call (internal)

  /** @internal */
  enqueueTask(task: Runnable, process: SimProcess): void {
    this.activity++
    if (this.inHostTurn) this.escapedFromHost(`${process.label}:${nameOf(task)} was woken`)
    if (process.state !== 'running') {
      if (process.state === 'paused') process.heldTasks.push(task)
      else {
        this.zombies++
        this.trace.record(this.step, this.time, TraceKind.Zombie, process.index + 1, process.label, task, 0)
      }
      return
    }
    const n = this.taskCount
    this.tasks[n] = task
    this.owners[n] = process
    this.taskCount = n + 1
  }

  /** @internal */
  deferCallback(callback: () => void, process: SimProcess): void {
    this.activity++
    if (this.inHostTurn) this.escapedFromHost(`${process.label} deferred work`)
    if (process.state === 'crashed') return
    this.deferred.push(callback)
    this.deferredOwners.push(process)
  }

  /**
   * @internal A process's timer due at virtual time `at`. Timers of one process due at the same
   * instant fire in creation order (as on a real event loop); across processes the order is seeded.
   */
  setTimer(process: SimProcess, at: number, callback: () => void): SimEvent {
    this.activity++
    if (this.inHostTurn) this.escapedFromHost(`${process.label} set a timer`)
    const time = at > this.time ? at : this.time
    if (process.state === 'crashed') return new SimEvent(++this.eventSeq, time, 0, noop, process, false, TraceKind.Timer, null)
    return this.scheduleEvent(time, callback, process, false, TraceKind.Timer, process.label, process.timerOrder(time))
  }

  /** @internal Queues an event; the network and failure detectors use it too. */
  scheduleEvent(time: number, fn: () => void, owner: SimProcess | null, background: boolean, kind: number, subject: unknown, order?: number): SimEvent {
    const event = new SimEvent(++this.eventSeq, time, order ?? (this.orderRng.next() * 0x1_0000_0000) >>> 0, fn, owner, background, kind, subject)
    this.events.push(event)
    return event
  }

  /** @internal */
  cancelEvent(event: SimEvent): void {
    this.events.cancel(event)
  }

  /** @internal Records a trace event on behalf of a component (the network). */
  record(kind: TraceKind, process: SimProcess | null, subject: unknown, value: number): void {
    this.trace.record(this.step, this.time, kind, process === null ? 0 : process.index + 1, process === null ? null : process.label, subject, value)
  }

  /** @internal Mixes bytes into the fingerprint (frame contents). */
  mixBytes(bytes: Uint8Array): void {
    this.trace.mixBytes(bytes)
  }

  /** @internal Something outside a step touched the simulation during a host turn. */
  escapedFromHost(what: string): void {
    if (!this.inHostTurn) return
    this.failWith(
      new SimEscapeError(this.report(`${what} while the simulator had handed the event loop to the host: a host timer or real I/O completed during a simulated run`)),
    )
  }

  /** @internal A task whose pending promises are the test's business, not an escape (probes). */
  allowWaiting(task: object): void {
    this.patientTasks.add(task)
  }

  /** @internal The runtime reported that a task started (+1) or stopped (-1) awaiting a promise. */
  noteAwaiting(delta: number): void {
    this.awaitingCount += delta
  }

  /** @internal */
  noteActivity(): void {
    this.activity++
  }

  /** @internal */
  get isHostTurn(): boolean {
    return this.inHostTurn
  }

  // ------------------------------------------------------------------ process lifecycle (internal)

  /** @internal */
  pauseProcess(process: SimProcess): void {
    if (process.state !== 'running') return
    process.state = 'paused'
    this.removeTasksOf(process, process.heldTasks)
    this.record(TraceKind.Fault, process, 'paused', 0)
  }

  /** @internal */
  resumeProcess(process: SimProcess): void {
    if (process.state !== 'paused') return
    process.state = 'running'
    this.record(TraceKind.Fault, process, 'resumed', 0)
    const tasks = process.heldTasks
    const events = process.heldEvents
    const deferred = process.heldDeferred
    process.heldTasks = []
    process.heldEvents = []
    process.heldDeferred = []
    for (const task of tasks) this.enqueueTask(task, process)
    // What waited fires now, in the order it fell due (frames of a FIFO link stay in order).
    for (const event of events) {
      if (event.fn === null) continue
      event.time = this.time
      event.order = this.resumeOrder++
      this.events.push(event)
    }
    for (const callback of deferred) this.deferCallback(callback, process)
  }

  /** @internal */
  crashProcess(process: SimProcess): void {
    if (process.state === 'crashed') return
    process.state = 'crashed'
    this.removeTasksOf(process, null)
    for (const event of this.events.extract((e) => e.owner === process)) event.fn = null
    process.heldTasks = []
    process.heldEvents = []
    process.heldDeferred = []
    for (const count of process.awaiting.values()) this.awaitingCount -= count
    process.awaiting.clear()
    this.record(TraceKind.Fault, process, 'crashed', 0)
    for (const listener of process.crashListeners) listener()
  }

  private removeTasksOf(process: SimProcess, into: Runnable[] | null): void {
    let kept = 0
    for (let i = 0; i < this.taskCount; i++) {
      const task = this.tasks[i] as Runnable
      const owner = this.owners[i] as SimProcess
      if (owner === process) {
        if (into !== null) into.push(task)
        continue
      }
      this.tasks[kept] = task
      this.owners[kept] = owner
      kept++
    }
    for (let i = kept; i < this.taskCount; i++) {
      this.tasks[i] = undefined
      this.owners[i] = undefined
    }
    this.taskCount = kept
  }

  // ------------------------------------------------------------------ steps

  protected runTask(i: number, budget: number): void {
    const tasks = this.tasks
    const owners = this.owners
    const task = tasks[i] as Runnable
    const owner = owners[i] as SimProcess
    const last = --this.taskCount
    tasks[i] = tasks[last]
    owners[i] = owners[last]
    tasks[last] = undefined
    owners[last] = undefined
    this.currentTask = task
    this.lastTask = task
    this.currentProcess = owner
    this.turns++
    this.trace.record(this.step, this.time, TraceKind.Run, owner.index + 1, owner.label, task, budget)
    let more: boolean
    try {
      more = task.run(budget)
    } catch (error) {
      this.currentTask = null
      this.failWith(new SimCrashedError(this.report(`${owner.label}:${nameOf(task)} threw out of its turn: ${toError(error).message}`), { cause: error }))
      return
    }
    this.currentTask = null
    if (more) this.enqueueTask(task, owner)
  }

  protected fire(event: SimEvent): void {
    const owner = event.owner as SimProcess | null
    if (owner !== null && owner.state !== 'running') {
      if (owner.state === 'paused') owner.heldEvents.push(event)
      else event.fn = null
      return
    }
    const fn = event.fn as () => void
    event.fn = null
    this.eventsFired++
    this.currentProcess = owner
    if (event.kind !== SELF_TRACED) this.trace.record(this.step, this.time, event.kind as TraceKind, owner === null ? 0 : owner.index + 1, owner === null ? null : owner.label, event.subject, event.id)
    try {
      fn()
    } catch (error) {
      this.failWith(new SimCrashedError(this.report(`${describeEvent(event.kind as TraceKind, event.subject, event.id)} threw: ${toError(error).message}`), { cause: error }))
    }
  }

  protected runDeferred(): void {
    const queue = this.deferred
    const owners = this.deferredOwners
    // Callbacks may defer more; the loop picks those up too.
    for (let i = 0; i < queue.length; i++) {
      const owner = owners[i] as SimProcess
      const callback = queue[i] as () => void
      if (owner.state === 'crashed') continue
      if (owner.state === 'paused') {
        owner.heldDeferred.push(callback)
        continue
      }
      this.currentProcess = owner
      try {
        callback()
      } catch (error) {
        this.failWith(new SimCrashedError(this.report(`a deferred callback on ${owner.label} threw: ${toError(error).message}`), { cause: error }))
        break
      }
    }
    queue.length = 0
    owners.length = 0
  }

  // ------------------------------------------------------------------ failures

  /** Who is calling right now, for escape reports. */
  protected whoIsRunning(): string {
    const task = this.currentTask
    return task !== null
      ? `${this.currentProcess?.label ?? '?'}:${nameOf(task)}`
      : `a promise continuation${this.lastTask === null ? '' : ` (last actor to run: ${nameOf(this.lastTask)})`}`
  }

  protected checkInvariants(): void {
    for (const invariant of this.invariants) {
      let result: boolean | string | void
      try {
        result = invariant.check()
      } catch (error) {
        this.failWith(new SimInvariantError(this.report(`invariant '${invariant.name}' failed: ${toError(error).message}`), { cause: error, data: this.failureData() }))
        return
      }
      if (result === false || typeof result === 'string') {
        const why = typeof result === 'string' ? `: ${result}` : ''
        this.failWith(new SimInvariantError(this.report(`invariant '${invariant.name}' does not hold${why}`), { data: this.failureData() }))
        return
      }
    }
  }

  /** Paths of actors the runtime reports as awaiting a promise (needs runtime support; see docs). */
  awaitingActors(): string[] {
    const out: string[] = []
    for (const process of this.processes) {
      if (process.state === 'crashed') continue
      for (const task of process.awaiting.keys()) if (!this.patientTasks.has(task)) out.push(`${process.label}:${nameOf(task)}`)
    }
    return out
  }

  /** Who is mid-handler, for reports of a run that did not get where it should. */
  protected awaitingHint(): string {
    const awaiting = this.awaitingActors()
    return awaiting.length === 0 ? '' : ` (still awaiting a promise: ${awaiting.slice(0, 5).join(', ')}${awaiting.length > 5 ? ', ...' : ''})`
  }

  private failureData(): { seed: number; step: number; time: number } {
    return { seed: this.seed, step: this.step, time: this.time }
  }

  /** Marks the simulation failed (first failure wins) and returns the error, for `throw`. */
  protected failWith(error: Error): Error {
    if (this.failureError === null) this.failureError = error
    return this.failureError
  }

  protected throwIfFailed(): void {
    if (this.failureError !== null) throw this.failureError
  }

  /** A headline plus where it happened and how to replay it. */
  protected report(headline: string): string {
    return [
      headline,
      `  seed ${this.seed} (replay: TROUPE_SIM_SEED=${this.seed}), step ${this.step}, virtual time ${formatMs(this.time)}`,
      `  last ${Math.min(this.reportEvents, this.trace.count)} events:`,
      formatTrace(this.trace.last(this.reportEvents)),
    ].join('\n')
  }

  private count(envelope: Envelope): void {
    const method = methodOf(envelope)
    let entry = (this.counts as Map<string, MessageCount>).get(method)
    if (entry === undefined) {
      entry = { handled: 0, remote: 0 }
      ;(this.counts as Map<string, MessageCount>).set(method, entry)
    }
    entry.handled++
    const sender = envelope.sender
    if (sender !== null && sender.address.node !== envelope.target.address.node) entry.remote++
  }

  protected hooksWith(user: MailboxHooks | undefined): MailboxHooks {
    const received = (actor: ActorInfo, depth: number, envelope?: Envelope): void => {
      this.deliveries++
      const process = this.currentProcess
      // The envelope (when the runtime passes it) names the method in reports; the actor otherwise.
      this.trace.record(this.step, this.time, TraceKind.Handle, process === null ? 0 : process.index + 1, process === null ? null : process.label, envelope ?? actor, depth)
      if (this.counts !== null && envelope !== undefined) this.count(envelope)
    }
    if (user === undefined) return { received }
    const userReceived = user.received as ((actor: ActorInfo, depth: number, envelope?: Envelope) => void) | undefined
    return {
      ...user,
      received:
        userReceived === undefined
          ? received
          : (actor: ActorInfo, depth: number, envelope?: Envelope) => {
              received(actor, depth, envelope)
              userReceived.call(user, actor, depth, envelope)
            },
    }
  }
}

function noop(): void {}

/** What a count is filed under: the method, or the kind of a reply or control envelope. */
function methodOf(envelope: Envelope): string {
  switch (envelope.kind) {
    case EnvelopeKind.ReplyOk:
    case EnvelopeKind.ReplyError:
      return '(reply)'
    case EnvelopeKind.Poison:
      return '(stop)'
    default:
      return envelope.method
  }
}

export function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`)
  return value
}
