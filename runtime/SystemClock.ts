import type { Clock, TimerHandle } from './Clock.ts'

interface HostTimerHandle extends TimerHandle {
  timeout: ReturnType<typeof setTimeout> | undefined
}

/**
 * The real clock: `performance.now()` and host timers. This file and the other System* files are the
 * only places in the layers allowed to touch ambient time (the lint rule exempts them).
 */
export class SystemClock implements Clock {
  private nextId = 1
  now(): number {
    return performance.now()
  }
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const handle: HostTimerHandle = { id: this.nextId++, timeout: undefined }
    const timeout = setTimeout(callback, Math.max(0, delayMs))
    // A pending actor timer must not hold the process open: the system decides when to exit.
    timeout.unref()
    handle.timeout = timeout
    return handle
  }
  hold(): () => void {
    // One ref'd timer that never fires holds the event loop open; releasing it lets the process end.
    const interval = setInterval(() => {}, 2 ** 30)
    return () => clearInterval(interval)
  }

  clearTimer(handle: TimerHandle): void {
    const timeout = (handle as HostTimerHandle).timeout
    if (timeout !== undefined) clearTimeout(timeout)
  }
}
