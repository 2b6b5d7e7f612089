/** The NATS side of cluster state: the peer link between node processes (over Remoting). */
export { NatsClusterPeerLink } from './NatsClusterPeerLink.ts'
export type { NatsClusterPeerLinkOptions, NatsClusterPeerLinkStats, PeerLinkView } from './NatsClusterPeerLink.ts'
