import type { ActorAddress } from './ActorAddress.ts'
import { MalformedFrameError } from './errors.ts'

/**
 * Field checks for what arrives from another thread or node. Decoded bytes are hostile until every
 * field is proven well-formed: each refusal is a MalformedFrameError whose `data.reason` is a short
 * stable token (counted by Remoting, listed in docs/protocol.md).
 */

/** Why a frame or payload was refused: a stable token for metrics and logs. */
export type MalformedReason =
  | 'length'
  | 'depth'
  | 'elements'
  | 'truncated'
  | 'trailing'
  | 'reserved-byte'
  | 'extension'
  | 'record'
  | 'records'
  | 'map-key'
  | 'version'
  | 'reserved'
  | 'count'
  | 'tables'
  | 'kind'
  | 'flags'
  | 'id'
  | 'correlation'
  | 'table-index'
  | 'address'
  | 'system'
  | 'node'
  | 'shard'
  | 'path'
  | 'uid'
  | 'method'
  | 'headers'
  | 'sender'
  | 'args'
  | 'error'
  | 'resolver'
  | 'decode'

export function malformed(reason: MalformedReason, message: string, cause?: unknown): MalformedFrameError {
  return new MalformedFrameError(message, cause === undefined ? { data: { reason } } : { data: { reason }, cause })
}

/** The reason token of a refusal (`decode` when it carries none). */
export function malformedReason(error: unknown): string {
  const data = (error as { data?: { reason?: unknown } } | null)?.data
  return typeof data?.reason === 'string' ? data.reason : 'decode'
}

/**
 * Largest shard number accepted in an address. The runtime cannot know every node's shard count,
 * so this is a documented bound (a node runs one shard per core); addresses on this node are
 * checked against its real count where the codec is told it (`CodecOptions.shardCount`).
 */
export const MAX_SHARD = 1023

/** A NATS subject token (transport/nats/subjects.ts has the same rule): no `.`, `*`, `>` or whitespace, not empty. */
const TOKEN = /^[^.*>\s]+$/
/** `/seg/seg…`: segments are actor names (ActorSystem's name characters, `$` for unnamed actors). */
const PATH = /^(?:\/[A-Za-z0-9_\-.~:@+=$]+)+$/

export function isSubjectToken(value: unknown): value is string {
  return typeof value === 'string' && TOKEN.test(value)
}

/** A non-negative integer a float64 holds exactly (ids, uids, correlation ids). */
export function isSafeCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/**
 * Checks the five fields of an address as they arrived. `shardCount` bounds shards of addresses
 * on `localNode` (null: only the documented MAX_SHARD bound).
 */
export function checkAddress(system: unknown, node: unknown, shard: unknown, path: unknown, uid: unknown, bounds: ShardBounds | null): ActorAddress {
  if (!isSubjectToken(system)) throw malformed('system', 'address has an invalid system name')
  if (!isSubjectToken(node)) throw malformed('node', 'address has an invalid node name')
  if (!isSafeCount(shard) || shard > MAX_SHARD) throw malformed('shard', 'address has an invalid shard')
  if (bounds !== null && node === bounds.node && shard >= bounds.shardCount) throw malformed('shard', `address names shard ${shard} of this node, which has ${bounds.shardCount}`)
  if (typeof path !== 'string' || !PATH.test(path)) throw malformed('path', 'address has an invalid actor path')
  if (!isSafeCount(uid)) throw malformed('uid', 'address has an invalid uid')
  return { system, node, shard, path, uid }
}

/** The local node and how many shards it runs: addresses on it must name one of them. */
export interface ShardBounds {
  readonly node: string
  readonly shardCount: number
}

/** An address as the legacy tuple `[system, node, shard, path, uid]`. */
export function checkAddressTuple(tuple: unknown, bounds: ShardBounds | null): ActorAddress {
  if (!Array.isArray(tuple) || tuple.length !== 5) throw malformed('address', 'an address must be a 5-tuple')
  return checkAddress(tuple[0], tuple[1], tuple[2], tuple[3], tuple[4], bounds)
}

/** Headers are a plain object of string values (W3C trace context, user headers). */
export function checkHeaders(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    throw malformed('headers', 'headers must be a map of strings')
  }
  for (const key in value) {
    if (typeof (value as Record<string, unknown>)[key] !== 'string') throw malformed('headers', 'headers must be a map of strings')
  }
}

// Envelope kinds as numbers (Envelope.ts): kept literal so this file needs no runtime import of it.
const TELL = 0
const ASK = 1
const POISON = 2
const REPLY_OK = 3
const REPLY_ERROR = 4
const SYSTEM = 6

/** The system methods ActorSystem.deliverInbound handles. */
const SYSTEM_METHODS = new Set(['watch', 'unwatch', 'terminated'])
const EXIT_KINDS = new Set(['normal', 'shutdown', 'killed', 'failure', 'not-found', 'node-down', 'shard-down'])

/**
 * Checks a decoded envelope's fields against its kind, before anything is delivered. `kind` is
 * already known to be one that crosses boundaries; `args` is an array.
 */
export function checkEnvelope(kind: number, method: unknown, hasSender: boolean, id: number, correlationId: number, args: readonly unknown[]): void {
  if (!isSafeCount(id)) throw malformed('id', 'envelope id must be a non-negative integer')
  if (!isSafeCount(correlationId)) throw malformed('correlation', 'correlation id must be a non-negative integer')
  if (typeof method !== 'string') throw malformed('method', 'method must be a string')
  switch (kind) {
    case TELL:
    case ASK:
      if (method.length === 0) throw malformed('method', 'method must not be empty')
      if (kind === ASK && !hasSender) throw malformed('sender', 'an ask must carry a sender for its reply')
      if (correlationId !== 0) throw malformed('correlation', 'only replies carry a correlation id')
      return
    case POISON:
      if (method.length !== 0) throw malformed('method', 'poison carries no method')
      if (args.length !== 0) throw malformed('args', 'poison carries no args')
      if (correlationId !== 0) throw malformed('correlation', 'only replies carry a correlation id')
      return
    case REPLY_OK:
    case REPLY_ERROR:
      if (correlationId === 0) throw malformed('correlation', 'a reply must carry the request id')
      if (args.length !== 1) throw malformed('args', 'a reply carries exactly one value')
      if (kind === REPLY_ERROR) checkEncodedError(args[0])
      return
    case SYSTEM:
      if (!hasSender) throw malformed('sender', 'a system envelope must carry a sender')
      if (!SYSTEM_METHODS.has(method)) throw malformed('method', 'unknown system method')
      if (correlationId !== 0) throw malformed('correlation', 'only replies carry a correlation id')
      if (method === 'terminated') checkExitReason(args)
      else if (args.length !== 0) throw malformed('args', `${method} carries no args`)
      return
    default:
      throw malformed('kind', `unknown envelope kind ${kind}`)
  }
}

/** `{code, name, message, data?}`: what decodeError rebuilds a class from. */
export function checkEncodedError(value: unknown): void {
  const encoded = value as { code?: unknown; name?: unknown; message?: unknown } | null
  if (
    encoded === null ||
    typeof encoded !== 'object' ||
    Array.isArray(encoded) ||
    typeof encoded.code !== 'string' ||
    typeof encoded.message !== 'string' ||
    (encoded.name !== undefined && typeof encoded.name !== 'string')
  ) {
    throw malformed('error', 'a reply error must be {code, name, message, data?}')
  }
}

/** A `terminated` notice's args: `[kind, error?, node?, shard?]` as encodeExitReason writes them. */
function checkExitReason(args: readonly unknown[]): void {
  const kind = args[0]
  if (typeof kind !== 'string' || !EXIT_KINDS.has(kind) || args.length > 4) throw malformed('args', 'malformed exit reason')
  if (kind === 'failure') checkEncodedError(args[1])
  if ((kind === 'node-down' || kind === 'shard-down') && !isSubjectToken(args[2])) throw malformed('args', 'malformed exit reason')
  if (kind === 'shard-down' && (!isSafeCount(args[3]) || args[3] > MAX_SHARD)) throw malformed('args', 'malformed exit reason')
}
