import { systemKey, TransportClosedError, type FrameTransport, type SystemAddress } from '../transport/index.ts'
import { InMemoryEndpoint } from './InMemoryEndpoint.ts'

class LoopbackTransport extends InMemoryEndpoint {
  private readonly network: LoopbackNetwork

  constructor(network: LoopbackNetwork, local: SystemAddress) {
    super(local)
    this.network = network
  }

  send(to: SystemAddress, frame: Uint8Array): void {
    if (this.closed) throw new TransportClosedError(`transport of ${systemKey(this.local)} is closed`)
    this.network.deliver(this, to, frame)
  }

  protected detach(): void {
    this.network.detach(this)
  }
}

/**
 * An in-process network for tests: every system attached to it can reach the others, frames are
 * copied (nothing shared by reference, as on a real wire) and delivered on a later event-loop turn.
 * `disconnect(node)` takes a node off the network and tells the others it is down.
 */
export class LoopbackNetwork {
  private readonly endpoints = new Map<string, LoopbackTransport>()
  /** Frames sent to an address nobody is attached at. */
  dropped = 0

  attach(address: SystemAddress): FrameTransport {
    const transport = new LoopbackTransport(this, address)
    this.endpoints.set(systemKey(address), transport)
    return transport
  }

  /** Takes every endpoint of `node` off the network; the others hear it is down. */
  disconnect(node: string): void {
    for (const [key, endpoint] of [...this.endpoints]) {
      if (endpoint.local.node !== node) continue
      endpoint.closed = true
      this.endpoints.delete(key)
    }
    for (const endpoint of this.endpoints.values()) for (const handler of endpoint.peerDownHandlers) handler(node, null)
  }

  /** @internal */
  deliver(from: LoopbackTransport, to: SystemAddress, frame: Uint8Array): void {
    // A real copy: Buffer#slice would return a view of the encoder's reusable buffer.
    const copy = new Uint8Array(frame)
    setImmediate(() => {
      const target = this.endpoints.get(systemKey(to))
      if (target === undefined || target.frameHandler === null || !this.endpoints.has(systemKey(from.local))) {
        this.dropped++
        return
      }
      target.frameHandler(copy)
    })
  }

  /** @internal */
  detach(transport: LoopbackTransport): void {
    const key = systemKey(transport.local)
    if (this.endpoints.get(key) === transport) this.endpoints.delete(key)
  }
}
