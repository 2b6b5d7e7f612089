/** Restart budget: a number of restarts within the period, or `'unlimited'` (spelled out, never `Infinity`). */
export type Intensity = number | 'unlimited'

/**
 * OTP's restart intensity: at most `intensity` restarts within any `periodMs` window (a sliding
 * window, not fixed buckets). `record` returns false when one more restart would exceed it.
 */
export class RestartIntensity {
  readonly intensity: Intensity
  readonly periodMs: number
  private readonly times: number[] = []

  constructor(intensity: Intensity, periodMs: number) {
    this.intensity = intensity
    this.periodMs = periodMs
  }

  /** Records a restart at `now`; false means the budget is exhausted and the supervisor must give up. */
  record(now: number): boolean {
    if (this.intensity === 'unlimited') return true
    const windowStart = now - this.periodMs
    let expired = 0
    while (expired < this.times.length && (this.times[expired] as number) <= windowStart) expired++
    if (expired > 0) this.times.splice(0, expired)
    this.times.push(now)
    return this.times.length <= this.intensity
  }

  /** Restarts currently inside the window (always 0 when unlimited: nothing is kept). */
  count(now: number): number {
    const windowStart = now - this.periodMs
    return this.times.filter((t) => t > windowStart).length
  }
}
