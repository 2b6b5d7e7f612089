import { NodeDownError, ShardDownError } from '../../runtime/index.ts'
import type { SystemAddress } from '../FrameTransport.ts'
import { PeerLeavingError } from './errors.ts'
import { carriesNewWork } from './InboundHold.ts'

export const PeerState = {
  /** Never heard from: frames go out optimistically. */
  Unknown: 0,
  /** Heard since the link last came up. */
  Up: 1,
  /** Heard before the link went down; frames wait until it is heard again. */
  Pending: 2,
  /** Declared down: sends fail fast with ERR_NODE_DOWN until it is heard again. */
  Down: 3,
} as const
export type PeerState = (typeof PeerState)[keyof typeof PeerState]

export class LinkPeer {
  state: PeerState = PeerState.Unknown
  /** Its shards that are down (it said so): sends to them fail fast until they run again. */
  downShards: Set<number> | null = null
  /** It announced that it is leaving: new work to it fails with ERR_PEER_LEAVING; replies still go. */
  leaving = false
}

/**
 * What the NATS transport knows of each peer node, as its membership told it: reachable, waiting
 * to be heard again after a reconnect, down, which of its shards are down, leaving. Answers which
 * sends are refused at the call and whether frames may be published to a node now.
 */
export class LinkPeers {
  private readonly peers = new Map<string, LinkPeer>()

  get(node: string): LinkPeer | undefined {
    return this.peers.get(node)
  }

  /** The peer, known from now on. */
  peer(node: string): LinkPeer {
    let peer = this.peers.get(node)
    if (peer === undefined) {
      peer = new LinkPeer()
      this.peers.set(node, peer)
    }
    return peer
  }

  entries(): IterableIterator<[string, LinkPeer]> {
    return this.peers.entries()
  }

  /** Throws what a send of `frame` to `to` fails with at the call: its shard or node is down, or it is leaving and `frame` carries new work. */
  check(to: SystemAddress, frame: Uint8Array): void {
    const peer = this.peers.get(to.node)
    if (peer === undefined) return
    if (peer.downShards?.has(to.shard) === true) {
      throw new ShardDownError(`shard ${to.shard} of ${to.node} is down`, { data: { node: to.node, shard: to.shard } })
    }
    if (peer.state === PeerState.Down) throw new NodeDownError(`node ${to.node} is down`, { data: { node: to.node } })
    if (peer.leaving && carriesNewWork(frame)) {
      throw new PeerLeavingError(`node ${to.node} is leaving and takes no new work`, { data: { node: to.node } })
    }
  }

  /** Whether frames may be published to `node` as far as its state goes (not down, not waiting to be heard after a reconnect). */
  reachable(node: string): boolean {
    const state = this.peers.get(node)?.state
    return state !== PeerState.Down && state !== PeerState.Pending
  }

  pending(node: string): boolean {
    return this.peers.get(node)?.state === PeerState.Pending
  }

  /** The link went down: peers heard before wait until they are heard again. */
  linkDown(): void {
    for (const peer of this.peers.values()) if (peer.state === PeerState.Up) peer.state = PeerState.Pending
  }

  /** Nodes never heard from (their frames may go as soon as the link is up). */
  unknown(): string[] {
    const nodes: string[] = []
    for (const [node, peer] of this.peers) if (peer.state === PeerState.Unknown) nodes.push(node)
    return nodes
  }

  /** Marks every peer down; returns those that were not down already. */
  allDown(): string[] {
    const nodes: string[] = []
    for (const [node, peer] of this.peers) {
      if (peer.state !== PeerState.Down) nodes.push(node)
      peer.state = PeerState.Down
    }
    return nodes
  }
}
