import { defineError } from '../../runtime/index.ts'

export const NatsErrorCodes = {
  /** The NATS link is down and the outbound buffer is at its bound. */
  NatsDown: 'ERR_NATS_DOWN',
} as const

/**
 * The NATS link is down (or a peer is not confirmed reachable yet after a reconnect) and the frames
 * already buffered reached the transport's bound: the send is refused rather than dropped.
 * (`defineError` registers the code, so the error is rebuilt when it crosses a node in a reply.)
 */
export const NatsDownError = defineError(NatsErrorCodes.NatsDown, 'NatsDownError')
export type NatsDownError = InstanceType<typeof NatsDownError>
