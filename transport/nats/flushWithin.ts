import type { NatsConnection } from '@nats-io/nats-core'
import type { Clock } from '../../runtime/index.ts'

/**
 * Waits until the server has seen everything published so far, but no longer than `ms`: a flush
 * during an outage would otherwise wait for the reconnect, and shutdown must not hang on it.
 * Resolves true when the flush completed.
 */
export function flushWithin(connection: NatsConnection, clock: Clock, ms: number): Promise<boolean> {
  if (connection.isClosed()) return Promise.resolve(false)
  return new Promise<boolean>((resolve) => {
    const timer = clock.setTimer(ms, () => resolve(false))
    connection.flush().then(
      () => {
        clock.clearTimer(timer)
        resolve(true)
      },
      () => {
        clock.clearTimer(timer)
        resolve(false)
      },
    )
  })
}
