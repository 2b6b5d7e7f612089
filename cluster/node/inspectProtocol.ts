/**
 * Introspection over NATS (docs/operations.md, "Over NATS"): a read-only request/reply subject per
 * node, `troupe.<cluster>.inspect.<node>`, answered by the node with what its HTTP API answers
 * (`/introspect/status|tree|actor|dead-letters` and `/metrics`). `troupe status|tree|actor|metrics
 * --nats` and the dashboard's view of other members use it. Requests are JSON, at most
 * MAX_REQUEST_BYTES, validated field by field; with a cluster secret they carry its signature over
 * the subject and the reply subject, so only holders of a cluster key are answered.
 */
import { z } from 'zod'
import { FrameSigner } from '../../transport/nats/index.ts'

export const INSPECT_OPS = ['status', 'tree', 'actor', 'dead-letters', 'metrics'] as const
export type InspectOp = (typeof INSPECT_OPS)[number]

/** A request's bytes (signature included) above this are refused before parsing. */
export const MAX_REQUEST_BYTES = 4096
/** Requests a node answers at once; more wait for nothing: they are refused (ERR_INSPECT_BUSY). */
export const MAX_CONCURRENT_REQUESTS = 8
/** Default `max` (actors per shard) of a tree over NATS: a reply must fit the server's max_payload. */
export const NATS_TREE_MAX_ACTORS = 2000

/** Stable codes of a refusal over NATS (the reply's `code`), as the HTTP API's. */
export const InspectWireCodes = {
  BadRequest: 'ERR_INSPECT_BAD_REQUEST',
  Unauthenticated: 'ERR_INSPECT_UNAUTHENTICATED',
  TooLarge: 'ERR_INSPECT_TOO_LARGE',
  Busy: 'ERR_INSPECT_BUSY',
  NoSuchActor: 'ERR_NO_SUCH_ACTOR',
  Failed: 'ERR_INSPECT_FAILED',
} as const

const requestSchema = z
  .object({
    op: z.enum(INSPECT_OPS),
    shard: z.number().int().min(0).max(4096).optional(),
    path: z.string().min(1).max(1024).startsWith('/').optional(),
    max: z.number().int().min(1).max(100_000).optional(),
  })
  .strict()
export type InspectRequest = z.infer<typeof requestSchema>

export type InspectReply = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly code: string; readonly error: string }

/** The subject a node answers introspection requests on. */
export function inspectSubject(cluster: string, node: string, prefix = 'troupe'): string {
  return `${prefix}.${cluster}.inspect.${node}`
}

/** What the signature covers: the subject and the reply subject (a captured request cannot be replayed to another inbox). */
function signedSubject(subject: string, reply: string): string {
  return `${subject} ${reply}`
}

export function encodeRequest(request: InspectRequest, subject: string, reply: string, signer: FrameSigner | null): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(request))
  return signer === null ? bytes : signer.sign(signedSubject(subject, reply), bytes)
}

/** Decodes and checks a request: the request, or a refusal to send back (typed, with what was wrong). */
export function decodeRequest(data: Uint8Array, subject: string, reply: string, signer: FrameSigner | null): InspectRequest | { readonly refused: InspectReply } {
  const refuse = (code: string, error: string): { refused: InspectReply } => ({ refused: { ok: false, code, error } })
  if (data.byteLength > MAX_REQUEST_BYTES) return refuse(InspectWireCodes.BadRequest, `request of ${data.byteLength} bytes exceeds ${MAX_REQUEST_BYTES}`)
  let payload: Uint8Array | null = data
  if (signer !== null) {
    payload = signer.verify(signedSubject(subject, reply), data)
    if (payload === null) return refuse(InspectWireCodes.Unauthenticated, 'the request carries no valid cluster signature: give the cluster secret (--cluster-secret-file or TROUPE_CLUSTER_SECRET)')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
  } catch {
    return refuse(InspectWireCodes.BadRequest, 'the request is not UTF-8 JSON')
  }
  const result = requestSchema.safeParse(parsed)
  if (!result.success) return refuse(InspectWireCodes.BadRequest, result.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; '))
  if (result.data.op === 'actor' && result.data.path === undefined) return refuse(InspectWireCodes.BadRequest, 'op actor needs a path')
  return result.data
}
