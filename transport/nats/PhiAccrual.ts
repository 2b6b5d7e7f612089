import { InvalidArgumentError } from '../../runtime/index.ts'

/**
 * Settings of the φ-accrual failure detector (Hayashibara et al., as Akka uses it). Instead of a
 * fixed timeout, the detector learns how a peer's heartbeats usually arrive and says how unlikely
 * the silence so far is: φ = -log10(P(a heartbeat arrives later than now)). φ = 1 means a 10 %
 * chance that the peer is still alive and merely late, φ = 8 about one in 10^8.
 */
export interface PhiAccrualOptions {
  /** φ above which a peer is suspected (then declared down once this node's own link is proven). Default 8. */
  readonly threshold?: number
  /** Floor of the standard deviation, in ms: very regular heartbeats must not make a short delay fatal. Default 100. */
  readonly minStdDeviationMs?: number
  /**
   * Silence tolerated on top of the usual interval, in ms (garbage collection, a busy event loop, a
   * slow network): added to the mean. Default 3000; the heartbeat membership derives it from its
   * `timeoutMs` (timeoutMs − intervalMs).
   */
  readonly acceptablePauseMs?: number
  /** The interval assumed before any has been measured, in ms. Default 1000 (the membership uses its intervalMs). */
  readonly firstHeartbeatEstimateMs?: number
  /** Intervals remembered per peer (a sliding window). Default 200. */
  readonly maxSamples?: number
}

export const PHI_ACCRUAL_DEFAULTS = {
  threshold: 8,
  minStdDeviationMs: 100,
  acceptablePauseMs: 3000,
  firstHeartbeatEstimateMs: 1000,
  maxSamples: 200,
} as const

export type PhiAccrualSettings = { readonly [K in keyof typeof PHI_ACCRUAL_DEFAULTS]: number }

/** Fills in the defaults and checks every value; throws ERR_INVALID_ARGUMENT. */
export function phiAccrualSettings(options: PhiAccrualOptions = {}): PhiAccrualSettings {
  const settings = { ...PHI_ACCRUAL_DEFAULTS, ...definedOnly(options) }
  const positive = (name: keyof PhiAccrualSettings): void => {
    if (!(settings[name] > 0) || !Number.isFinite(settings[name])) throw new InvalidArgumentError(`φ-accrual ${name} must be a finite number > 0, got ${settings[name]}`)
  }
  positive('threshold')
  positive('minStdDeviationMs')
  positive('firstHeartbeatEstimateMs')
  if (!(settings.acceptablePauseMs >= 0) || !Number.isFinite(settings.acceptablePauseMs)) {
    throw new InvalidArgumentError(`φ-accrual acceptablePauseMs must be a finite number >= 0, got ${settings.acceptablePauseMs}`)
  }
  if (!Number.isInteger(settings.maxSamples) || settings.maxSamples < 2) throw new InvalidArgumentError(`φ-accrual maxSamples must be an integer >= 2, got ${settings.maxSamples}`)
  return settings
}

function definedOnly(options: PhiAccrualOptions): Partial<PhiAccrualSettings> {
  const out: Record<string, number> = {}
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value as number
  return out
}

/**
 * φ for `elapsed` ms of silence when intervals have this `mean` and `stdDeviation` (both in ms,
 * stdDeviation > 0). The normal distribution's tail is taken from the logistic approximation of its
 * CDF, Φ(y) ≈ 1 / (1 + e^(−y·(1.5976 + 0.070566·y²))) (max error about 1.4e-4), so
 * φ = log10(1 + e^z) with z = y·(1.5976 + 0.070566·y²). z grows strictly with y, so φ grows
 * strictly with the silence; the form is computed without overflow for any silence.
 */
export function phi(elapsed: number, mean: number, stdDeviation: number): number {
  const y = (elapsed - mean) / stdDeviation
  const z = y * (1.5976 + 0.070566 * y * y)
  // log(1 + e^z) = z + log(1 + e^-z) for z > 0, which never overflows.
  const ln = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))
  return ln / Math.LN10
}

/**
 * The arrival history of one peer's heartbeats: a sliding window of inter-arrival intervals with
 * running sums, seeded with the first-heartbeat estimate (two samples a quarter of it either side,
 * so mean = estimate and standard deviation = estimate / 4 until real intervals replace them).
 * Pure: time is whatever the caller passes.
 */
export class ArrivalWindow {
  private readonly settings: PhiAccrualSettings
  private readonly samples: Float64Array
  private next = 0
  private count = 0
  private sum = 0
  private sumOfSquares = 0
  /** When the last heartbeat arrived (or the window was restarted). */
  private last: number

  constructor(settings: PhiAccrualSettings, now: number) {
    this.settings = settings
    this.samples = new Float64Array(settings.maxSamples)
    const estimate = settings.firstHeartbeatEstimateMs
    this.record(estimate * 0.75)
    this.record(estimate * 1.25)
    this.last = now
  }

  /** A heartbeat arrived at `now`: the interval since the previous one joins the history. */
  heartbeat(now: number): void {
    const interval = now - this.last
    this.last = now
    if (interval >= 0) this.record(interval)
  }

  /**
   * Heard at `now`, but the interval since the previous arrival says nothing about the peer (this
   * node was away, or its link was down): the clock restarts without recording it.
   */
  restart(now: number): void {
    this.last = now
  }

  /** φ after the silence since the last arrival. */
  phi(now: number): number {
    return phi(now - this.last, this.mean() + this.settings.acceptablePauseMs, this.stdDeviation())
  }

  /** Milliseconds since the last arrival. */
  silence(now: number): number {
    return now - this.last
  }

  mean(): number {
    return this.sum / this.count
  }

  stdDeviation(): number {
    const mean = this.mean()
    const variance = Math.max(0, this.sumOfSquares / this.count - mean * mean)
    return Math.max(Math.sqrt(variance), this.settings.minStdDeviationMs)
  }

  private record(interval: number): void {
    const samples = this.samples
    if (this.count === samples.length) {
      const old = samples[this.next] as number
      this.sum -= old
      this.sumOfSquares -= old * old
    } else {
      this.count++
    }
    samples[this.next] = interval
    this.next = (this.next + 1) % samples.length
    this.sum += interval
    this.sumOfSquares += interval * interval
  }
}
