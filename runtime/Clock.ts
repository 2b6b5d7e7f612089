/**
 * Time as the runtime sees it. Runtime code never reads the wall clock or arms a host timer itself;
 * it asks the system's Clock. The deterministic simulator supplies a virtual one.
 */
export interface TimerHandle {
  /** Opaque to callers; each clock decides what it holds. */
  readonly id: number
}

export interface Clock {
  /** Milliseconds on a monotonic scale (fractions allowed). Only differences are meaningful. */
  now(): number
  /** Calls `callback` once after `delayMs`. Host timers must not keep the process alive on their own. */
  setTimer(delayMs: number, callback: () => void): TimerHandle
  /** Cancels a timer; cancelling one that already fired or was cancelled does nothing. */
  clearTimer(handle: TimerHandle): void
  /**
   * Keeps the host process alive until the returned function is called (a running actor system
   * does, like a server). Clocks with no host process to hold (virtual ones) omit it.
   */
  hold?(): () => void
}
