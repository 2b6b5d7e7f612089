import { ActorSystem, InvalidArgumentError, toError } from '../runtime/index.ts'
import type { Random } from '../runtime/index.ts'
import { SeededRandom } from '../runtime/index.ts'
import { guardAmbient, hostSetImmediate } from './AmbientGuard.ts'
import type { DecisionRecord } from './DecisionRecord.ts'
import type { SimEvent } from './EventQueue.ts'
import { SimCrashedError, SimEscapeError, SimFailedError, SimIdleError, SimStepLimitError, SimTimeoutError } from './errors.ts'
import { deriveSeed, seedFromEnv } from './seeds.ts'
import { SimKernel } from './SimKernel.ts'
import { formatMs, nameOf } from './simNames.ts'
import { SimProcess } from './SimProcess.ts'
import type { ClockModel, InvariantCheck, MessageCount, SimSystemOptions, SimulationOptions } from './SimulationOptions.ts'
import type { Chooser } from './Strategy.ts'
import { TraceKind } from './Trace.ts'

export type { InvariantCheck, MessageCount, SimSystemOptions, SimulationOptions, SimulationStats } from './SimulationOptions.ts'
export { SELF_TRACED, nameOf } from './simNames.ts'

const Burst = { Quiet: 0, Stopped: 1, Yield: 2, Failed: 3, Continue: 4 } as const
const Mode = { Advance: 0, Until: 1, Idle: 2 } as const
type Mode = (typeof Mode)[keyof typeof Mode]

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
export class Simulation extends SimKernel {
  /** A seeded source for scenario code (choosing keys, picking nodes); independent of the scheduler's. */
  readonly random: Random
  private readonly microtaskDepth: number
  private readonly asyncInterleaving: number
  private readonly ambient: 'error' | 'allow'
  private readonly maxStepsPerCall: number
  private readonly hostYieldMask: number
  private readonly clocks: ClockModel | null
  private readonly clockRandom: SeededRandom
  private driving = false
  /** Bumped per driver call; a host turn between calls checks it to know no call started since. */
  private driveEpoch = 0
  /** The host has had a turn since the last driver call returned (anything settling now came from it). */
  private hostTurnSinceDrive = false
  /** An escape seen between driver calls, thrown by the next one. */
  private pendingEscape: Error | null = null
  private releaseGuard: (() => void) | null = null

  constructor(options: SimulationOptions = {}) {
    const seed = options.seed ?? options.replay?.seed ?? seedFromEnv() ?? 1
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new InvalidArgumentError(`seed must be an integer in [0, 2^32), got ${seed}`)
    super(options, seed)
    this.microtaskDepth = Math.max(0, Math.floor(options.microtaskDepth ?? 64))
    this.asyncInterleaving = options.asyncInterleaving ?? 0.5
    if (!(this.asyncInterleaving >= 0 && this.asyncInterleaving <= 1)) throw new InvalidArgumentError(`asyncInterleaving must be in [0, 1], got ${this.asyncInterleaving}`)
    this.ambient = options.ambient ?? 'error'
    this.maxStepsPerCall = options.maxStepsPerCall ?? 50_000_000
    const yieldEvery = options.hostYieldEvery ?? 65_536
    if (yieldEvery < 1 || (yieldEvery & (yieldEvery - 1)) !== 0) throw new InvalidArgumentError(`hostYieldEvery must be a power of two, got ${yieldEvery}`)
    this.hostYieldMask = yieldEvery - 1
    this.random = new SeededRandom(deriveSeed(seed, 2))
    this.clocks = options.clocks ?? null
    this.clockRandom = new SeededRandom(deriveSeed(seed, 4))
  }

  // ------------------------------------------------------------------ world building

  /** A new simulated process (an OS process / a node incarnation), with its own seeded streams. */
  createProcess(label: string): SimProcess {
    const index = this.processes.length
    const process = new SimProcess(this, label, index, deriveSeed(this.seed, 1000 + index))
    const clocks = this.clocks
    if (clocks !== null) {
      // Drawn from their own stream: turning the clock model on shifts no other choice.
      const skew = (this.clockRandom.next() * 2 - 1) * (clocks.maxSkewMs ?? 0)
      const drift = (this.clockRandom.next() * 2 - 1) * (clocks.maxDriftPpm ?? 0)
      process.clock.setSkew(skew)
      process.clock.setDrift(drift)
    }
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

  /** Handled messages per method (needs `countMessages: true`; otherwise empty). */
  get messageCounts(): ReadonlyMap<string, MessageCount> {
    return this.counts ?? new Map()
  }

  /** The decisions recorded so far (needs `record: true`): replay them with `new Simulation({ replay })`. */
  decisions(): DecisionRecord {
    if (this.recorder === null) throw new InvalidArgumentError('this simulation does not record decisions: create it with record: true')
    return this.recorder.record()
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
    if (this.pendingEscape !== null) throw this.failWith(this.pendingEscape)
    this.driving = true
    this.driveEpoch++
    this.hostTurnSinceDrive = false
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
      const epoch = this.driveEpoch
      hostSetImmediate(() => {
        if (this.driveEpoch === epoch && !this.driving) this.hostTurnSinceDrive = true
      })
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
    const chooser = this.chooser
    const throughput = this.throughput
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
      } else if (chooser === null) {
        // One draw picks among the runnable tasks and the next due event; its fraction sizes the turn.
        const r = rng.next() * (due ? n + 1 : n)
        const i = Math.floor(r)
        if (i >= n) this.fire(events.pop() as SimEvent)
        else this.runTask(i, 1 + Math.floor((r - i) * throughput))
      } else {
        let i: number
        try {
          i = chooser.pick(this.tasks, this.owners, n, due)
        } catch (error) {
          this.failWith(toError(error))
          return Burst.Failed
        }
        if (i >= n) this.fire(events.pop() as SimEvent)
        else this.runTask(i, chooser.budget)
      }
      this.step++
      if (this.deferred.length > 0) this.runDeferred()
      if (invariants.length > 0) this.checkInvariants()
      if (this.failureError !== null) return Burst.Failed
      if (stop !== null && stop()) return Burst.Stopped
      if ((this.step & hostYieldMask) === 0) return Burst.Yield
      // Let an awaiting actor's continuation (a reply just settled its promise) run before the
      // next step, sometimes: the seed decides whether it overtakes the other runnable actors.
      if (this.awaitingCount > 0 && this.asyncInterleaving > 0) {
        if (chooser === null ? rng.next() < this.asyncInterleaving : this.continueNow(chooser)) return Burst.Continue
      }
    }
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
    // The full depth only while an actor awaits: other chains (a test's own) are short.
    const depth = this.awaitingCount > 0 ? this.microtaskDepth : Math.min(this.microtaskDepth, 8)
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

  /**
   * @internal An actor's awaited promise settled between driver calls, after the host had a turn:
   * real I/O or a host timer completed outside the simulation. Reported by the next driver call.
   */
  settledBetweenCalls(what: string): void {
    if (this.driving || !this.hostTurnSinceDrive || this.pendingEscape !== null || this.failureError !== null) return
    this.pendingEscape = new SimEscapeError(
      this.report(`${what} between driver calls, after the host event loop had run: real I/O or a host timer completed outside the simulation (its effect would land at an instant the seed did not choose)`),
    )
  }

  private continueNow(chooser: Chooser): boolean {
    try {
      return chooser.continueNow(this.asyncInterleaving)
    } catch (error) {
      this.failWith(toError(error))
      return false
    }
  }

  private readonly onAmbientCall = (api: string, caller: string | null): Error | undefined => {
    const error = new SimEscapeError(
      this.report(
        `${this.whoIsRunning()} called ${api} during a simulated run${caller === null ? '' : ` (at ${caller})`}: the seed cannot decide what it returns or when it fires. Use the actor's context.timers, system.clock and system.random instead, or create the Simulation with ambient: 'allow'`,
      ),
      { data: { api, actor: this.currentTask === null ? null : nameOf(this.currentTask) } },
    )
    this.failWith(error)
    // Thrown at the call site: the ambient value never reaches the program.
    return error
  }
}
