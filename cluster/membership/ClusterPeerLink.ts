import { malformed, nat, parseVersioned, validateCommand, CLUSTER_COMMAND_VERSION, MAX_COMMAND_BYTES } from './ClusterCommandCodec.ts'
import type { ClusterCommand } from './types.ts'

/**
 * The port between cluster state nodes (addressed by Raft server id): followers forward writes to
 * the leader and get the outcome back. Implementations: NATS between processes (next part of #14)
 * and the simulated network (testing/membership). Frames are hostile until decoded.
 */
export interface ClusterPeerLink {
  send(to: string, frame: Uint8Array): void
  onFrame(handler: (frame: Uint8Array) => void): void
  close?(): void
}

export type PeerMessage =
  | { readonly kind: 'forward'; readonly from: string; readonly id: number; readonly command: ClusterCommand }
  /** "Am I still a member?" from a node that lost contact with any leader; answered from the receiver's applied state. */
  | { readonly kind: 'probe'; readonly from: string; readonly id: number }
  /** `code` null: applied. Otherwise the refusal's code; `leader` redirects a forward that reached a non-leader. */
  | { readonly kind: 'outcome'; readonly from: string; readonly id: number; readonly code: string | null; readonly message: string; readonly leader: string | null }

const enc = new TextEncoder()

export function encodePeerMessage(m: PeerMessage): Uint8Array {
  const body = enc.encode(JSON.stringify(m))
  const out = new Uint8Array(body.length + 1)
  out[0] = CLUSTER_COMMAND_VERSION
  out.set(body, 1)
  return out
}

function shortString(v: unknown, what: string, max = 512): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) return malformed(`${what} must be a string of 1..${max}`)
  return v
}

/** Decodes a peer frame; any fault is ERR_CLUSTER_MALFORMED_COMMAND. */
export function decodePeerMessage(frame: Uint8Array): PeerMessage {
  const v = parseVersioned(frame, MAX_COMMAND_BYTES + 2048)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return malformed('peer message is not an object')
  const o = v as Record<string, unknown>
  const from = shortString(o['from'], 'from')
  const id = nat(o, 'id', 1)
  if (o['kind'] === 'probe') return { kind: 'probe', from, id }
  if (o['kind'] === 'forward') return { kind: 'forward', from, id, command: validateCommand(o['command']) }
  if (o['kind'] === 'outcome') {
    const code = o['code'] === null ? null : shortString(o['code'], 'code', 64)
    const message = typeof o['message'] === 'string' ? o['message'].slice(0, 1024) : malformed('message must be a string')
    const leader = o['leader'] === null ? null : shortString(o['leader'], 'leader')
    return { kind: 'outcome', from, id, code, message, leader }
  }
  return malformed('unknown peer message kind')
}
