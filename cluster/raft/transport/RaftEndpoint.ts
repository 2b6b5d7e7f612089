import { Actor, type ActorRef } from '../../../runtime/index.ts'

/** What one Raft endpoint actor accepts from its peers': an encoded Raft message and the sender endpoint (where replies go). */
export interface RaftEndpointProtocol {
  raft(bytes: Uint8Array, from: ActorRef<RaftEndpointProtocol>): void
}

/** Receives what arrives for the endpoint; the transport validates it (the actor only carries it). */
export type RaftInbound = (bytes: unknown, from: unknown) => void

/** Told the endpoint's ref whenever an incarnation starts (first start and every restart by its supervisor). */
export type RaftEndpointStarted = (self: ActorRef<RaftEndpointProtocol>) => void

/**
 * The per-node, per-group actor peers address their Raft messages to. Being an actor is what puts
 * Raft traffic on Remoting: the same frames, signing, reliable link, quarantine and bounded decoding
 * as actor messages, and one frame per peer per turn (the driver's batch of messages travels together).
 */
export class RaftEndpoint extends Actor<RaftEndpointProtocol> implements RaftEndpointProtocol {
  private readonly inbound: RaftInbound
  private readonly started: RaftEndpointStarted

  constructor(inbound: RaftInbound, started: RaftEndpointStarted) {
    super()
    this.inbound = inbound
    this.started = started
  }

  /** The transport sends with this incarnation's ref, so that peers reply to it directly. */
  override preStart(): void {
    this.started(this.self)
  }

  raft(bytes: Uint8Array, from: ActorRef<RaftEndpointProtocol>): void {
    this.inbound(bytes, from)
  }
}
