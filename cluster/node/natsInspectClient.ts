import { createInbox, type NatsConnection } from '@nats-io/nats-core'
import type { FrameSigner } from '../../transport/nats/index.ts'
import { encodeRequest, inspectSubject, type InspectReply, type InspectRequest } from './inspectProtocol.ts'

/** The code of an asker's own failure: nobody answers on the node's subject, or not in time. */
export const UNREACHABLE = 'ERR_NODE_UNREACHABLE'

/** Largest reply an asker reads: larger ones are refused by the node already (max_payload); this caps a forged one. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024

/**
 * Asks `node` of `cluster` one introspection request over NATS (inspectProtocol.ts). Never throws:
 * a node that is not there (no responders), too slow (`timeoutMs`) or answering garbage gives a
 * refusal with a stable code, like the node's own refusals.
 */
export async function askInspect(connection: NatsConnection, cluster: string, node: string, request: InspectRequest, options: { readonly timeoutMs: number; readonly signer: FrameSigner | null }): Promise<InspectReply> {
  const subject = inspectSubject(cluster, node)
  // The reply subject is chosen here: a signed request covers it (noMux lets it be ours).
  const reply = createInbox()
  let data: Uint8Array
  try {
    const msg = await connection.request(subject, encodeRequest(request, subject, reply, options.signer), { timeout: options.timeoutMs, noMux: true, reply })
    data = msg.data
  } catch (error) {
    const noResponders = (error as { isNoResponders?: () => boolean }).isNoResponders?.() === true || (error as Error).name === 'NoRespondersError'
    const timeout = (error as Error).name === 'TimeoutError' || ((error as Error).cause as Error | undefined)?.name === 'TimeoutError'
    const why = noResponders ? 'nothing answers on ' + subject + ' (the node is not running, is not in this cluster, or runs with --inspect off)' : timeout ? `no answer on ${subject} within ${options.timeoutMs} ms` : `${subject}: ${(error as Error).message}`
    return { ok: false, code: UNREACHABLE, error: `node ${node} unreachable over NATS: ${why}` }
  }
  if (data.byteLength > MAX_REPLY_BYTES) return { ok: false, code: UNREACHABLE, error: `node ${node} answered ${data.byteLength} bytes: too large` }
  try {
    const parsed = JSON.parse(new TextDecoder().decode(data)) as { ok?: unknown; body?: unknown; code?: unknown; error?: unknown }
    if (parsed.ok === true) return { ok: true, body: parsed.body }
    if (parsed.ok === false && typeof parsed.code === 'string' && /^ERR_[A-Z0-9_]{1,60}$/.test(parsed.code)) return { ok: false, code: parsed.code, error: String(parsed.error) }
  } catch {
    // Falls through: not an answer of this protocol.
  }
  return { ok: false, code: UNREACHABLE, error: `node ${node} answered something that is not an introspection reply` }
}
