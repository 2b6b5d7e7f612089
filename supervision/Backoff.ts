import type { Random } from '../runtime/index.ts'
import type { BackoffOptions } from './ChildSpec.ts'

/** Delay before restart number `attempt` (0-based): exponential, capped at maxMs, with jitter. */
export function backoffDelay(options: BackoffOptions, attempt: number, random: Random): number {
  const exponential = options.minMs * 2 ** Math.min(attempt, 52)
  const base = Math.min(options.maxMs, exponential)
  const jitter = options.jitter ?? 0
  return Math.min(options.maxMs, base * (1 + jitter * random.next()))
}
