import { InvalidArgumentError, SeededRandom, type Runnable } from '../runtime/index.ts'
import { DECISION_FORMAT, type DecisionRecord } from './DecisionRecord.ts'
import { SimReplayDivergedError } from './errors.ts'
import { nameOf } from './simNames.ts'
import type { SimProcess } from './SimProcess.ts'
import type { SchedulerStrategy } from './SimulationOptions.ts'

type Tasks = readonly (Runnable | undefined)[]
type Owners = readonly (SimProcess | undefined)[]

/**
 * Makes the scheduler's decisions for one run. The default seeded-uniform choice is inlined in the
 * simulation's hot loop; a Chooser serves the other strategies, recording and replay.
 */
export interface Chooser {
  /** The runnable task to run next (index < n), or n to fire the due event (only when `due`). */
  pick(tasks: Tasks, owners: Owners, n: number, due: boolean): number
  /** Messages the chosen task may handle in its turn (set by `pick`). */
  budget: number
  /** Whether promise continuations run before the next step (asked only while an actor awaits). */
  continueNow(probability: number): boolean
}

/** The seeded uniform choice, as a Chooser (what the inline loop does, for recording). */
export class RandomChooser implements Chooser {
  budget = 1
  private readonly rng: SeededRandom
  private readonly throughput: number
  constructor(rng: SeededRandom, throughput: number) {
    this.rng = rng
    this.throughput = throughput
  }
  pick(_tasks: Tasks, _owners: Owners, n: number, due: boolean): number {
    const r = this.rng.next() * (due ? n + 1 : n)
    const i = Math.floor(r)
    this.budget = 1 + Math.floor((r - i) * this.throughput)
    return i
  }
  continueNow(probability: number): boolean {
    return this.rng.next() < probability
  }
}

/**
 * PCT: seeded priorities per actor (and one for "the due event"), the highest runnable runs, and
 * at depth-1 seeded change points the running one drops below every initial priority.
 */
export class PctChooser implements Chooser {
  budget = 1
  private readonly rng: SeededRandom
  private readonly throughput: number
  private readonly depth: number
  private readonly priorities = new WeakMap<object, number>()
  private eventPriority: number
  private readonly changeAt: number[]
  private step = 0

  constructor(rng: SeededRandom, throughput: number, depth: number, maxSteps: number) {
    if (!Number.isInteger(depth) || depth < 1) throw new InvalidArgumentError(`pct depth must be a positive integer, got ${depth}`)
    if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new InvalidArgumentError(`pct maxSteps must be a positive integer, got ${maxSteps}`)
    this.rng = rng
    this.throughput = throughput
    this.depth = depth
    this.eventPriority = depth + rng.next()
    this.changeAt = Array.from({ length: depth - 1 }, () => 1 + Math.floor(rng.next() * maxSteps))
  }

  pick(tasks: Tasks, _owners: Owners, n: number, due: boolean): number {
    let best = n
    let bestPriority = due ? this.eventPriority : -Infinity
    for (let i = 0; i < n; i++) {
      const task = tasks[i] as Runnable
      let p = this.priorities.get(task)
      // A new actor takes a seeded place among the initial priorities (all above the change-point ones).
      if (p === undefined) {
        p = this.depth + this.rng.next()
        this.priorities.set(task, p)
      }
      if (p > bestPriority) {
        bestPriority = p
        best = i
      }
    }
    this.step++
    const point = this.changeAt.indexOf(this.step)
    if (point >= 0) {
      // Change point i: the actor about to run drops to priority i (below every initial one).
      if (best < n) this.priorities.set(tasks[best] as Runnable, point + this.rng.next() * 0.5)
      else this.eventPriority = point + this.rng.next() * 0.5
    }
    this.budget = 1 + Math.floor(this.rng.next() * this.throughput)
    return best
  }

  continueNow(probability: number): boolean {
    return this.rng.next() < probability
  }
}

/** A task's stable name in a record: `process label:actor path`. */
function taskName(task: Runnable, owner: SimProcess): string {
  return `${owner.label}:${nameOf(task)}`
}

/** Wraps a chooser and writes down every decision it makes. */
export class RecordingChooser implements Chooser {
  budget = 1
  private readonly inner: Chooser
  private readonly names: string[] = []
  private readonly nameIndex = new Map<string, number>()
  /** Name index per task, so recording a step builds no string after the task's first turn. */
  private readonly taskIndex = new WeakMap<object, number>()
  private readonly decisions: number[] = []
  private readonly seed: number

  constructor(inner: Chooser, seed: number) {
    this.inner = inner
    this.seed = seed
  }

  pick(tasks: Tasks, owners: Owners, n: number, due: boolean): number {
    const i = this.inner.pick(tasks, owners, n, due)
    this.budget = this.inner.budget
    if (i >= n) {
      this.decisions.push(0)
      return i
    }
    const task = tasks[i] as Runnable
    let index = this.taskIndex.get(task)
    if (index === undefined) {
      const name = taskName(task, owners[i] as SimProcess)
      index = this.nameIndex.get(name)
      if (index === undefined) {
        index = this.names.length
        this.names.push(name)
        this.nameIndex.set(name, index)
      }
      this.taskIndex.set(task, index)
    }
    this.decisions.push(index + 1, this.budget)
    return i
  }

  continueNow(probability: number): boolean {
    const yes = this.inner.continueNow(probability)
    this.decisions.push(yes ? -1 : -2)
    return yes
  }

  record(): DecisionRecord {
    return { format: DECISION_FORMAT, seed: this.seed, names: [...this.names], decisions: [...this.decisions] }
  }
}

/**
 * Follows a record. A decision the world cannot make (the named actor is not runnable, no event is
 * due) throws ERR_SIM_REPLAY_DIVERGED naming the step; past the record's end the seeded choice
 * takes over (a run that goes on longer than the recorded one).
 */
export class ReplayChooser implements Chooser {
  budget = 1
  private readonly record: DecisionRecord
  private readonly fallback: Chooser
  private cursor = 0
  private step = 0

  constructor(record: DecisionRecord, fallback: Chooser) {
    this.record = record
    this.fallback = fallback
  }

  get exhausted(): boolean {
    return this.cursor >= this.record.decisions.length
  }

  pick(tasks: Tasks, owners: Owners, n: number, due: boolean): number {
    const decisions = this.record.decisions
    if (this.cursor >= decisions.length) {
      const i = this.fallback.pick(tasks, owners, n, due)
      this.budget = this.fallback.budget
      return i
    }
    const step = this.step++
    const d = decisions[this.cursor++] as number
    if (d === 0) {
      if (!due) throw new SimReplayDivergedError(`replay diverged at decision ${step}: the record fires an event, but none is due`, { data: { step } })
      return n
    }
    if (d < 0) throw new SimReplayDivergedError(`replay diverged at decision ${step}: the record expects a continuation decision here`, { data: { step } })
    const name = this.record.names[d - 1]
    this.budget = decisions[this.cursor++] ?? 1
    for (let i = 0; i < n; i++) if (taskName(tasks[i] as Runnable, owners[i] as SimProcess) === name) return i
    const runnable = Array.from({ length: Math.min(n, 8) }, (_, i) => taskName(tasks[i] as Runnable, owners[i] as SimProcess))
    throw new SimReplayDivergedError(`replay diverged at decision ${step}: the record runs ${String(name)}, which is not runnable (runnable: ${runnable.join(', ') || 'none'})`, {
      data: { step, expected: name },
    })
  }

  continueNow(probability: number): boolean {
    const decisions = this.record.decisions
    if (this.cursor >= decisions.length) return this.fallback.continueNow(probability)
    const d = decisions[this.cursor]
    if (d !== -1 && d !== -2) throw new SimReplayDivergedError(`replay diverged at decision ${this.step}: the record has a step where the run asks whether continuations run`, { data: { step: this.step } })
    this.cursor++
    return d === -1
  }
}

/** The chooser for a strategy; null for the default random one (inlined by the simulation). */
export function chooserFor(strategy: SchedulerStrategy, rng: SeededRandom, throughput: number): Chooser | null {
  if (strategy === 'random') return null
  if (strategy.kind === 'pct') return new PctChooser(rng, throughput, strategy.depth ?? 3, strategy.maxSteps ?? 10_000)
  throw new InvalidArgumentError(`unknown scheduler strategy ${JSON.stringify(strategy)}`)
}
