import { SeededRandom, type Random, type Runnable } from '../runtime/index.ts'
import type { SimEvent } from './EventQueue.ts'
import { SimClock } from './SimClock.ts'
import { SimIds } from './SimIds.ts'
import { SimScheduler } from './SimScheduler.ts'
import type { Simulation } from './Simulation.ts'

const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)

export type SimProcessState = 'running' | 'paused' | 'crashed'

/**
 * One simulated OS process: what a node's actor system runs on (scheduler, clock, random source,
 * ids). It can be paused (a long GC pause, a frozen VM: nothing runs, timers and frames wait) and
 * resumed, or crashed (everything it had in memory is gone: its queued work, timers and deferred
 * callbacks are dropped, and whatever its actors still try to schedule is discarded).
 */
export class SimProcess {
  readonly label: string
  /** Position in creation order; what the trace hashes instead of the label. */
  readonly index: number
  readonly scheduler: SimScheduler
  readonly clock: SimClock
  /** Seeded per process: the actor system's `random`. */
  readonly random: Random
  readonly ids: SimIds
  /** @internal */
  state: SimProcessState = 'running'
  /** @internal Work that arrived while paused, released on resume in arrival order. */
  heldTasks: Runnable[] = []
  /** @internal */
  heldEvents: SimEvent[] = []
  /** @internal */
  heldDeferred: (() => void)[] = []
  /** @internal Tasks waiting on a promise, as reported by the runtime (see SimScheduler.awaitStarted). */
  readonly awaiting = new Map<Runnable, number>()
  /** @internal Called when the process crashes (its SimDisk drops what it never synced). */
  readonly crashListeners: (() => void)[] = []
  private readonly sim: Simulation
  /** Salt of this process's timer tie-breaks. */
  private readonly timerSalt: number

  /** @internal Made by `Simulation.createProcess`. */
  constructor(sim: Simulation, label: string, index: number, seed: number) {
    this.sim = sim
    this.label = label
    this.index = index
    this.random = new SeededRandom(seed)
    this.ids = new SimIds(new SeededRandom(seed ^ 0x5bd1e995))
    this.timerSalt = (seed ^ 0x27d4eb2f) | 0
    this.scheduler = new SimScheduler(sim, this)
    this.clock = new SimClock(sim, this)
  }

  /**
   * @internal The tie-break of this process's timers due at `time`: one value per (process,
   * instant), so they fire in creation order among themselves and in a seeded order against other
   * processes' events.
   */
  timerOrder(time: number): number {
    f64[0] = time
    let h = Math.imul(this.timerSalt ^ (u32[0] as number), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13) ^ (u32[1] as number), 0xc2b2ae35)
    return (h ^ (h >>> 16)) >>> 0
  }

  get isRunning(): boolean {
    return this.state === 'running'
  }
  get isPaused(): boolean {
    return this.state === 'paused'
  }
  get isCrashed(): boolean {
    return this.state === 'crashed'
  }

  /** Freezes the process: none of its actors run, its timers and inbound frames wait. */
  pause(): void {
    this.sim.pauseProcess(this)
  }

  /** Lets a paused process carry on; what waited runs now, in the order it arrived. */
  resume(): void {
    this.sim.resumeProcess(this)
  }

  /** Kills the process: its queued work, timers and deferred callbacks are gone for good. */
  crash(): void {
    this.sim.crashProcess(this)
  }
}
