import { sameAddress, type ActorAddress } from './ActorAddress.ts'
import type { ActorRef } from './ActorRef.ts'
import { Envelope, EnvelopeKind, type Headers } from './Envelope.ts'
import { decodeError, encodeError, type EncodedError } from './errors.ts'
import { checkAddressTuple, checkEnvelope, checkHeaders, malformed, type ShardBounds } from './FrameValidation.ts'

/**
 * The positional wire shape of one envelope (`Codec.encode`) and of each entry of a legacy batch:
 * no field names on the wire.
 */
export type AddressTuple = [system: string, node: string, shard: number, path: string, uid: number]
export type EnvelopeTuple = [
  kind: number,
  target: AddressTuple,
  sender: AddressTuple | null,
  id: number,
  correlationId: number,
  headers: Headers | null,
  method: string,
  args: unknown[],
]

export type Resolve = (address: ActorAddress) => ActorRef<any>

/** Refs resolved while decoding one batch, by path; the full address is compared on a hit. */
export type RefCache = Map<string, { address: ActorAddress; ref: ActorRef<any> }>

export function toTuple(address: ActorAddress): AddressTuple {
  return [address.system, address.node, address.shard, address.path, address.uid]
}

export function toTupleEnvelope(envelope: Envelope): EnvelopeTuple {
  let args = envelope.args
  if (envelope.kind === EnvelopeKind.ReplyError) args = [encodeError(args[0])]
  return [
    envelope.kind,
    toTuple(envelope.target.address),
    envelope.sender === null ? null : toTuple(envelope.sender.address),
    envelope.id,
    envelope.correlationId,
    envelope.headers,
    envelope.method,
    args,
  ]
}

/** Untrusted input: every field is checked before the envelope is built (ERR_MALFORMED_FRAME with `data.reason`). */
export function fromTupleEnvelope(value: unknown, resolver: Resolve | null, bounds: ShardBounds | null, refs: RefCache | null): Envelope {
  if (!Array.isArray(value) || value.length !== 8) throw malformed('tables', 'frame is not an envelope tuple')
  const [kind, target, sender, id, correlationId, headers, method, args] = value as unknown[]
  // Timer envelopes are process-local and never cross a boundary.
  if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < EnvelopeKind.Tell || kind > EnvelopeKind.System || kind === EnvelopeKind.Timer) {
    throw malformed('kind', `unknown envelope kind ${String(kind)}`)
  }
  if (typeof id !== 'number') throw malformed('id', 'envelope id must be a number')
  if (typeof correlationId !== 'number') throw malformed('correlation', 'correlation id must be a number')
  if (!Array.isArray(args)) throw malformed('args', 'envelope args must be an array')
  if (headers !== null) checkHeaders(headers)
  checkEnvelope(kind, method, sender !== null, id, correlationId, args)
  const resolve = requireResolver(resolver)
  const targetRef = resolveCached(resolve, checkAddressTuple(target, bounds), refs)
  const senderRef = sender === null ? null : resolveCached(resolve, checkAddressTuple(sender, bounds), refs)
  const payload = kind === EnvelopeKind.ReplyError ? [decodeError(args[0] as EncodedError)] : args
  return new Envelope(kind as EnvelopeKind, targetRef, senderRef, id, correlationId, headers as Headers | null, method as string, payload)
}

/** Checked after the frame's own fields, so a malformed frame reports its own reason first. */
export function requireResolver(resolver: Resolve | null): Resolve {
  if (resolver === null) throw malformed('resolver', 'codec has no system bound to resolve addresses')
  return resolver
}

function resolveCached(resolve: Resolve, address: ActorAddress, refs: RefCache | null): ActorRef<any> {
  if (refs === null) return resolve(address)
  const hit = refs.get(address.path)
  if (hit !== undefined && sameAddress(hit.address, address)) return hit.ref
  const ref = resolve(address)
  // Safe within one batch: decoding is synchronous, so no actor starts or stops between two envelopes.
  refs.set(address.path, { address, ref })
  return ref
}
