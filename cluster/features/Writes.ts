import type { Clock } from '../../runtime/index.ts'
import { ClusterStateErrorCodes, type ApplyResult } from '../membership/index.ts'
import { ClusterFeaturesStoppedError } from './errors.ts'

/** Errors that say "not now" (no quorum, an election, a follower's read): the command is idempotent, so retrying is safe. */
export function isRetriable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === ClusterStateErrorCodes.NoQuorum || code === 'ERR_RAFT_NOT_LEADER' || code === 'ERR_RAFT_READ_ABORTED'
}

/**
 * Runs an idempotent cluster-state write, retrying retriable refusals with capped backoff until
 * `deadlineMs` has passed; then rejects with the last error (ERR_CLUSTER_NO_QUORUM: outcome unknown).
 * Refusals (a name conflict, a quarantined member) reject at once.
 */
export async function writeWithRetry(clock: Clock, deadlineMs: number, stopped: () => boolean, write: () => Promise<ApplyResult>): Promise<ApplyResult> {
  const deadline = clock.now() + deadlineMs
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    if (stopped()) throw new ClusterFeaturesStoppedError('cluster features stopped')
    try {
      return await write()
    } catch (error) {
      if (!isRetriable(error) || clock.now() + delay >= deadline) throw error
    }
    await sleep(clock, delay)
  }
}

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve))
}
