import type { PendingAsk } from './Asks.ts'
import { Envelope, EnvelopeKind } from './Envelope.ts'
import type { SystemHost } from './SystemHost.ts'

/** A local asker's pending ask settles directly (or the reply is late); a remote one gets an envelope. */
export function reply(host: SystemHost, request: Envelope, kind: typeof EnvelopeKind.ReplyOk | typeof EnvelopeKind.ReplyError, value: unknown): void {
  const pending = request.local as PendingAsk | null
  if (pending === null) {
    replyRemote(host, request, kind, value)
    return
  }
  if (pending.settled) lateReply(host, request, kind, value)
  else if (kind === EnvelopeKind.ReplyOk) host.asks.settle(pending, value, null)
  else host.asks.settle(pending, null, value as Error)
}

function replyRemote(host: SystemHost, request: Envelope, kind: EnvelopeKind, value: unknown): void {
  const replyTo = request.sender
  const router = host.router
  if (replyTo === null || router === null) {
    lateReply(host, request, kind, value)
    return
  }
  const envelope = new Envelope(kind, replyTo, request.target, host.system.ids.nextMessageId(), request.id, request.headers, request.method, [value])
  try {
    router.route(envelope)
  } catch (error) {
    // The transport refused (full, closed): the reply is lost to the asker, who will time out or
    // hear node-down; it must not escape into the replying actor's dispatcher.
    host.deadLetter(envelope, 'undeliverable', error as Error)
  }
}

function lateReply(host: SystemHost, request: Envelope, kind: EnvelopeKind, value: unknown): void {
  const envelope = new Envelope(kind, request.sender ?? request.target, request.target, 0, request.id, null, request.method, [value])
  host.deadLetter(envelope, 'late-reply')
}
