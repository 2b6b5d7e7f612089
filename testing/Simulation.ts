import {
  ActorSystem,
  Envelope,
  InvalidArgumentError,
  SeededRandom,
  toError,
  type ActorInfo,
  type ActorSystemOptions,
  type MailboxHooks,
  type Random,
  type Runnable,
} from '../runtime/index.ts'
import { guardAmbient, hostSetImmediate } from './AmbientGuard.ts'
import { EventQueue, SimEvent } from './EventQueue.ts'
import { SimCrashedError, SimEscapeError, SimFailedError, SimIdleError, SimInvariantError, SimStepLimitError, SimTimeoutError } from './errors.ts'
import { deriveSeed, seedFromEnv } from './seeds.ts'
import { SimProcess } from './SimProcess.ts'
import { formatTrace, Trace, TraceKind, type TraceEvent } from './Trace.ts'

export interface SimulationOptions {
  /** Drives every choice the simulator makes. Default: TROUPE_SIM_SEED, else 1. */
  readonly seed?: number
  /** Most messages an actor handles per turn; each turn takes a seeded number in [1, throughput]. Default 8. */
  readonly throughput?: number
  /**
   * Microtask turns without any new simulated activity after which an instant counts as settled
   * and virtual time may move on. Covers promise chains that far between a settlement and the next
   * message; deeper chains still run, deterministically, at a later instant. Default 8.
   */
  readonly microtaskDepth?: number
  /**
   * Probability, after a step while some actor awaits a promise, that promise continuations run
   * before the next step (rather than when the instant settles). Higher explores more orders of
   * async handlers against other actors; 0 runs continuations only once an instant is quiet.
   * Default 0.5. (Needs a runtime that reports async waits to its scheduler.)
   */
  readonly asyncInterleaving?: number
  /** Events kept for failure reports and `lastEvents()`. Default 256. */
  readonly traceCapacity?: number
  /** Events printed in a failure report. Default 40. */
  readonly reportEvents?: number
  /** Keep every event (rendered) in `fullTrace`, to diff two runs. Slow; for debugging. Default false. */
  readonly keepFullTrace?: boolean
  /**
   * `error` (default): an actor calling setTimeout/setInterval/setImmediate/fetch/Date.now/
   * performance.now/Math.random/crypto random during a run fails it with ERR_SIM_ESCAPE.
   * `allow`: do not watch (you accept the nondeterminism).
   */
  readonly ambient?: 'error' | 'allow'
  /** Most steps one driver call may take (a livelock at one instant never lets time move). Default 50 000 000. */
  readonly maxStepsPerCall?: number
  /** Steps between turns handed back to the host event loop (a power of two). Default 65 536. */
  readonly hostYieldEvery?: number
}

/** What `createSystem` takes: system options minus what the simulation supplies. */
export type SimSystemOptions = Omit<ActorSystemOptions, 'clock' | 'random' | 'ids' | 'scheduler'> & {
  /** The process the system runs on. Default: a new process labelled with the node (or system) name. */
  readonly process?: SimProcess
}

/** An invariant: returns nothing/true when it holds; false, a message, or a throw when it does not. */
export type InvariantCheck = () => boolean | string | void

export interface SimulationStats {
  /** Scheduler decisions: actor turns plus events fired. */
  readonly steps: number
  /** Messages handed to actors. */
  readonly deliveries: number
  readonly turns: number
  readonly eventsFired: number
  /** Tasks scheduled on crashed processes, discarded. */
  readonly zombies: number
}

const Burst = { Quiet: 0, Stopped: 1, Yield: 2, Failed: 3, Continue: 4 } as const
const Mode = { Advance: 0, Until: 1, Idle: 2 } as const
type Mode = (typeof Mode)[keyof typeof Mode]

/** Events that write their own trace entry (the network's, which know more than the queue does). */
export const SELF_TRACED = 255

/** Orders control events before every other event of their instant (orders are otherwise >= 0). */
const CONTROL_ORDER = -Number.MAX_SAFE_INTEGER
const DEFAULT_UNTIL_MS = 60_000
const DEFAULT_IDLE_MS = 3_600_000

/**
 * A deterministic simulation: virtual time, a seeded choice of which runnable actor goes next (across
 * every process), seeded tie-breaks between events due at the same instant, and a trace of every
 * step with a stable hash. The same seed gives the same run, step for step, in any process.
 *
 * Actor systems run on it unchanged: it supplies their clock, random source, ids and scheduler
 * (`createSystem`). Drive it with `advance`, `runUntil` and `runUntilIdle`; between calls nothing
 * runs, so a test can inspect and poke the world at a fixed instant.
 */
export class Simulation {
  readonly seed: number
  readonly throughput: number
  /** A seeded source for scenario code (choosing keys, picking nodes); independent of the scheduler's. */
  readonly random: Random
  private readonly rng: SeededRandom
  private readonly microtaskDepth: number
  private readonly asyncInterleaving: number
  /** Actors currently awaiting a promise, across processes (from the runtime's await reports). */
  private awaitingCount = 0
  private readonly reportEvents: number
  private readonly ambient: 'error' | 'allow'
  private readonly maxStepsPerCall: number
  private readonly hostYieldMask: number
  private readonly trace: Trace
  private readonly events = new EventQueue()
  private readonly processes: SimProcess[] = []
  private readonly invariants: { readonly name: string; readonly check: InvariantCheck }[] = []

  private time = 0
  private step = 0
  private eventSeq = 0
  private resumeOrder = -Number.MAX_SAFE_INTEGER
  /** Run queue: parallel arrays, so queuing a task allocates nothing. */
  private tasks: (Runnable | undefined)[] = []
  private owners: (SimProcess | undefined)[] = []
  private taskCount = 0
  private deferred: (() => void)[] = []
  private deferredOwners: SimProcess[] = []
  /** Bumped by anything that schedules work; lets a microtask flush see that continuations did something. */
  private activity = 0
  private currentTask: Runnable | null = null
  private lastTask: Runnable | null = null
  private currentProcess: SimProcess | null = null
  private driving = false
  private inHostTurn = false
  private releaseGuard: (() => void) | null = null
  private failureError: Error | null = null
  /** Tasks allowed to wait forever (a probe holding an ask the test never answers). */
  private readonly patientTasks = new WeakSet<object>()
  private deliveries = 0
  private turns = 0
  private eventsFired = 0
  private zombies = 0

  constructor(options: SimulationOptions = {}) {
    const seed = options.seed ?? seedFromEnv() ?? 1
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new InvalidArgumentError(`seed must be an integer in [0, 2^32), got ${seed}`)
    this.seed = seed
    this.throughput = positiveInt(options.throughput ?? 8, 'throughput')
    this.microtaskDepth = Math.max(0, Math.floor(options.microtaskDepth ?? 8))
    this.asyncInterleaving = options.asyncInterleaving ?? 0.5
    if (!(this.asyncInterleaving >= 0 && this.asyncInterleaving <= 1)) throw new InvalidArgumentError(`asyncInterleaving must be in [0, 1], got ${this.asyncInterleaving}`)
    this.reportEvents = options.reportEvents ?? 40
    this.ambient = options.ambient ?? 'error'
    this.maxStepsPerCall = options.maxStepsPerCall ?? 50_000_000
    const yieldEvery = options.hostYieldEvery ?? 65_536
    if (yieldEvery < 1 || (yieldEvery & (yieldEvery - 1)) !== 0) throw new InvalidArgumentError(`hostYieldEvery must be a power of two, got ${yieldEvery}`)
    this.hostYieldMask = yieldEvery - 1
    this.rng = new SeededRandom(deriveSeed(seed, 0))
    this.random = new SeededRandom(deriveSeed(seed, 2))
    this.trace = new Trace(options.traceCapacity ?? 256, describeEvent, options.keepFullTrace === true)
  }

  // ------------------------------------------------------------------ world building

  /** A new simulated process (an OS process / a node incarnation), with its own seeded streams. */
  createProcess(label: string): SimProcess {
    const index = this.processes.length
    const process = new SimProcess(this, label, index, deriveSeed(this.seed, 1000 + index))
    this.processes.push(process)
    return process
  }

  /** An actor system running on this simulation (on a new process unless one is given). */
  createSystem(options: SimSystemOptions): ActorSystem {
    const { process: given, mailboxHooks, ...rest } = options
    const process = given ?? this.createProcess(options.node ?? options.name)
    return ActorSystem.create({
      ...rest,
      clock: process.clock,
      random: process.random,
      ids: process.ids,
      scheduler: process.scheduler,
      mailboxHooks: this.hooksWith(mailboxHooks),
    })
  }

  /** Runs `fn` at virtual time `time` (absolute), as one step of the simulation. */
  at(time: number, fn: () => void, label = 'scheduled callback'): void {
    // Control events (faults, scenario steps) take no seeded draw and fire first at their instant,
    // in the order they were scheduled: adding or removing one does not reshuffle every later
    // scheduling choice, which is what lets a shrinker drop the faults that do not matter.
    this.scheduleEvent(Math.max(time, this.time), fn, null, false, TraceKind.Scheduled, label, CONTROL_ORDER + this.eventSeq)
  }

  /** Runs `fn` `delayMs` from now, as one step of the simulation. */
  after(delayMs: number, fn: () => void, label = 'scheduled callback'): void {
    this.at(this.time + Math.max(0, delayMs), fn, label)
  }

  /**
   * Registers a check that runs after every step. On failure the run stops with ERR_SIM_INVARIANT,
   * reporting the seed, the step and the last events. Returns a function that removes it.
   */
  invariant(name: string, check: InvariantCheck): () => void {
    const entry = { name, check }
    this.invariants.push(entry)
    return () => {
      const i = this.invariants.indexOf(entry)
      if (i >= 0) this.invariants.splice(i, 1)
    }
  }

  /**
   * Fails the simulation from outside a check (a scenario's own assertion in a callback, a failed
   * async boot). The current or next driver call throws ERR_SIM_CRASHED with the usual report.
   */
  reportFailure(headline: string, cause?: unknown): void {
    this.failWith(new SimCrashedError(this.report(headline), cause === undefined ? undefined : { cause }))
  }

  // ------------------------------------------------------------------ observation

  /** Virtual time in ms. */
  get now(): number {
    return this.time
  }

  /** Steps taken so far (actor turns plus events). */
  get steps(): number {
    return this.step
  }

  /** The determinism fingerprint: equal for equal runs, in any process. */
  get traceHash(): string {
    return this.trace.hash
  }

  /** Events recorded so far (turns, messages handled, timers, frames, faults). */
  get eventCount(): number {
    return this.trace.count
  }

  /** The last `n` events, oldest first. */
  lastEvents(n = this.reportEvents): TraceEvent[] {
    return this.trace.last(n)
  }

  /** Every event, when created with `keepFullTrace`; otherwise null. */
  get fullTrace(): readonly TraceEvent[] | null {
    return this.trace.full
  }

  get stats(): SimulationStats {
    return { steps: this.step, deliveries: this.deliveries, turns: this.turns, eventsFired: this.eventsFired, zombies: this.zombies }
  }

  /** Actors ready to run at this instant. */
  get runnable(): number {
    return this.taskCount
  }

  /** Timers, frames and scheduled callbacks still to come (background ticks excluded). */
  get pendingEvents(): number {
    return this.events.foreground
  }

  /** The error that stopped the simulation, if one did. */
  get failure(): Error | null {
    return this.failureError
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

  // ------------------------------------------------------------------ driving

  /** Runs everything due within the next `ms` of virtual time; time ends exactly `ms` later. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new InvalidArgumentError(`advance needs ms >= 0, got ${ms}`)
    await this.drive(this.time + ms, null, Mode.Advance)
  }

  /** Runs until virtual time `time` (absolute). */
  async advanceTo(time: number): Promise<void> {
    await this.drive(Math.max(time, this.time), null, Mode.Advance)
  }

  /**
   * Like `advance(ms)`, but stops as soon as `stop` holds (checked after every step). Resolves true
   * when it held, false when the time ran out first. Running out of time is not a failure here:
   * the primitive under "expect a message within" and "expect no message for".
   */
  runFor(ms: number, stop: () => boolean): Promise<boolean> {
    if (!(ms >= 0)) return Promise.reject(new InvalidArgumentError(`runFor needs ms >= 0, got ${ms}`))
    return this.drive(this.time + ms, stop, Mode.Advance)
  }

  /**
   * Runs until `predicate` holds (checked after every step). Fails with ERR_SIM_TIMEOUT when it
   * does not within `maxVirtualMs`, and with ERR_SIM_IDLE as soon as nothing is left that could
   * make it hold.
   */
  async runUntil(predicate: () => boolean, maxVirtualMs = DEFAULT_UNTIL_MS): Promise<void> {
    await this.drive(this.time + maxVirtualMs, predicate, Mode.Until)
  }

  /**
   * Runs until nothing is runnable and no timer, frame or scheduled callback is pending (background
   * failure-detector ticks aside). Fails with ERR_SIM_TIMEOUT if that takes more than
   * `maxVirtualMs` (a periodic timer keeps a system busy forever: use `advance` there).
   */
  async runUntilIdle(maxVirtualMs = DEFAULT_IDLE_MS): Promise<void> {
    await this.drive(this.time + maxVirtualMs, null, Mode.Idle)
  }

  /**
   * Runs until `promise` settles and returns its outcome (an ask from test code, say). Fails with
   * ERR_SIM_TIMEOUT if it has not settled within `maxVirtualMs`.
   */
  async settle<T>(promise: Promise<T>, maxVirtualMs = DEFAULT_UNTIL_MS): Promise<T> {
    let settled = false
    const observed = promise.then(
      (value) => {
        settled = true
        return value
      },
      (error: unknown) => {
        settled = true
        throw error
      },
    )
    // Keep an early rejection from counting as unhandled while the simulation runs.
    observed.catch(() => {})
    await this.drive(this.time + maxVirtualMs, () => settled, Mode.Until)
    return observed
  }

  private async drive(limit: number, stop: (() => boolean) | null, mode: Mode): Promise<boolean> {
    if (this.failureError !== null) throw new SimFailedError(`the simulation already failed: ${this.failureError.message}`, { cause: this.failureError })
    if (this.driving) throw new InvalidArgumentError('a simulation is driven by one call at a time: await the previous advance/runUntil first')
    this.driving = true
    if (this.ambient === 'error') this.releaseGuard = guardAmbient(this.onAmbientCall)
    const started = this.step
    const startTime = this.time
    try {
      this.runDeferred()
      this.throwIfFailed()
      for (;;) {
        if (stop !== null && stop()) return true
        const result = this.burst(stop, started + this.maxStepsPerCall)
        this.throwIfFailed()
        if (result === Burst.Stopped) return true
        if (result === Burst.Continue) {
          await this.runContinuations()
          this.throwIfFailed()
          if (this.deferred.length > 0) this.runDeferred()
          continue
        }
        if (result === Burst.Yield) {
          await this.yieldToHost()
          this.throwIfFailed()
          continue
        }
        // Nothing runnable at this instant: let promise continuations run before time moves on.
        await this.flushMicrotasks()
        this.throwIfFailed()
        if (this.taskCount > 0 || this.deferred.length > 0) {
          this.runDeferred()
          continue
        }
        if (stop !== null && stop()) return true
        if (mode === Mode.Idle && this.events.foreground === 0) {
          if (await this.confirmIdle()) return false
          continue
        }
        const next = this.events.peek()
        if (next === undefined) {
          if (mode === Mode.Advance) {
            this.time = limit
            return false
          }
          if (!(await this.confirmIdle())) continue
          throw this.failWith(new SimIdleError(this.report(`the simulation went idle (nothing runnable, nothing scheduled) before the condition held${this.awaitingHint()}`)))
        }
        if (next.time > limit) {
          if (mode === Mode.Advance) {
            this.time = limit
            return false
          }
          this.time = limit
          const what = mode === Mode.Idle ? 'the simulation was still busy' : 'the condition still did not hold'
          throw this.failWith(new SimTimeoutError(this.report(`${what} after ${formatMs(limit - startTime)} of virtual time${this.awaitingHint()}`)))
        }
        this.time = next.time
      }
    } finally {
      this.driving = false
      if (this.releaseGuard !== null) {
        this.releaseGuard()
        this.releaseGuard = null
      }
    }
  }

  /**
   * Runs steps at the current instant until none is left, the predicate holds, the step budget is
   * spent, or it is time to give the host a turn. Synchronous: this is the hot loop.
   */
  private burst(stop: (() => boolean) | null, stepLimit: number): number {
    const rng = this.rng
    const events = this.events
    const hostYieldMask = this.hostYieldMask
    const invariants = this.invariants
    for (;;) {
      if (this.failureError !== null) return Burst.Failed
      const n = this.taskCount
      const top = events.peek()
      const due = top !== undefined && top.time <= this.time
      if (n === 0 && !due) return Burst.Quiet
      if (this.step >= stepLimit) {
        this.failWith(new SimStepLimitError(this.report(`more than ${this.maxStepsPerCall} steps in one call (a livelock at t=${formatMs(this.time)}?)`)))
        return Burst.Failed
      }
      if (due && (top as SimEvent).order < 0 && (top as SimEvent).owner === null) {
        // A control event: it happens at its instant, before the seed chooses anything else.
        this.fire(events.pop() as SimEvent)
      } else {
        // One draw picks among the runnable tasks and the next due event; its fraction sizes the turn.
        const r = rng.next() * (due ? n + 1 : n)
        const i = Math.floor(r)
        if (i >= n) this.fire(events.pop() as SimEvent)
        else this.runTask(i, r - i)
      }
      this.step++
      if (this.deferred.length > 0) this.runDeferred()
      if (invariants.length > 0) this.checkInvariants()
      if (this.failureError !== null) return Burst.Failed
      if (stop !== null && stop()) return Burst.Stopped
      if ((this.step & hostYieldMask) === 0) return Burst.Yield
      // Let an awaiting actor's continuation (a reply just settled its promise) run before the
      // next step, sometimes: the seed decides whether it overtakes the other runnable actors.
      if (this.awaitingCount > 0 && this.asyncInterleaving > 0 && rng.next() < this.asyncInterleaving) return Burst.Continue
    }
  }

  private runTask(i: number, fraction: number): void {
    const tasks = this.tasks
    const owners = this.owners
    const task = tasks[i] as Runnable
    const owner = owners[i] as SimProcess
    const last = --this.taskCount
    tasks[i] = tasks[last]
    owners[i] = owners[last]
    tasks[last] = undefined
    owners[last] = undefined
    const budget = 1 + Math.floor(fraction * this.throughput)
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

  private fire(event: SimEvent): void {
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

  private runDeferred(): void {
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

  /** Runs promise continuations mid-instant: ticks until three pass with no new simulated activity. */
  private async runContinuations(): Promise<void> {
    let seen = this.activity
    let quiet = 0
    for (let tick = 0; tick < this.microtaskDepth && quiet < 3; tick++) {
      await undefined
      if (this.activity !== seen) {
        seen = this.activity
        quiet = 0
      } else quiet++
    }
  }

  private async flushMicrotasks(): Promise<void> {
    const depth = this.microtaskDepth
    let seen = this.activity
    let quiet = 0
    while (quiet < depth) {
      await undefined
      if (this.failureError !== null || this.taskCount > 0 || this.deferred.length > 0) return
      if (this.activity !== seen) {
        seen = this.activity
        quiet = 0
      } else quiet++
    }
  }

  /**
   * Before calling the world idle, give the host one turn: a host timer or I/O that completes now
   * is an escape, reported instead of silently changing the next run. Then, if the runtime reports
   * async waits, an actor still awaiting is waiting on something outside the simulation.
   */
  private async confirmIdle(): Promise<boolean> {
    await this.yieldToHost()
    this.throwIfFailed()
    if (this.taskCount > 0 || this.deferred.length > 0) return false
    const awaiting = this.awaitingActors()
    if (awaiting.length > 0) {
      throw this.failWith(
        new SimEscapeError(
          this.report(`nothing is left to simulate, yet ${awaiting.join(', ')} ${awaiting.length === 1 ? 'is' : 'are'} still awaiting a promise the simulation cannot settle (a host timer, real I/O, or a promise nobody resolves)`),
          { data: { actors: awaiting } },
        ),
      )
    }
    return true
  }

  private async yieldToHost(): Promise<void> {
    const release = this.releaseGuard
    if (release !== null) release()
    this.inHostTurn = true
    try {
      await new Promise<void>((resolve) => hostSetImmediate(resolve))
    } finally {
      this.inHostTurn = false
      if (release !== null) this.releaseGuard = guardAmbient(this.onAmbientCall)
    }
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

  /** @internal */
  setTimer(process: SimProcess, delayMs: number, callback: () => void): SimEvent {
    this.activity++
    if (this.inHostTurn) this.escapedFromHost(`${process.label} set a timer`)
    const delay = delayMs > 0 ? delayMs : 0
    if (process.state === 'crashed') return new SimEvent(++this.eventSeq, this.time + delay, 0, noop, process, false, TraceKind.Timer, null)
    return this.scheduleEvent(this.time + delay, callback, process, false, TraceKind.Timer, process.label)
  }

  /** @internal Queues an event; the network and failure detectors use it too. */
  scheduleEvent(time: number, fn: () => void, owner: SimProcess | null, background: boolean, kind: number, subject: unknown, order?: number): SimEvent {
    const event = new SimEvent(++this.eventSeq, time, order ?? (this.rng.next() * 0x1_0000_0000) >>> 0, fn, owner, background, kind, subject)
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

  // ------------------------------------------------------------------ failures

  private readonly onAmbientCall = (api: string, caller: string | null): void => {
    if (this.failureError !== null) return
    const task = this.currentTask
    const who =
      task !== null
        ? `${this.currentProcess?.label ?? '?'}:${nameOf(task)}`
        : `a promise continuation${this.lastTask === null ? '' : ` (last actor to run: ${nameOf(this.lastTask)})`}`
    this.failWith(
      new SimEscapeError(
        this.report(
          `${who} called ${api} during a simulated run${caller === null ? '' : ` (at ${caller})`}: the seed cannot decide what it returns or when it fires. Use the actor's context.timers, system.clock and system.random instead, or create the Simulation with ambient: 'allow'`,
        ),
        { data: { api, actor: task === null ? null : nameOf(task) } },
      ),
    )
  }

  private checkInvariants(): void {
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

  /** Who is mid-handler, for reports of a run that did not get where it should. */
  private awaitingHint(): string {
    const awaiting = this.awaitingActors()
    return awaiting.length === 0 ? '' : ` (still awaiting a promise: ${awaiting.slice(0, 5).join(', ')}${awaiting.length > 5 ? ', ...' : ''})`
  }

  private failureData(): { seed: number; step: number; time: number } {
    return { seed: this.seed, step: this.step, time: this.time }
  }

  /** Marks the simulation failed (first failure wins) and returns the error, for `throw`. */
  private failWith(error: Error): Error {
    if (this.failureError === null) this.failureError = error
    return this.failureError
  }

  private throwIfFailed(): void {
    if (this.failureError !== null) throw this.failureError
  }

  /** A headline plus where it happened and how to replay it. */
  private report(headline: string): string {
    return [
      headline,
      `  seed ${this.seed} (replay: TROUPE_SIM_SEED=${this.seed}), step ${this.step}, virtual time ${formatMs(this.time)}`,
      `  last ${Math.min(this.reportEvents, this.trace.count)} events:`,
      formatTrace(this.trace.last(this.reportEvents)),
    ].join('\n')
  }

  private hooksWith(user: MailboxHooks | undefined): MailboxHooks {
    const received = (actor: ActorInfo, depth: number, envelope?: Envelope): void => {
      this.deliveries++
      const process = this.currentProcess
      // The envelope (when the runtime passes it) names the method in reports; the actor otherwise.
      this.trace.record(this.step, this.time, TraceKind.Handle, process === null ? 0 : process.index + 1, process === null ? null : process.label, envelope ?? actor, depth)
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

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`)
  return value
}

function formatMs(ms: number): string {
  return `${Number.isInteger(ms) ? ms : ms.toFixed(3)} ms`
}

/** A task's name for people: an actor's path when the task is an actor (it usually is). */
export function nameOf(subject: unknown): string {
  if (subject !== null && typeof subject === 'object') {
    const path = (subject as { path?: unknown }).path
    if (typeof path === 'string') return path
    const label = (subject as { label?: unknown }).label
    if (typeof label === 'string') return label
  }
  if (typeof subject === 'string') return subject
  return 'task'
}

function describeEvent(kind: TraceKind, subject: unknown, value: number): string {
  switch (kind) {
    case TraceKind.Run:
      return `${nameOf(subject)} takes a turn (up to ${value} messages)`
    case TraceKind.Handle:
      if (subject instanceof Envelope) return `${subject.target.path} handles '${subject.method}' (${value} more queued)`
      return `${nameOf(subject)} handles a message (${value} more queued)`
    case TraceKind.Timer:
      return `timer #${value} fires`
    case TraceKind.Scheduled:
      return `${typeof subject === 'string' ? subject : 'scheduled callback'}`
    case TraceKind.Send:
    case TraceKind.Deliver:
    case TraceKind.Duplicate:
      return `${nameOf(subject)} (${value} bytes)`
    case TraceKind.Zombie:
      return `${nameOf(subject)} woke on a crashed process; discarded`
    default:
      return typeof subject === 'function' ? (subject as () => string)() : nameOf(subject)
  }
}
