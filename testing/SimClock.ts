import { InvalidArgumentError, type Clock, type TimerHandle } from '../runtime/index.ts'
import type { SimEvent } from './EventQueue.ts'
import type { SimProcess } from './SimProcess.ts'
import type { Simulation } from './Simulation.ts'

/**
 * A process's view of the simulation's virtual time, optionally skewed (a constant offset) and
 * drifting (running fast or slow by some parts per million), as a real node's clock does. Leases,
 * election timeouts and anything else that trusts a local clock meet a clock that disagrees with
 * the others. Timers are events of the simulation: a timer for `d` local ms fires when this clock
 * has advanced `d` ms, so a fast clock fires early in virtual time. Timers of one process due at the
 * same instant fire in creation order; across processes the order is seeded.
 */
export class SimClock implements Clock {
  readonly process: SimProcess
  private readonly sim: Simulation
  /** local = anchorLocal + (virtual - anchorVirtual) * rate. */
  private anchorVirtual = 0
  private anchorLocal = 0
  private rate = 1
  private exact = true

  /** @internal Made by `SimProcess`. */
  constructor(sim: Simulation, process: SimProcess) {
    this.sim = sim
    this.process = process
  }

  now(): number {
    if (this.exact) return this.sim.now
    return this.anchorLocal + (this.sim.now - this.anchorVirtual) * this.rate
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const delay = delayMs > 0 ? delayMs : 0
    if (this.exact) return this.sim.setTimer(this.process, this.sim.now + delay, callback)
    // From the local deadline, so timers for the same local instant share one virtual instant.
    const deadline = this.now() + delay
    return this.sim.setTimer(this.process, this.anchorVirtual + (deadline - this.anchorLocal) / this.rate, callback)
  }

  clearTimer(handle: TimerHandle): void {
    this.sim.cancelEvent(handle as SimEvent)
  }

  /** How far this clock is ahead of virtual time right now (negative: behind). */
  get skewMs(): number {
    return this.now() - this.sim.now
  }

  /** The rate error in parts per million (positive: the clock runs fast). */
  get driftPpm(): number {
    return (this.rate - 1) * 1e6
  }

  /**
   * Sets the offset from virtual time to `ms` from now on. Set it before the node boots; later it is
   * a clock step (NTP slewing aside), which a monotonic clock never takes backwards in reality.
   */
  setSkew(ms: number): void {
    if (!Number.isFinite(ms)) throw new InvalidArgumentError(`skew must be finite, got ${ms}`)
    this.anchorVirtual = this.sim.now
    this.anchorLocal = this.sim.now + ms
    this.exact = ms === 0 && this.rate === 1
  }

  /** Makes the clock run fast (ppm > 0) or slow from now on; timers already set keep their instant. */
  setDrift(ppm: number): void {
    if (!(ppm > -1e6 && ppm < 1e6)) throw new InvalidArgumentError(`drift must be in (-1e6, 1e6) ppm, got ${ppm}`)
    const local = this.now()
    this.anchorVirtual = this.sim.now
    this.anchorLocal = local
    this.rate = 1 + ppm / 1e6
    this.exact = this.rate === 1 && local === this.sim.now
  }
}
