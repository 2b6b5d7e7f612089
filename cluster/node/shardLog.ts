import type { Logger } from '../../runtime/index.ts'
import type { ShardEvent } from '../../transport/index.ts'

/** A worker shard's crash, restart or give-up, as an operator log line. */
export function logShardEvent(logger: Logger, event: ShardEvent): void {
  const fields = { shard: event.shard, restarts: event.restarts, ...(event.exitCode === undefined ? {} : { exitCode: event.exitCode }), ...(event.error === undefined ? {} : { err: event.error }) }
  switch (event.event) {
    case 'down':
      logger.error(fields, 'worker shard crashed')
      return
    case 'up':
      logger.info(fields, 'worker shard restarted')
      return
    case 'start-failed':
      logger.warn(fields, 'worker shard failed to restart')
      return
    case 'gave-up':
      logger.error(fields, 'worker shard stays down (restart limit reached)')
      return
  }
}
