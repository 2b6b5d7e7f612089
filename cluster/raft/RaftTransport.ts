import type { RaftMessage } from './messages.ts'

/**
 * The port between a RaftNode and the wire. Adapters: NATS between nodes (encode with RaftCodec),
 * the simulated network in tests. Raft tolerates loss, duplication and reordering, so `send` is
 * fire-and-forget and must never block or throw for a peer that is down: it drops instead.
 */
export interface RaftTransport {
  /** Queues `message` for `message.to`. */
  send(message: RaftMessage): void
  /** Registers the receiver of inbound messages (already decoded and validated). */
  onMessage(handler: (message: RaftMessage) => void): void
  /**
   * Optional. Resolves once what `send` queued so far was handed to the wire (a host transport: after
   * the turn that flushes it to the socket). A leader waits on it before it starts its own fsync, so
   * the followers' writes run alongside the leader's instead of after its disk dispatch. Simulated
   * transports, which deliver by themselves, omit it.
   */
  handedOver?(): Promise<void>
  /** Stops delivering; later sends are dropped. */
  close?(): void
}
