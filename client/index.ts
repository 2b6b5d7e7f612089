/**
 * Public entry point of the external client (`troupe/client`): call published actors from any
 * Node.js program over NATS, typed by the actors' protocol interfaces. Loads nats.js and msgpackr,
 * nothing of the runtime.
 */
export { RemoteActor, TroupeClient } from './TroupeClient.ts'
export type { CallOptions, ConnectOptions, Encoding, Remote, TroupeClientOptions } from './TroupeClient.ts'
export { ACTOR_REF_EXTENSION, readMsgpack, refText } from './ReplyReader.ts'
export type { MsgpackExtension, RemoteRef } from './ReplyReader.ts'
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
