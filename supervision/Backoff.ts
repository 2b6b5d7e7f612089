import type { Random } from '../runtime/index.ts'
import type { BackoffOptions } from './ChildSpec.ts'

/**
 * Delay before restart number `attempt` (0-based), as Pekko computes it:
 * `min(maxMs, minMs * 2^attempt) * (1 + randomFactor * random)`. The random factor applies after
 * the cap, so a delay can exceed `maxMs` by up to `randomFactor * maxMs`.
 */
export function backoffDelay(options: BackoffOptions, attempt: number, random: Random): number {
  const capped = Math.min(options.maxMs, options.minMs * 2 ** Math.min(attempt, 52))
  const factor = options.randomFactor ?? 0
  return factor === 0 ? capped : capped * (1 + factor * random.next())
}

/** How long a child must run without failing before its backoff starts again from `minMs` (Akka typed's default). */
export function backoffResetAfter(options: BackoffOptions): number {
  return options.resetAfterMs ?? (options.minMs + options.maxMs) / 2
}
