import { InvalidArgumentError, UnknownActorError } from '../runtime/index.ts'
import { systemKey, type FrameTransport, type SystemAddress } from './FrameTransport.ts'

/**
 * One FrameTransport made of two: frames for this node's own systems (its shards) go through
 * `sameNode` (the shard rings), frames for other nodes through `otherNodes` (NATS). Remoting sits on
 * top unchanged, so a ref works the same whether its actor is on this thread, another shard or
 * another node.
 *
 * The other-node transport may be attached after construction (connecting to NATS is
 * asynchronous; the rings are there from the start). Until then a send to another node fails
 * with ERR_UNKNOWN_ACTOR: there is no route yet.
 */
export class RoutedTransport implements FrameTransport {
  readonly local: SystemAddress
  private readonly sameNode: FrameTransport
  private otherNodes: FrameTransport | null = null
  private frameHandler: ((frame: Uint8Array, credited?: boolean) => unknown) | null = null
  private readonly peerDownHandlers: ((node: string, shard: number | null, cause?: Error) => void)[] = []
  private undeliveredHandler: ((to: SystemAddress, frame: Uint8Array, error: Error) => void) | null = null
  private roomHandler: ((to: SystemAddress | null) => void) | null = null

  constructor(sameNode: FrameTransport) {
    this.local = sameNode.local
    this.sameNode = sameNode
  }

  /** The transport to other nodes; set once. */
  attachOtherNodes(transport: FrameTransport): void {
    if (this.otherNodes !== null) throw new InvalidArgumentError('the other-node transport is already attached')
    if (transport.local.node !== this.local.node || transport.local.shard !== this.local.shard || transport.local.system !== this.local.system) {
      throw new InvalidArgumentError(`the other-node transport is for ${systemKey(transport.local)}, not ${systemKey(this.local)}`)
    }
    this.otherNodes = transport
    if (this.frameHandler !== null) transport.onFrame(this.frameHandler)
    if (this.undeliveredHandler !== null) transport.onUndelivered?.(this.undeliveredHandler)
    for (const handler of this.peerDownHandlers) transport.onPeerDown(handler)
    if (this.roomHandler !== null) transport.onRoom?.(this.roomHandler)
  }

  get hasOtherNodes(): boolean {
    return this.otherNodes !== null
  }

  send(to: SystemAddress, frame: Uint8Array, mustTake = false): void {
    this.route(to).send(to, frame, mustTake)
  }

  isFull(to: SystemAddress): boolean {
    const transport = this.isSameNode(to) ? this.sameNode : this.otherNodes
    return transport !== null && transport.isFull !== undefined && transport.isFull(to)
  }

  fullError(to: SystemAddress): Error | undefined {
    const transport = this.isSameNode(to) ? this.sameNode : this.otherNodes
    return transport?.fullError?.(to)
  }

  onRoom(handler: (to: SystemAddress | null) => void): void {
    this.roomHandler = handler
    this.sameNode.onRoom?.(handler)
    this.otherNodes?.onRoom?.(handler)
  }

  /** Only frames from other nodes are credited (the rings have their own flow control). */
  released(): void {
    this.otherNodes?.released?.()
  }

  onUndelivered(handler: (to: SystemAddress, frame: Uint8Array, error: Error) => void): void {
    this.undeliveredHandler = handler
    this.sameNode.onUndelivered?.(handler)
    this.otherNodes?.onUndelivered?.(handler)
  }

  /** Tells other nodes that one of this node's shards died (the rings already know). */
  localShardDown(shard: number): void {
    this.otherNodes?.localShardDown?.(shard)
  }

  /** Tells other nodes that a shard of this node runs again. */
  localShardUp(shard: number): void {
    this.otherNodes?.localShardUp?.(shard)
  }

  /** Tells other nodes that this node is leaving (the first phase of a graceful shutdown). */
  announceLeaving(): void {
    this.otherNodes?.announceLeaving?.()
  }

  /** The transport to other nodes, once attached. */
  get otherNodesTransport(): FrameTransport | null {
    return this.otherNodes
  }

  onFrame(handler: (frame: Uint8Array, credited?: boolean) => unknown): void {
    this.frameHandler = handler
    this.sameNode.onFrame(handler)
    this.otherNodes?.onFrame(handler)
  }

  onPeerDown(handler: (node: string, shard: number | null, cause?: Error) => void): void {
    this.peerDownHandlers.push(handler)
    this.sameNode.onPeerDown(handler)
    this.otherNodes?.onPeerDown(handler)
  }

  async close(): Promise<void> {
    await Promise.all([this.sameNode.close(), this.otherNodes?.close()])
  }

  private isSameNode(to: SystemAddress): boolean {
    return to.node === this.local.node && to.system === this.local.system
  }

  private route(to: SystemAddress): FrameTransport {
    if (this.isSameNode(to)) return this.sameNode
    if (this.otherNodes === null) {
      throw new UnknownActorError(`no route to ${systemKey(to)}: ${systemKey(this.local)} is not connected to other nodes`, {
        data: { node: to.node, shard: to.shard },
      })
    }
    return this.otherNodes
  }
}
