import type { ActorRef } from './ActorRef.ts'

/** What an envelope carries. Replies travel as envelopes too, so a reply can cross a node. */
export const EnvelopeKind = {
  /** One-way message: `{method, args}`. */
  Tell: 0,
  /** Request that expects exactly one reply, correlated by the request's `id`. */
  Ask: 1,
  /** A queued stop: handled in mailbox order, after the messages sent before it. */
  Poison: 2,
  /** Successful reply; `args[0]` is the value, `correlationId` the request's id. */
  ReplyOk: 3,
  /** Failed reply; `args[0]` is the error (encoded `{code,name,message,data}` once it has crossed a boundary). */
  ReplyError: 4,
  /** A timer firing; `local` holds the timer entry so a cancelled timer's message is dropped. */
  Timer: 5,
  /**
   * Runtime control between systems (shards, nodes): `method` is `watch`, `unwatch` or
   * `terminated`; never delivered to a handler.
   */
  System: 6,
} as const
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind]

/** String map; carries W3C `traceparent`/`tracestate` and user headers across every hop. */
export type Headers = Record<string, string>

/**
 * The one envelope for every hop: same shard, across threads, across nodes. Same-shard delivery
 * passes `args` by reference; boundaries encode it with the Codec. The payload is `{method, args}`,
 * kept as two fields so a tell allocates one object, not two.
 *
 * A class (not an object literal) so every envelope shares one hidden class: property reads on the
 * dispatcher's hot path stay monomorphic.
 */
export class Envelope {
  constructor(
    kind: EnvelopeKind,
    target: ActorRef<any>,
    sender: ActorRef<any> | null,
    id: number,
    correlationId: number,
    headers: Headers | null,
    method: string,
    args: unknown[],
  ) {
    this.kind = kind
    this.target = target
    this.sender = sender
    this.id = id
    this.correlationId = correlationId
    this.headers = headers
    this.method = method
    this.args = args
    this.local = null
  }
  kind: EnvelopeKind
  /** Who the envelope is for. An ActorRef is an address plus a local fast path. */
  target: ActorRef<any>
  /** Who sent it, when an actor did; `null` from plain code. For an ask, where the reply goes. */
  sender: ActorRef<any> | null
  /** Unique per sending system; an ask's reply carries it back as `correlationId`. */
  id: number
  /** For replies, the id of the request; 0 otherwise. */
  correlationId: number
  headers: Headers | null
  /** Handler name on the target actor. */
  method: string
  args: unknown[]
  /** Process-local attachment (pending ask, timer entry). Never encoded; dropped at a boundary. */
  local: unknown
}
