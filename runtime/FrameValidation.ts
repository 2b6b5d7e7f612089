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
