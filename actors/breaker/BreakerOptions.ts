import type { Registry } from 'prom-client'
import type { ActorRef } from '../../runtime/index.ts'
import { InvalidBreakerConfigError } from '../errors.ts'

/**
 * The states of a breaker. `closed`, `open` and `half_open` are the classic three; `disabled`
 * (always permits, records nothing), `metrics_only` (always permits, records, never opens) and
 * `forced_open` (always rejects) are operator states, left only by `reset`/`close` or another
 * operator call (resilience4j's special states).
 */
export type BreakerState = 'closed' | 'open' | 'half_open' | 'disabled' | 'metrics_only' | 'forced_open'

export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open', 'disabled', 'metrics_only', 'forced_open']

/** How a finished call is judged (the caller side classifies; the breaker counts). */
export type CallOutcome = 'success' | 'failure' | 'ignored' | 'timeout'

/** Exponential backoff of the open interval after consecutive failed recoveries (Pekko's `withExponentialBackoff`). */
export interface OpenBackoff {
  /** Each open interval after a failed half-open is the previous one times this. Default 2. */
  readonly factor?: number
  /** Upper bound of the open interval before jitter. Default 60 000 ms. */
  readonly maxMs?: number
  /** The interval is multiplied by `1 + random × jitter` (Pekko's `randomFactor`). Default 0. */
  readonly jitter?: number
}

export interface BreakerOptions {
  /** The breaker's name: metric label, event field, error field. Bounded set; `[A-Za-z0-9_.:-]{1,64}`. */
  readonly name: string
  /** `count`: the last `windowSize` calls. `time`: the calls of the last `windowSize` seconds (per-second buckets). Default `count`. */
  readonly windowType?: 'count' | 'time'
  /** Calls (count) or seconds (time) in the sliding window. Default 100 (count) / 60 (time). */
  readonly windowSize?: number
  /** No rate is judged before the window holds this many calls (Polly's MinimumThroughput). Default 100, at most the window size for a count window. */
  readonly minimumCalls?: number
  /** Open when failures ≥ this percentage of recorded calls. (0, 100]; default 50. */
  readonly failureRateThreshold?: number
  /** Open when slow calls ≥ this percentage of recorded calls. (0, 100]; default 100 (only when all are slow). */
  readonly slowCallRateThreshold?: number
  /** A call that takes longer than this is slow. Default 60 000 ms. */
  readonly slowCallDurationMs?: number
  /** Calls admitted in half-open; the breaker decides once they have all completed. Default 10. */
  readonly permittedCallsInHalfOpen?: number
  /**
   * Polly's half-open: one probe at a time, its outcome alone decides, and a probe still unresolved
   * after the open interval lets a new probe through (a stuck probe cannot wedge the breaker).
   * Excludes `permittedCallsInHalfOpen` > 1.
   */
  readonly singleProbe?: boolean
  /** How long the breaker stays open before it lets probes through. Default 60 000 ms. */
  readonly waitInOpenMs?: number
  /** Grows the open interval after each failed recovery; reset when the breaker closes. Default none. */
  readonly backoff?: OpenBackoff
  /**
   * Half-open for longer than this with probes still out goes back to open (a lost permit cannot
   * keep the breaker half-open). An idle half-open breaker waits for traffic instead of flapping.
   * 0 waits forever (resilience4j's default). Default 60 000 ms.
   */
  readonly maxWaitInHalfOpenMs?: number
  /** Per-call timeout at the caller: the call fails with ERR_BREAKER_CALL_TIMEOUT and counts as a failure at the deadline. 0: none. Default 0. */
  readonly callTimeoutMs?: number
  /** Errors that count as failures. Default: every error. */
  readonly recordError?: (error: unknown) => boolean
  /** Errors that count as nothing (the permit is released). Wins over `recordError`. Default: none. */
  readonly ignoreError?: (error: unknown) => boolean
  /** A result that counts as a failure although the call succeeded (an HTTP 503 reply, say). Default: none. */
  readonly recordResult?: (result: unknown) => boolean
  /** Whether the breaker's state survives a restart of its actor. Default `reset`. */
  readonly onRestart?: 'reset' | 'keep'
  /** Fast-path clients send their outcomes when this many have gathered, else after `reportDelayMs`. Default 256. */
  readonly reportBatch?: number
  /**
   * How long a fast-path client gathers successes before it sends them (one timer per batch, not
   * per call). A failure or a slow call is sent at once with what has gathered, since it may change
   * the state. 0: at the next timer turn. Default 5.
   */
  readonly reportDelayMs?: number
  /** Where the breaker's metrics go (never the global registry). Default: no metrics. */
  readonly registry?: Registry
  /**
   * Cluster-shared mode: breakers of the same name (on other nodes) this one exchanges state
   * changes with; more can join with `addPeer`. Default: none (state is per actor).
   */
  readonly peers?: readonly ActorRef<any>[]
}

/** Options with every default applied; what the core and the client read. */
export interface ResolvedBreakerOptions {
  readonly name: string
  readonly windowType: 'count' | 'time'
  readonly windowSize: number
  readonly minimumCalls: number
  readonly failureRateThreshold: number
  readonly slowCallRateThreshold: number
  readonly slowCallDurationMs: number
  readonly permittedCallsInHalfOpen: number
  readonly singleProbe: boolean
  readonly waitInOpenMs: number
  readonly backoffFactor: number
  readonly backoffMaxMs: number
  readonly backoffJitter: number
  readonly maxWaitInHalfOpenMs: number
  readonly callTimeoutMs: number
  readonly recordError: ((error: unknown) => boolean) | null
  readonly ignoreError: ((error: unknown) => boolean) | null
  readonly recordResult: ((result: unknown) => boolean) | null
  readonly onRestart: 'reset' | 'keep'
  readonly reportBatch: number
  readonly reportDelayMs: number
  readonly registry: Registry | null
  readonly peers: readonly ActorRef<any>[]
}

/** Default `reportDelayMs`: long enough to batch a few one-at-a-time calls, short next to any open interval. */
export const DEFAULT_REPORT_DELAY_MS = 5

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/
/** Bounds a time window's ring (one bucket per second). */
const MAX_TIME_WINDOW_S = 3600
const MAX_COUNT_WINDOW = 1_000_000

function isInt(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max
}

function isMs(value: number): boolean {
  return Number.isFinite(value) && value >= 0
}

/** Applies defaults and checks every field; throws one InvalidBreakerConfigError listing every problem. */
export function resolveBreakerOptions(options: BreakerOptions): ResolvedBreakerOptions {
  const problems: string[] = []
  const name = options.name
  if (typeof name !== 'string' || !NAME.test(name)) problems.push(`name must match ${String(NAME)}, got ${JSON.stringify(name)}`)
  const windowType = options.windowType ?? 'count'
  if (windowType !== 'count' && windowType !== 'time') problems.push(`windowType must be 'count' or 'time', got ${String(windowType)}`)
  const windowSize = options.windowSize ?? (windowType === 'time' ? 60 : 100)
  const maxWindow = windowType === 'time' ? MAX_TIME_WINDOW_S : MAX_COUNT_WINDOW
  if (!isInt(windowSize, 1, maxWindow)) problems.push(`windowSize must be an integer in [1, ${maxWindow}], got ${windowSize}`)
  let minimumCalls = options.minimumCalls ?? 100
  if (!isInt(minimumCalls, 1, Number.MAX_SAFE_INTEGER)) problems.push(`minimumCalls must be an integer ≥ 1, got ${minimumCalls}`)
  // A count window can never hold more calls than its size (resilience4j caps it the same way).
  if (windowType === 'count' && minimumCalls > windowSize) minimumCalls = windowSize
  const failureRateThreshold = options.failureRateThreshold ?? 50
  if (!(failureRateThreshold > 0 && failureRateThreshold <= 100)) problems.push(`failureRateThreshold must be in (0, 100], got ${failureRateThreshold}`)
  const slowCallRateThreshold = options.slowCallRateThreshold ?? 100
  if (!(slowCallRateThreshold > 0 && slowCallRateThreshold <= 100)) problems.push(`slowCallRateThreshold must be in (0, 100], got ${slowCallRateThreshold}`)
  const slowCallDurationMs = options.slowCallDurationMs ?? 60_000
  if (!isMs(slowCallDurationMs)) problems.push(`slowCallDurationMs must be a finite number ≥ 0, got ${slowCallDurationMs}`)
  const singleProbe = options.singleProbe ?? false
  const permittedCallsInHalfOpen = options.permittedCallsInHalfOpen ?? (singleProbe ? 1 : 10)
  if (!isInt(permittedCallsInHalfOpen, 1, 1_000_000)) problems.push(`permittedCallsInHalfOpen must be an integer ≥ 1, got ${permittedCallsInHalfOpen}`)
  if (singleProbe && permittedCallsInHalfOpen !== 1) problems.push(`singleProbe admits one probe; permittedCallsInHalfOpen must be 1, got ${permittedCallsInHalfOpen}`)
  const waitInOpenMs = options.waitInOpenMs ?? 60_000
  if (!(Number.isFinite(waitInOpenMs) && waitInOpenMs > 0)) problems.push(`waitInOpenMs must be a finite number > 0, got ${waitInOpenMs}`)
  const backoffFactor = options.backoff?.factor ?? (options.backoff === undefined ? 1 : 2)
  if (!(Number.isFinite(backoffFactor) && backoffFactor >= 1)) problems.push(`backoff.factor must be ≥ 1, got ${backoffFactor}`)
  const backoffMaxMs = options.backoff?.maxMs ?? Math.max(60_000, waitInOpenMs)
  if (!(Number.isFinite(backoffMaxMs) && backoffMaxMs >= waitInOpenMs)) problems.push(`backoff.maxMs must be ≥ waitInOpenMs (${waitInOpenMs}), got ${backoffMaxMs}`)
  const backoffJitter = options.backoff?.jitter ?? 0
  if (!(Number.isFinite(backoffJitter) && backoffJitter >= 0 && backoffJitter <= 1)) problems.push(`backoff.jitter must be in [0, 1], got ${backoffJitter}`)
  const maxWaitInHalfOpenMs = options.maxWaitInHalfOpenMs ?? 60_000
  if (!isMs(maxWaitInHalfOpenMs)) problems.push(`maxWaitInHalfOpenMs must be a finite number ≥ 0, got ${maxWaitInHalfOpenMs}`)
  const callTimeoutMs = options.callTimeoutMs ?? 0
  if (!isMs(callTimeoutMs)) problems.push(`callTimeoutMs must be a finite number ≥ 0, got ${callTimeoutMs}`)
  for (const key of ['recordError', 'ignoreError', 'recordResult'] as const) {
    const fn = options[key]
    if (fn !== undefined && typeof fn !== 'function') problems.push(`${key} must be a function`)
  }
  const onRestart = options.onRestart ?? 'reset'
  if (onRestart !== 'reset' && onRestart !== 'keep') problems.push(`onRestart must be 'reset' or 'keep', got ${String(onRestart)}`)
  if (options.peers !== undefined && !Array.isArray(options.peers)) problems.push('peers must be an array of actor refs')
  const reportBatch = options.reportBatch ?? 256
  if (!isInt(reportBatch, 1, 65_536)) problems.push(`reportBatch must be an integer in [1, 65536], got ${reportBatch}`)
  const reportDelayMs = options.reportDelayMs ?? DEFAULT_REPORT_DELAY_MS
  if (!(Number.isFinite(reportDelayMs) && reportDelayMs >= 0 && reportDelayMs <= 1000)) problems.push(`reportDelayMs must be a number in [0, 1000], got ${reportDelayMs}`)
  if (problems.length > 0) {
    throw new InvalidBreakerConfigError(`invalid circuit breaker options: ${problems.join('; ')}`, { data: { problems } })
  }
  return {
    name,
    windowType,
    windowSize,
    minimumCalls,
    failureRateThreshold,
    slowCallRateThreshold,
    slowCallDurationMs,
    permittedCallsInHalfOpen,
    singleProbe,
    waitInOpenMs,
    backoffFactor,
    backoffMaxMs,
    backoffJitter,
    maxWaitInHalfOpenMs,
    callTimeoutMs,
    recordError: options.recordError ?? null,
    ignoreError: options.ignoreError ?? null,
    recordResult: options.recordResult ?? null,
    onRestart,
    reportBatch,
    reportDelayMs,
    registry: options.registry ?? null,
    peers: options.peers ?? [],
  }
}
