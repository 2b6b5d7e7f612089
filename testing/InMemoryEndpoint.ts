import type { FrameTransport, SystemAddress } from '../transport/index.ts'

/**
 * What every in-process network endpoint shares (LoopbackNetwork, SimulatedNetwork): the handlers
 * Remoting registers, and closing. Subclasses say how a frame travels.
 */
export abstract class InMemoryEndpoint implements FrameTransport {
  readonly local: SystemAddress
  frameHandler: ((frame: Uint8Array) => void) | null = null
  readonly peerDownHandlers: ((node: string, shard: number | null) => void)[] = []
  closed = false

  constructor(local: SystemAddress) {
    this.local = local
  }

  abstract send(to: SystemAddress, frame: Uint8Array): void

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.frameHandler = handler
  }

  onPeerDown(handler: (node: string, shard: number | null) => void): void {
    this.peerDownHandlers.push(handler)
  }

  close(): Promise<void> {
    this.closed = true
    this.detach()
    return Promise.resolve()
  }

  /** Leaves the network. */
  protected abstract detach(): void
}
