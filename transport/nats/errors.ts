import { defineError } from '../../runtime/index.ts'

export const NatsErrorCodes = {
  /** The NATS link is down (or the membership holds it) and the link's retention is at its bound, or an outage outlasted its bound. */
  NatsDown: 'ERR_NATS_DOWN',
  /** The peer announced that it is leaving: it takes no new work (retry on another node, or later). */
  PeerLeaving: 'ERR_PEER_LEAVING',
  /** This node was declared down by a peer and quarantined: it must restart to rejoin. */
  Quarantined: 'ERR_QUARANTINED',
} as const

/**
 * The NATS link is down (or a peer is not confirmed reachable yet after a reconnect) and the frames
 * already buffered reached the transport's bound: the send is refused rather than dropped.
 * (`defineError` registers the code, so the error is rebuilt when it crosses a node in a reply.)
 */
export const NatsDownError = defineError(NatsErrorCodes.NatsDown, 'NatsDownError')
export type NatsDownError = InstanceType<typeof NatsDownError>

/**
 * The target node announced that it is leaving (graceful shutdown): new work (tells, asks, poison)
 * is refused at the sender, never sent; replies and death-watch traffic still go. Retriable: the
 * message was not delivered, so sending it elsewhere (or to the node's next run) processes it once.
 */
export const PeerLeavingError = defineError(NatsErrorCodes.PeerLeaving, 'PeerLeavingError')
export type PeerLeavingError = InstanceType<typeof PeerLeavingError>

/**
 * This node was declared down by a peer (`data.by`) and quarantined: its current run is out of the
 * cluster for good. Sends fail with it, and asks that were in flight fail with it: their outcome is
 * unknown (the peer may have handled them before it gave up on this node). Not retriable here; the
 * node must restart (a new incarnation) to rejoin.
 */
export const QuarantinedError = defineError(NatsErrorCodes.Quarantined, 'QuarantinedError')
export type QuarantinedError = InstanceType<typeof QuarantinedError>

/** The error of everything remote on a quarantined node: `node` was declared down by `by`. */
export function quarantinedError(node: string, by: string): QuarantinedError {
  return new QuarantinedError(`node ${node} was declared down by ${by} and quarantined; it must restart to rejoin`, { data: { node, by } })
}
