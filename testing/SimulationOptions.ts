import type { ActorSystemOptions } from '../runtime/index.ts'
import type { DecisionRecord } from './DecisionRecord.ts'
import type { SimProcess } from './SimProcess.ts'

/** How the scheduler picks the next step among the runnable actors and the due event. */
export type SchedulerStrategy =
  /** Seeded uniform choice at every step (the default). */
  | 'random'
  /**
   * Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): each actor gets a seeded
   * priority, the highest-priority runnable one always runs, and at `depth - 1` seeded steps in
   * [1, maxSteps] the running actor drops below all others. Finds an ordering bug of depth d among
   * n actors within k steps with probability >= 1 / (n * k^(d-1)) per run.
   */
  | { readonly kind: 'pct'; readonly depth?: number; readonly maxSteps?: number }

/** Seeded per-node clock error: each process gets an offset in ±maxSkewMs and a rate in 1 ± maxDriftPpm/1e6. */
export interface ClockModel {
  readonly maxSkewMs?: number
  readonly maxDriftPpm?: number
}

export interface SimulationOptions {
  /** Drives every choice the simulator makes. Default: TROUPE_SIM_SEED, else 1. */
  readonly seed?: number
  /** Most messages an actor handles per turn; each turn takes a seeded number in [1, throughput]. Default 8. */
  readonly throughput?: number
  /**
   * Microtask turns without any new simulated activity after which an instant counts as settled
   * and virtual time may move on. Covers promise chains that far between a settlement and the next
   * message; deeper chains still run, deterministically, at a later instant. Default 64 (a
   * supervisor's restart chain with async hooks runs ~20 deep).
   */
  readonly microtaskDepth?: number
  /**
   * Probability, after a step while some actor awaits a promise, that promise continuations run
   * before the next step (rather than when the instant settles). Default 0.5.
   */
  readonly asyncInterleaving?: number
  /** Events kept for failure reports and `lastEvents()`. Default 256. */
  readonly traceCapacity?: number
  /** Events printed in a failure report. Default 40. */
  readonly reportEvents?: number
  /** Keep every event (rendered) in `fullTrace`, to diff two runs. Slow; for debugging. Default false. */
  readonly keepFullTrace?: boolean
  /**
   * `error` (default): host timers, fetch, Date.now, performance.now, process.hrtime, Math.random
   * and crypto randomness called from user code during a run throw ERR_SIM_ESCAPE at the call site
   * (and fail the run). `allow`: do not watch (you accept the nondeterminism).
   */
  readonly ambient?: 'error' | 'allow'
  /** Most steps one driver call may take (a livelock at one instant never lets time move). Default 50 000 000. */
  readonly maxStepsPerCall?: number
  /** Steps between turns handed back to the host event loop (a power of two). Default 65 536. */
  readonly hostYieldEvery?: number
  /** Scheduler strategy. Default 'random'. */
  readonly strategy?: SchedulerStrategy
  /** Per-node clock skew and drift, seeded per process. Default none (every clock reads virtual time). */
  readonly clocks?: ClockModel
  /** Record every scheduler decision (`sim.decisions()`), to replay the run without the scheduler's RNG. */
  readonly record?: boolean
  /** Count handled messages per method, and how many came from another node (`sim.messageCounts`). Default false. */
  readonly countMessages?: boolean
  /** Replay a recorded run: the scheduler follows the record's decisions (its seed drives the rest). */
  readonly replay?: DecisionRecord
}

/** What `createSystem` takes: system options minus what the simulation supplies. */
export type SimSystemOptions = Omit<ActorSystemOptions, 'clock' | 'random' | 'ids' | 'scheduler'> & {
  /** The process the system runs on. Default: a new process labelled with the node (or system) name. */
  readonly process?: SimProcess
}

/** An invariant: returns nothing/true when it holds; false, a message, or a throw when it does not. */
export type InvariantCheck = () => boolean | string | void

/** Messages of one method handled so far. */
export interface MessageCount {
  handled: number
  /** Of which sent by an actor on another node. */
  remote: number
}

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
