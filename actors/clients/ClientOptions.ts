import type { Registry } from 'prom-client'
import { resolveBreakerOptions, type BreakerOptions } from '../breaker/BreakerOptions.ts'

/** Health checks: one every `intervalMs` while healthy; while unhealthy the interval backs off to `maxIntervalMs` (the check is also the reconnection probe). */
export interface HealthOptions {
  /** Default 1000. */
  readonly intervalMs?: number
  /** Longest interval between checks while unhealthy (exponential backoff from `intervalMs`). Default 10 000. */
  readonly maxIntervalMs?: number
  /** A check that has not answered by then counts as a failure (`ERR_*_TIMEOUT`). Default 1000. */
  readonly timeoutMs?: number
  /** Consecutive failed checks that make the client unhealthy. Default 3. */
  readonly unhealthyAfter?: number
  /** Consecutive successful checks that make an unhealthy client healthy again. Default 2. */
  readonly healthyAfter?: number
  /** Jitter on backed-off intervals, [0, 1]: × (1 + random × jitter) from the system's Random. Default 0.2. */
  readonly jitter?: number
}

/** The breaker child: any BreakerOptions but `name` (default `<kind>:<client name>`) and the error classification, which the client supplies. */
export type ClientBreakerOptions = Omit<BreakerOptions, 'name' | 'recordError' | 'ignoreError' | 'registry'> & { readonly name?: string }

/** Options both client actors share. */
export interface CommonClientOptions {
  /** `[A-Za-z0-9_.:-]{1,64}`: metric label, health event field, error field. */
  readonly name: string
  readonly health?: HealthOptions
  /** The breaker child guarding the service; `false`: no breaker (every call goes to the service). */
  readonly breaker?: ClientBreakerOptions | false
  /** On stop: how long in-flight calls may finish before they are cut off and the connections end. Default 5000. */
  readonly drainTimeoutMs?: number
  /** prom-client Registry for the client's metrics (and its breaker's). Never the global one by default. */
  readonly registry?: Registry
}

export interface ResolvedHealth {
  readonly intervalMs: number
  readonly maxIntervalMs: number
  readonly timeoutMs: number
  readonly unhealthyAfter: number
  readonly healthyAfter: number
  readonly jitter: number
}

export interface ResolvedCommon {
  readonly name: string
  readonly health: ResolvedHealth
  readonly breaker: ClientBreakerOptions | false
  readonly drainTimeoutMs: number
  readonly registry: Registry | null
}

/** Breaker settings tuned for a service client: judge quickly (20 calls, 5 minimum), probe again after 1 s, back off to 30 s. */
export const DEFAULT_CLIENT_BREAKER: ClientBreakerOptions = {
  windowType: 'count',
  windowSize: 20,
  minimumCalls: 5,
  failureRateThreshold: 50,
  waitInOpenMs: 1000,
  backoff: { factor: 2, maxMs: 30_000, jitter: 0.2 },
  permittedCallsInHalfOpen: 2,
  maxWaitInHalfOpenMs: 30_000,
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/

function positive(problems: string[], label: string, value: number, integer = false): void {
  if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) problems.push(`${label} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`)
}

/** Checks and completes the shared options; every problem is pushed to `problems`. */
export function resolveCommon(options: CommonClientOptions, problems: string[]): ResolvedCommon {
  if (typeof options.name !== 'string' || !NAME.test(options.name)) problems.push(`name must match ${NAME.source}, got ${JSON.stringify(options.name)}`)
  const h = options.health ?? {}
  const health: ResolvedHealth = {
    intervalMs: h.intervalMs ?? 1000,
    maxIntervalMs: h.maxIntervalMs ?? Math.max(10_000, h.intervalMs ?? 1000),
    timeoutMs: h.timeoutMs ?? 1000,
    unhealthyAfter: h.unhealthyAfter ?? 3,
    healthyAfter: h.healthyAfter ?? 2,
    jitter: h.jitter ?? 0.2,
  }
  positive(problems, 'health.intervalMs', health.intervalMs)
  positive(problems, 'health.maxIntervalMs', health.maxIntervalMs)
  if (health.maxIntervalMs < health.intervalMs) problems.push(`health.maxIntervalMs (${health.maxIntervalMs}) must be ≥ health.intervalMs (${health.intervalMs})`)
  positive(problems, 'health.timeoutMs', health.timeoutMs)
  positive(problems, 'health.unhealthyAfter', health.unhealthyAfter, true)
  positive(problems, 'health.healthyAfter', health.healthyAfter, true)
  if (!(Number.isFinite(health.jitter) && health.jitter >= 0 && health.jitter <= 1)) problems.push(`health.jitter must be in [0, 1], got ${health.jitter}`)
  const drainTimeoutMs = options.drainTimeoutMs ?? 5000
  if (!(Number.isFinite(drainTimeoutMs) && drainTimeoutMs >= 0)) problems.push(`drainTimeoutMs must be a finite number ≥ 0, got ${drainTimeoutMs}`)
  let breaker: ClientBreakerOptions | false = false
  if (options.breaker !== false) {
    const given = options.breaker ?? {}
    const waitInOpenMs = given.waitInOpenMs ?? (DEFAULT_CLIENT_BREAKER.waitInOpenMs as number)
    // The default backoff must not undercut a longer open interval the caller chose.
    const backoff = given.backoff ?? { ...DEFAULT_CLIENT_BREAKER.backoff, maxMs: Math.max(30_000, waitInOpenMs) }
    breaker = { ...DEFAULT_CLIENT_BREAKER, ...given, backoff }
    // Checked here so a bad breaker option fails the client's construction, listed with the others, before anything connects.
    try {
      resolveBreakerOptions({ ...breaker, name: breaker.name ?? 'client' })
    } catch (error) {
      const inner = (error as { data?: { problems?: unknown } }).data?.problems
      for (const problem of Array.isArray(inner) ? inner : [String(error)]) problems.push(`breaker: ${String(problem)}`)
    }
  }
  return { name: options.name, health, breaker, drainTimeoutMs, registry: options.registry ?? null }
}
