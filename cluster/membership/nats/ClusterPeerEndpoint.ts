import { Actor, type ActorRef } from '../../../runtime/index.ts'

/** What a node's cluster-state endpoint accepts from its peers: an encoded peer message and the sender endpoint. */
export interface ClusterPeerProtocol {
  peer(bytes: Uint8Array, from: ActorRef<ClusterPeerProtocol>): void
}

/**
 * The per-node actor that peers address cluster-state frames to. Being an actor puts the frames on
 * Remoting: the node link's signing (cluster secret), reliable delivery and bounded decoding. It only
 * carries what arrives; the link validates it.
 */
export class ClusterPeerEndpoint extends Actor<ClusterPeerProtocol> implements ClusterPeerProtocol {
  private readonly inbound: (bytes: unknown, from: unknown) => void

  constructor(inbound: (bytes: unknown, from: unknown) => void) {
    super()
    this.inbound = inbound
  }

  peer(bytes: Uint8Array, from: ActorRef<ClusterPeerProtocol>): void {
    this.inbound(bytes, from)
  }
}
