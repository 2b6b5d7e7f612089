import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core'
import type { Logger } from '../../runtime/index.ts'
import { FrameSigner, type ClusterSecret } from '../../transport/nats/index.ts'
import type { NodeIntrospection } from './Introspection.ts'
import { decodeRequest, inspectSubject, InspectWireCodes, MAX_CONCURRENT_REQUESTS, NATS_TREE_MAX_ACTORS, type InspectReply, type InspectRequest } from './inspectProtocol.ts'

export interface NatsInspectOptions {
  readonly connection: NatsConnection
  readonly cluster: string
  readonly node: string
  readonly introspection: NodeIntrospection
  /** The node's /metrics text (a sharded node's includes its workers'). */
  readonly metrics: () => Promise<string>
  /** With a cluster secret, only signed requests are answered. */
  readonly secret?: ClusterSecret
  readonly logger: Logger
}

/** What the responder did, for tests and logs: answers, and refusals by code. */
export interface NatsInspectStats {
  answered: number
  readonly refused: Record<string, number>
}

/** A fallback when the server did not say (nats-server's default max_payload). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/**
 * The node's side of introspection over NATS: answers `troupe.<cluster>.inspect.<node>` with the
 * same documents as the HTTP API. Read-only; every request is decoded within bounds and checked
 * (inspectProtocol.ts); at most MAX_CONCURRENT_REQUESTS run at once, the rest are refused busy;
 * a reply larger than the server takes is replaced by ERR_INSPECT_TOO_LARGE (ask one shard, or fewer actors).
 */
export class NatsInspectResponder {
  readonly subject: string
  readonly stats: NatsInspectStats = { answered: 0, refused: {} }
  private readonly options: NatsInspectOptions
  private readonly signer: FrameSigner | null
  private readonly subscription: Subscription
  private inFlight = 0

  constructor(options: NatsInspectOptions) {
    this.options = options
    this.subject = inspectSubject(options.cluster, options.node)
    this.signer = options.secret === undefined ? null : new FrameSigner(options.secret)
    this.subscription = options.connection.subscribe(this.subject, { callback: (error, msg) => (error === null ? this.receive(msg) : undefined) })
  }

  private receive(msg: Msg): void {
    // A request without a reply subject has nobody to answer: dropped (counted).
    if (msg.reply === undefined || msg.reply === '') return this.count(InspectWireCodes.BadRequest)
    const decoded = decodeRequest(msg.data, msg.subject, msg.reply, this.signer)
    if ('refused' in decoded) return this.send(msg, decoded.refused)
    if (this.inFlight >= MAX_CONCURRENT_REQUESTS) return this.send(msg, { ok: false, code: InspectWireCodes.Busy, error: `more than ${MAX_CONCURRENT_REQUESTS} introspection requests at once; retry` })
    this.inFlight++
    this.answer(decoded).then(
      (reply) => this.send(msg, reply),
      (error: unknown) => {
        this.options.logger.warn({ err: error, op: decoded.op }, 'introspection over NATS failed')
        this.send(msg, { ok: false, code: InspectWireCodes.Failed, error: String(error) })
      },
    ).finally(() => this.inFlight--)
  }

  private async answer(request: InspectRequest): Promise<InspectReply> {
    const { introspection } = this.options
    switch (request.op) {
      case 'status':
        return { ok: true, body: await introspection.status() }
      case 'tree':
        return { ok: true, body: { shards: await introspection.tree(request.shard, request.max ?? NATS_TREE_MAX_ACTORS) } }
      case 'actor': {
        const path = request.path as string
        const actors = await introspection.actor(path, request.shard)
        return actors.length === 0 ? { ok: false, code: InspectWireCodes.NoSuchActor, error: `no live actor at '${path}'` } : { ok: true, body: { actors } }
      }
      case 'dead-letters':
        return { ok: true, body: { letters: await introspection.deadLetters() } }
      case 'metrics':
        return { ok: true, body: await this.options.metrics() }
    }
  }

  private send(msg: Msg, reply: InspectReply): void {
    let bytes = new TextEncoder().encode(JSON.stringify(reply))
    const limit = this.options.connection.info?.max_payload ?? DEFAULT_MAX_PAYLOAD
    if (bytes.byteLength > limit) {
      reply = { ok: false, code: InspectWireCodes.TooLarge, error: `the answer (${bytes.byteLength} bytes) exceeds the NATS server's max_payload (${limit}): ask one shard (--shard) or read it over HTTP` }
      bytes = new TextEncoder().encode(JSON.stringify(reply))
    }
    if (reply.ok) this.stats.answered++
    else this.count(reply.code)
    try {
      msg.respond(bytes)
    } catch (error) {
      // The connection is closing: the asker times out.
      this.options.logger.debug({ err: error }, 'introspection reply not sent')
    }
  }

  private count(code: string): void {
    this.stats.refused[code] = (this.stats.refused[code] ?? 0) + 1
  }

  close(): void {
    this.subscription.unsubscribe()
  }
}
