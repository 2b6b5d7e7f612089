import { Actor, type ActorRef } from '../../../runtime/index.ts'

/** What one Raft endpoint actor accepts from its peers': an encoded Raft message and the sender endpoint (where replies go). */
export interface RaftEndpointProtocol {
  raft(bytes: Uint8Array, from: ActorRef<RaftEndpointProtocol>): void
}

/** Receives what arrives for the endpoint; the transport validates it (the actor only carries it). */
export type RaftInbound = (bytes: unknown, from: unknown) => void

/**
 * The per-node, per-group actor peers address their Raft messages to. Being an actor is what puts
 * Raft traffic on Remoting: the same frames, signing, reliable link, quarantine and bounded decoding
 * as actor messages, and one frame per peer per turn (the driver's batch of messages travels together).
 */
export class RaftEndpoint extends Actor<RaftEndpointProtocol> implements RaftEndpointProtocol {
  private readonly inbound: RaftInbound

  constructor(inbound: RaftInbound) {
    super()
    this.inbound = inbound
  }

  raft(bytes: Uint8Array, from: ActorRef<RaftEndpointProtocol>): void {
    this.inbound(bytes, from)
  }
}
