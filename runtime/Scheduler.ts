/**
 * The seam between "an actor has mail" and "the actor runs". The real implementation
 * (RealScheduler) drains a run queue on the host event loop; the deterministic simulator supplies
 * one that picks the next actor from a seeded random source under virtual time.
 */
export interface Runnable {
  /**
   * Processes up to `budget` messages. Returns true when the task still has runnable work and wants
   * to be scheduled again; false when it is idle or blocked (it schedules itself again when woken).
   */
  run(budget: number): boolean
}

export interface Scheduler {
  /** Queues a task that has work. A task is never queued twice at once: callers track that. */
  schedule(task: Runnable): void
  /** Messages a task may process per turn before others get theirs (Akka's "throughput"). */
  readonly throughput: number
  /**
   * Runs `callback` soon after the current turn, before I/O (RealScheduler: within 8 turns of a
   * drain). Transports use it to flush what those turns produced as one batch.
   */
  defer(callback: () => void): void
  /**
   * Optional. Runs `callback` once the host has had an I/O turn (RealScheduler: `setImmediate`).
   * Transports that poll shared memory use it to keep looking for a short while before they park,
   * without starving sockets and timers. The simulator has no host loop and omits it.
   */
  poll?(callback: () => void): void
  /**
   * Optional. A task started waiting on a promise (an async handler or lifecycle hook, or a
   * reentrant handler in flight). The simulator uses this pair to tell "idle" from "an actor waits
   * on something outside the simulation"; RealScheduler does not implement it.
   */
  awaitStarted?(task: Runnable): void
  /** Optional. The wait reported by awaitStarted is over: settled, or abandoned by a restart or stop. */
  awaitEnded?(task: Runnable): void
}
