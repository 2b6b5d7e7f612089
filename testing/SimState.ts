import { EnvelopeKind, InvalidArgumentError, SeededRandom, toError, type ActorInfo, type Envelope, type MailboxHooks, type Runnable } from '../runtime/index.ts'
import { EventQueue } from './EventQueue.ts'
import { SimInvariantError } from './errors.ts'
import { deriveSeed } from './seeds.ts'
import { describeEvent, formatMs, nameOf } from './simNames.ts'
import type { SimProcess } from './SimProcess.ts'
import type { InvariantCheck, MessageCount, SimulationOptions } from './SimulationOptions.ts'
import { chooserFor, RandomChooser, RecordingChooser, ReplayChooser, type Chooser } from './Strategy.ts'
import { formatTrace, Trace, TraceKind } from './Trace.ts'

/**
 * What a simulation knows: its seed and streams, its queues and counters, the trace, and how it
 * fails (invariants, reports with the seed and the last events, message counting hooks).
 * `SimKernel` adds what processes call and how a step runs; `Simulation` the driver API.
 */
export class SimState {
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
  protected resumeOrder = -Number.MAX_SAFE_INTEGER
  /** Run queue: parallel arrays, so queuing a task allocates nothing. */
  protected tasks: (Runnable | undefined)[] = []
  protected owners: (SimProcess | undefined)[] = []
  protected taskCount = 0
  protected deferred: (() => void)[] = []
  protected deferredOwners: SimProcess[] = []
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
