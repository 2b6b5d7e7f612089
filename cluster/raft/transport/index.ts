/** Raft over the node transport (Remoting: NATS between nodes). Kept apart from cluster/raft, which imports no transport. */
export { PathEndpoint } from './PathEndpoint.ts'
export type { EndpointLinkView, PathEndpointOptions } from './PathEndpoint.ts'
export { RaftEndpoint } from './RaftEndpoint.ts'
export type { RaftEndpointProtocol } from './RaftEndpoint.ts'
export { RemoteRaftTransport } from './RemoteRaftTransport.ts'
export type { RaftLinkView, RemoteRaftTransportOptions, RemoteRaftTransportStats } from './RemoteRaftTransport.ts'
