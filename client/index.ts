/**
 * Public entry point of the external client (`troupe/client`): call published actors from any
 * Node.js program over NATS, typed by the actors' protocol interfaces. Loads nats.js and msgpackr,
 * nothing of the runtime.
 */
export { RemoteActor, TroupeClient } from './TroupeClient.ts'
export type { CallOptions, ConnectOptions, Encoding, TroupeClientOptions } from './TroupeClient.ts'
export {
  BadRequestError,
  CallErrorCodes,
  DeadlineExceededError,
  errorFromReply,
  InvalidArgsError,
  MalformedRequestError,
  PayloadTooLargeError,
  TroupeCallError,
  UnknownActorError,
  UnknownMethodError,
} from './errors.ts'
