/**
 * The five rate-limit algorithms as pure functions of (state, now, cost): no clock, no store. The
 * local limiter keeps their states in a Map; the Redis scripts (redisScripts.ts) implement the same
 * rules in Lua, so a decision means the same thing on both stores.
 *
 * Every algorithm refuses without consuming: a refused request leaves the state as it was.
 */
import type { Verdict } from './Decision.ts'
import type { AlgorithmSpec, FixedWindowSpec, GcraSpec, SlidingLogSpec, SlidingWindowSpec, TokenBucketSpec } from './LimiterSpec.ts'
import { limitOf } from './LimiterSpec.ts'

export interface Algorithm<S> {
  readonly limit: number
  /** Whether costs must be whole units (all but the token bucket). */
  readonly integerCost: boolean
  /** Decides a request of `cost` (0 peeks). `next` is the state to keep; a refusal returns the state unchanged. */
  decide(state: S | undefined, now: number, cost: number): { verdict: Verdict; next: S | undefined }
  /** Consumes `delta` whatever the limit (penalty), or gives `-delta` back (reward). */
  adjust(state: S | undefined, now: number, delta: number): S | undefined
  /** ms from `now` until the state is fully rested; <= 0 means it can be dropped. */
  ttl(state: S, now: number): number
}

const verdict = (allowed: boolean, remaining: number, retryAfter: number, resetAfter: number): Verdict => ({
  allowed,
  remaining: Math.max(0, remaining),
  retryAfter: allowed ? 0 : retryAfter,
  resetAfter: Math.max(0, resetAfter),
})

/**
 * GCRA as redis-cell computes it: the state is the theoretical arrival time (TAT); a request of
 * `cost` moves it by cost × emission interval and passes if the new TAT is within the delay
 * variation tolerance (limit × emission) of now.
 */
export function gcra(spec: GcraSpec): Algorithm<number> {
  const emission = spec.periodMs / spec.countPerPeriod
  const limit = spec.maxBurst + 1
  const tolerance = emission * limit
  const remainingAt = (ttl: number): number => {
    const next = tolerance - ttl
    return next > -emission ? Math.trunc(next / emission) : 0
  }
  return {
    limit,
    integerCost: true,
    decide(state, now, cost) {
      const tat = state === undefined || state < now ? now : state
      const increment = emission * cost
      const newTat = tat + increment
      const diff = now - (newTat - tolerance)
      if (diff < 0) {
        // A cost above the limit can never pass: redis-cell leaves retry_after at -1.
        const retry = increment <= tolerance ? -diff : -1
        const ttl = tat - now
        return { verdict: { allowed: false, remaining: remainingAt(ttl), retryAfter: retry, resetAfter: ttl }, next: state }
      }
      const ttl = newTat - now
      return { verdict: verdict(true, remainingAt(ttl), 0, ttl), next: cost === 0 ? state : newTat }
    },
    adjust(state, now, delta) {
      const tat = state === undefined || state < now ? now : state
      const next = Math.max(now, tat + emission * delta)
      return next > now ? next : undefined
    },
    ttl: (state, now) => state - now,
  }
}

export interface TokenBucketState {
  tokens: number
  at: number
}

/** Tokens refill continuously (fractions kept); a request takes `cost` tokens if that many are there. */
export function tokenBucket(spec: TokenBucketSpec): Algorithm<TokenBucketState> {
  const rate = spec.refillTokens / spec.refillIntervalMs
  const capacity = spec.capacity
  const level = (state: TokenBucketState | undefined, now: number): number =>
    state === undefined ? capacity : Math.min(capacity, state.tokens + Math.max(0, now - state.at) * rate)
  return {
    limit: capacity,
    integerCost: false,
    decide(state, now, cost) {
      const tokens = level(state, now)
      if (cost > capacity) return { verdict: verdict(false, Math.floor(tokens), -1, (capacity - tokens) / rate), next: state }
      // The tolerance absorbs float error in the refill, so waiting exactly retryAfter admits.
      if (tokens + 1e-9 < cost) return { verdict: verdict(false, Math.floor(tokens), (cost - tokens) / rate, (capacity - tokens) / rate), next: state }
      const left = Math.max(0, tokens - cost)
      return { verdict: verdict(true, Math.floor(left), 0, (capacity - left) / rate), next: cost === 0 ? state : { tokens: left, at: now } }
    },
    adjust(state, now, delta) {
      // A penalty may take the bucket below zero: that debt refills like any other deficit.
      const tokens = Math.min(capacity, level(state, now) - delta)
      return tokens >= capacity ? undefined : { tokens, at: now }
    },
    ttl: (state, now) => (capacity - level(state, now)) / rate,
  }
}

export interface FixedWindowState {
  start: number
  count: number
}

export function fixedWindow(spec: FixedWindowSpec): Algorithm<FixedWindowState> {
  const { limit, windowMs } = spec
  const live = (state: FixedWindowState | undefined, now: number): FixedWindowState | undefined =>
    state !== undefined && now < state.start + windowMs ? state : undefined
  return {
    limit,
    integerCost: true,
    decide(state, now, cost) {
      const current = live(state, now)
      const count = current?.count ?? 0
      const resetAfter = current === undefined ? 0 : current.start + windowMs - now
      if (cost > limit) return { verdict: verdict(false, limit - count, -1, resetAfter), next: state }
      if (count + cost > limit) return { verdict: verdict(false, limit - count, resetAfter, resetAfter), next: state }
      if (cost === 0) return { verdict: verdict(true, limit - count, 0, resetAfter), next: state }
      const next = current === undefined ? { start: now, count: cost } : { start: current.start, count: count + cost }
      return { verdict: verdict(true, limit - next.count, 0, next.start + windowMs - now), next }
    },
    adjust(state, now, delta) {
      const current = live(state, now)
      const count = Math.max(0, (current?.count ?? 0) + delta)
      if (count === 0) return current === undefined ? undefined : { start: current.start, count }
      return { start: current?.start ?? now, count }
    },
    ttl: (state, now) => state.start + windowMs - now,
  }
}

/** The log: one timestamp per admitted unit, oldest first. Mutated in place by its algorithm. */
export type SlidingLogState = number[]

export function slidingLog(spec: SlidingLogSpec): Algorithm<SlidingLogState> {
  const { limit, windowMs } = spec
  // An entry stamped t counts while now - windowMs < t, i.e. within (now - windowMs, now].
  const prune = (log: SlidingLogState | undefined, now: number): SlidingLogState => {
    if (log === undefined) return []
    let drop = 0
    while (drop < log.length && (log[drop] as number) <= now - windowMs) drop++
    // In place: the local store owns its states, and a copy per request would cost O(limit).
    if (drop > 0) log.splice(0, drop)
    return log
  }
  return {
    limit,
    integerCost: true,
    decide(state, now, cost) {
      const log = prune(state, now)
      const newest = log.length === 0 ? undefined : log[log.length - 1]
      const resetAfter = newest === undefined ? 0 : newest + windowMs - now
      if (cost > limit) return { verdict: verdict(false, limit - log.length, -1, resetAfter), next: log }
      const excess = log.length + cost - limit
      if (excess > 0) {
        // The request fits once the `excess` oldest entries have left the window.
        const retry = (log[excess - 1] as number) + windowMs - now
        return { verdict: verdict(false, limit - log.length, retry, resetAfter), next: log }
      }
      if (cost === 0) return { verdict: verdict(true, limit - log.length, 0, resetAfter), next: log }
      for (let i = 0; i < cost; i++) log.push(now)
      return { verdict: verdict(true, limit - log.length, 0, windowMs), next: log }
    },
    adjust(state, now, delta) {
      const log = prune(state, now)
      if (delta > 0) for (let i = 0; i < delta; i++) log.push(now)
      else log.splice(Math.max(0, log.length + delta))
      return log.length === 0 ? undefined : log
    },
    ttl: (state, now) => (state.length === 0 ? 0 : (state[state.length - 1] as number) + windowMs - now),
  }
}

export interface SlidingWindowState {
  /** Start of the current window (a multiple of windowMs). */
  start: number
  previous: number
  current: number
}

export function slidingWindow(spec: SlidingWindowSpec): Algorithm<SlidingWindowState> {
  const { limit, windowMs } = spec
  const roll = (state: SlidingWindowState | undefined, now: number): SlidingWindowState => {
    const start = Math.floor(now / windowMs) * windowMs
    if (state === undefined || state.start + windowMs * 2 <= now) return { start, previous: 0, current: 0 }
    if (state.start === start) return state
    return { start, previous: state.current, current: 0 }
  }
  const estimate = (s: SlidingWindowState, now: number): number => (s.previous * (windowMs - (now - s.start))) / windowMs + s.current
  const resetAfter = (s: SlidingWindowState, now: number): number =>
    s.current > 0 ? s.start + 2 * windowMs - now : s.previous > 0 ? s.start + windowMs - now : 0
  /** When `cost` more would fit, assuming nothing else arrives. */
  const retryAfter = (s: SlidingWindowState, now: number, cost: number): number => {
    const elapsed = now - s.start
    if (s.current + cost <= limit && s.previous > 0) {
      const at = windowMs - ((limit - s.current - cost) * windowMs) / s.previous
      if (at < windowMs) return Math.max(0, at - elapsed)
    }
    const at = s.current === 0 ? 0 : Math.max(0, windowMs - ((limit - cost) * windowMs) / s.current)
    return windowMs - elapsed + at
  }
  return {
    limit,
    integerCost: true,
    decide(state, now, cost) {
      const s = roll(state, now)
      const used = estimate(s, now)
      if (cost > limit) return { verdict: verdict(false, Math.floor(limit - used), -1, resetAfter(s, now)), next: state }
      // The tolerance absorbs float error in the weight, so waiting exactly retryAfter admits.
      if (used + cost > limit + 1e-9) return { verdict: verdict(false, Math.floor(limit - used + 1e-9), retryAfter(s, now, cost), resetAfter(s, now)), next: state }
      if (cost === 0) return { verdict: verdict(true, Math.floor(limit - used + 1e-9), 0, resetAfter(s, now)), next: state }
      const next = { start: s.start, previous: s.previous, current: s.current + cost }
      return { verdict: verdict(true, Math.floor(limit - used - cost + 1e-9), 0, resetAfter(next, now)), next }
    },
    adjust(state, now, delta) {
      const s = roll(state, now)
      let current = s.current + delta
      let previous = s.previous
      if (current < 0) {
        previous = Math.max(0, previous + current)
        current = 0
      }
      return current === 0 && previous === 0 ? undefined : { start: s.start, previous, current }
    },
    ttl: (state, now) => resetAfter(roll(state, now), now),
  }
}

export function algorithmFor(spec: AlgorithmSpec): Algorithm<unknown> {
  switch (spec.algorithm) {
    case 'gcra':
      return gcra(spec) as Algorithm<unknown>
    case 'token-bucket':
      return tokenBucket(spec) as Algorithm<unknown>
    case 'fixed-window':
      return fixedWindow(spec) as Algorithm<unknown>
    case 'sliding-log':
      return slidingLog(spec) as Algorithm<unknown>
    case 'sliding-window':
      return slidingWindow(spec) as Algorithm<unknown>
  }
}

export { limitOf }
