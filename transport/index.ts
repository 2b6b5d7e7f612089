/** Public entry point of the transport layer (`troupe/transport`). */
export { Remoting } from './Remoting.ts'
export type { RemotingOptions, RemotingStats } from './Remoting.ts'
export { systemKey } from './FrameTransport.ts'
export type { FrameTransport, SystemAddress } from './FrameTransport.ts'
export { TransportClosedError, TransportErrorCodes, TransportFullError } from './errors.ts'
