import { headers as natsHeaders, type Msg, type Subscription } from '@nats-io/nats-core'
import { UnknownMethodError, type ActorRef, type Headers } from '../../runtime/index.ts'
import { BadRequestError, MalformedRequestError, PayloadTooLargeError } from './errors.ts'
import { isCodeToken, OTHER_OUTCOME_LABEL, UNKNOWN_METHOD_LABEL } from './GatewayStats.ts'
import { decodePayload } from './PayloadCodec.ts'
import type { Publication } from './Publication.ts'
import { header, headerBytes, timeoutOf } from './RequestHeaders.ts'
import { GatewayHeaders, TRACE_HEADERS, type ContentType } from './protocol.ts'

/** A gateway's bounds on one request, resolved from its options once. */
export interface CallLimits {
  readonly maxPayloadBytes: number
  readonly defaultTimeoutMs: number
  readonly maxTimeoutMs: number
}

export interface Published {
  readonly name: string
  readonly ref: ActorRef<any>
  readonly publication: Publication
  readonly subscription: Subscription
}

/** A refusal before the actor is involved. */
export class Refusal {
  readonly error: Error
  /** The bounded method label (a published method, or UNKNOWN_METHOD_LABEL). */
  readonly method: string
  constructor(error: Error, method = UNKNOWN_METHOD_LABEL) {
    this.error = error
    this.method = method
  }
}

/** A call that passed the gateway's checks on the request itself; its arguments are checked next. */
export interface Call {
  readonly method: string
  readonly args: unknown[]
  readonly timeoutMs: number
  readonly headers: Headers
}

/** Everything the gateway checks on the request before its arguments. */
export function parseCall(entry: Published, msg: Msg, type: ContentType, limits: CallLimits): Refusal | Call {
  const size = msg.data.byteLength + headerBytes(msg.headers)
  if (size > limits.maxPayloadBytes) {
    return new Refusal(
      new PayloadTooLargeError(`request is ${size} bytes (payload and headers); the limit is ${limits.maxPayloadBytes}`, {
        data: { size, limit: limits.maxPayloadBytes },
      }),
    )
  }
  const timeoutMs = timeoutOf(msg.headers, limits.defaultTimeoutMs, limits.maxTimeoutMs)
  if (timeoutMs instanceof Error) return new Refusal(timeoutMs)
  let payload: unknown
  try {
    payload = decodePayload(type, msg.data)
  } catch (error) {
    const reason = (error as { data?: { reason?: unknown } }).data?.reason
    return new Refusal(
      new MalformedRequestError(`payload is not valid ${type}: ${(error as Error).message}`.slice(0, 300), typeof reason === 'string' ? { data: { reason } } : undefined),
    )
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return new Refusal(new BadRequestError('the request must be an object {method, args}'))
  }
  const { method, args = [] } = payload as { method?: unknown; args?: unknown }
  if (typeof method !== 'string' || method.length === 0) return new Refusal(new BadRequestError("'method' must be a non-empty string"))
  if (!entry.publication.methods.has(method)) {
    // The caller's method name goes back to the caller only, never into a label or a log.
    return new Refusal(new UnknownMethodError(`'${entry.name}' has no published method '${method.slice(0, 100)}'`, { data: { method: method.slice(0, 100) } }))
  }
  if (!Array.isArray(args)) return new Refusal(new BadRequestError("'args' must be an array"), method)
  const headers: Record<string, string> = {}
  for (const name of TRACE_HEADERS) {
    const value = header(msg.headers, name)
    if (value.length > 0) headers[name] = value
  }
  return { method, args, timeoutMs, headers }
}

/** Sends an encoded reply (with the error code header when it is an error). */
export function respond(msg: Msg, type: ContentType, payload: Uint8Array, errorCode: string | undefined): void {
  try {
    const headers = natsHeaders()
    headers.set(GatewayHeaders.ContentType, type)
    // An actor's own code may hold anything (CR/LF included): only a plain token goes in a header.
    if (errorCode !== undefined) headers.set(GatewayHeaders.Error, isCodeToken(errorCode) ? errorCode : OTHER_OUTCOME_LABEL)
    msg.respond(payload, { headers })
  } catch {
    // The connection closed under us; the caller's request times out on its side.
  }
}
