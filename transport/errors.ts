import { defineError } from '../runtime/index.ts'

export const TransportErrorCodes = {
  Full: 'ERR_TRANSPORT_FULL',
  Closed: 'ERR_TRANSPORT_CLOSED',
} as const

/** The outbound buffer for a peer is at its bound (the peer is slow or unreachable). */
export const TransportFullError = defineError(TransportErrorCodes.Full, 'TransportFullError')
export type TransportFullError = InstanceType<typeof TransportFullError>
/** The transport is closed. */
export const TransportClosedError = defineError(TransportErrorCodes.Closed, 'TransportClosedError')
export type TransportClosedError = InstanceType<typeof TransportClosedError>
