import type { Clock, TimerHandle } from '../runtime/index.ts'
import type { SimEvent } from './EventQueue.ts'
import type { SimProcess } from './SimProcess.ts'
import type { Simulation } from './Simulation.ts'

/**
 * A process's view of the simulation's virtual time. Timers are events of the simulation: they
 * fire in time order, and timers due at the same instant fire in a seeded order. A paused process's
 * timers wait until it resumes; a crashed process's timers never fire.
 */
export class SimClock implements Clock {
  readonly process: SimProcess
  private readonly sim: Simulation

  /** @internal Made by `SimProcess`. */
  constructor(sim: Simulation, process: SimProcess) {
    this.sim = sim
    this.process = process
  }

  now(): number {
    return this.sim.now
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return this.sim.setTimer(this.process, delayMs, callback)
  }

  clearTimer(handle: TimerHandle): void {
    this.sim.cancelEvent(handle as SimEvent)
  }
}
