import type { Runnable, Scheduler } from '../runtime/index.ts'
import type { SimProcess } from './SimProcess.ts'
import type { Simulation } from './Simulation.ts'

/**
 * The Scheduler a simulated actor system runs on. It owns no queue and no host task: it hands every
 * runnable actor to its Simulation, which picks the next one to run with its seeded random source,
 * across every process (node) of the simulation. `defer` runs after the current simulation step,
 * which is what a "turn" means under simulation.
 */
export class SimScheduler implements Scheduler {
  readonly process: SimProcess
  private readonly sim: Simulation

  /** @internal Made by `SimProcess`. */
  constructor(sim: Simulation, process: SimProcess) {
    this.sim = sim
    this.process = process
  }

  /** Most messages per turn; each turn takes a seeded number in [1, throughput]. */
  get throughput(): number {
    return this.sim.throughput
  }

  schedule(task: Runnable): void {
    this.sim.enqueueTask(task, this.process)
  }

  defer(callback: () => void): void {
    this.sim.deferCallback(callback, this.process)
  }

  /**
   * Called by runtimes that report async waits: a task started waiting on a promise. The simulator
   * uses it to tell "idle" from "an actor waits on something outside the simulation".
   */
  awaitStarted(task: Runnable): void {
    if (this.sim.isHostTurn) this.sim.escapedFromHost(`${this.process.label} started waiting`)
    if (this.process.isCrashed) return
    this.sim.noteAwaiting(1)
    this.process.awaiting.set(task, (this.process.awaiting.get(task) ?? 0) + 1)
  }

  /** The wait reported by `awaitStarted` is over (settled, or abandoned by a restart or stop). */
  awaitEnded(task: Runnable): void {
    // A wait that ends while the host has the event loop ended because of the host: an escape.
    if (this.sim.isHostTurn) this.sim.escapedFromHost(`an awaited promise of ${this.process.label} settled`)
    else this.sim.settledBetweenCalls(`an awaited promise of ${this.process.label} settled`)
    const count = this.process.awaiting.get(task)
    if (count === undefined) return
    this.sim.noteAwaiting(-1)
    if (count <= 1) this.process.awaiting.delete(task)
    else this.process.awaiting.set(task, count - 1)
  }
}
