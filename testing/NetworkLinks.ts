import { TransportClosedError, systemKey, type SystemAddress } from '../transport/index.ts'
import { InMemoryEndpoint } from './InMemoryEndpoint.ts'
import type { SimProcess } from './SimProcess.ts'
import type { SimulatedNetwork } from './SimulatedNetwork.ts'

/* The pieces of the simulated wire that belong to one link or one endpoint. */

/** Frames and bytes on one directed node-to-node link (all incarnations, all shards). */
export interface LinkStats {
  readonly from: string
  readonly to: string
  sent: number
  delivered: number
  /** Lost, partitioned, unroutable or quarantined. */
  dropped: number
  bytes: number
}

/** Frames held on a link or at a node until released (a stalled TCP buffer, a paused proxy). */
export interface Hold {
  readonly label: string
  /** Frames waiting. */
  readonly size: number
  readonly released: boolean
  /** Sends what waited, in arrival order, each with a fresh delay from now (links stay FIFO). */
  release(): void
}

/** @internal One sender's link to one destination: its FIFO slot and its counters. */
export class Link {
  readonly label: string
  readonly stats: LinkStats
  lastAt = 0
  lastOrder = 0
  constructor(label: string, stats: LinkStats) {
    this.label = label
    this.stats = stats
  }
}

/** @internal */
export interface HeldFrame {
  readonly fromNode: string
  readonly recipient: SimTransport
  readonly link: Link
  readonly frame: Uint8Array
}

/** @internal */
export class HoldEntry implements Hold {
  readonly label: string
  readonly frames: HeldFrame[] = []
  released = false
  readonly matches: (from: string, to: string) => boolean
  private readonly network: SimulatedNetwork
  constructor(network: SimulatedNetwork, label: string, matches: (from: string, to: string) => boolean) {
    this.network = network
    this.label = label
    this.matches = matches
  }
  get size(): number {
    return this.frames.length
  }
  release(): void {
    if (this.released) return
    this.released = true
    this.network.releaseHold(this)
  }
}

/** A frame to put on a link by hand (a stale or forged message). */
export interface InjectOptions {
  /** Delay before it arrives. Default: a draw from the wire's latency. */
  readonly delayMs?: number
  /** Destination shard. Default 0. */
  readonly shard?: number
}

/** @internal One system's attachment to the network. */
export class SimTransport extends InMemoryEndpoint {
  readonly process: SimProcess
  /** Outbound links by destination key, so a send builds no key string after the first. */
  readonly links = new Map<string, Link>()
  private readonly network: SimulatedNetwork

  constructor(network: SimulatedNetwork, local: SystemAddress, process: SimProcess) {
    super(local)
    this.network = network
    this.process = process
  }

  send(to: SystemAddress, frame: Uint8Array): void {
    if (this.closed) {
      // A crashed process's remoting may still flush; a dead process sends nothing, and says nothing.
      if (this.process.isCrashed) return
      throw new TransportClosedError(`transport of ${systemKey(this.local)} is closed`)
    }
    this.network.send(this, to, frame)
  }

  /** @internal Tells this system's remoting that `node` is down (again). */
  announceDown(node: string): void {
    for (const handler of this.peerDownHandlers) handler(node, null)
  }

  protected detach(): void {
    this.network.detach(this)
  }
}

