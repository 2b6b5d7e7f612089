/**
 * Temporary suite `limiter` (`npm run bench -- limiter`): the rate-limiter cases on their own until
 * the `components` suite runs them through `limiterBench()`.
 */
import type { Suite } from './harness.ts'
import { limiterBench, limiterCases } from './componentsLimiter.ts'

const strip = (name: string): string => name.replace(/^limiter\./, '')

export const suite: Suite = {
  description: 'rate limiters: local and Redis decisions/s vs a Map increment / raw INCR in the same run (needs Redis: REDIS_URL or redis-server)',
  cases: limiterCases.map(strip),
  run: ({ only }) => limiterBench(only === null ? null : new Set([...only].map((c) => `limiter.${c}`))),
}
