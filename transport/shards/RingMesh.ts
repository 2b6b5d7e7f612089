import { InvalidArgumentError } from '../../runtime/index.ts'
import { Doorbell } from './Doorbell.ts'
import { RingBuffer } from './RingBuffer.ts'

/**
 * The shared memory of one thread's links, as plain data that `postMessage` can carry (the buffers
 * are shared, not copied). Indexes are shard numbers: shard 0 is the main thread, 1..N the workers.
 */
export interface PeerLinks {
  readonly shard: number
  /** Ring this thread writes to reach `shard`. */
  readonly outbound: SharedArrayBuffer
  /** Ring `shard` writes to reach this thread. */
  readonly inbound: SharedArrayBuffer
  /** `shard`'s data doorbell (the outbound ring rings it) and space doorbell (the inbound ring's producer parks there). */
  readonly peerDataBell: SharedArrayBuffer
  readonly peerSpaceBell: SharedArrayBuffer
}

export interface ThreadLinks {
  readonly self: number
  /** This thread's data doorbell: every inbound ring rings it, so the thread parks once for all of them. */
  readonly dataBell: SharedArrayBuffer
  /** This thread's space doorbell: every outbound ring's consumer rings it after freeing space. */
  readonly spaceBell: SharedArrayBuffer
  readonly peers: readonly PeerLinks[]
}

/**
 * Allocates the rings of a sharded system: one SPSC ring per directed pair of threads, created with
 * the consumer's data doorbell and the producer's space doorbell, so each thread has exactly one
 * doorbell to park on for input and one for output room. Lives on the main thread, which hands each
 * worker its `linksOf(shard)` at start and replaces a crashed shard's rings with `renew`.
 */
export class RingMesh {
  readonly systems: number
  readonly ringBytes: number
  private readonly dataBells: Doorbell[]
  private readonly spaceBells: Doorbell[]
  /** rings[from][to]; null on the diagonal. */
  private readonly rings: (RingBuffer | null)[][]

  constructor(systems: number, ringBytes: number) {
    if (!Number.isInteger(systems) || systems < 2) throw new InvalidArgumentError(`a ring mesh links at least 2 threads, got ${systems}`)
    this.systems = systems
    this.ringBytes = ringBytes
    this.dataBells = Array.from({ length: systems }, () => Doorbell.create())
    this.spaceBells = Array.from({ length: systems }, () => Doorbell.create())
    this.rings = Array.from({ length: systems }, (_, from) => Array.from({ length: systems }, (_, to) => (from === to ? null : this.newRing(from, to))))
  }

  /** Fresh doorbells for `shard` and fresh rings for every pair it is part of (after it crashed). */
  renew(shard: number): void {
    this.dataBells[shard] = Doorbell.create()
    this.spaceBells[shard] = Doorbell.create()
    for (let other = 0; other < this.systems; other++) {
      if (other === shard) continue
      ;(this.rings[shard] as (RingBuffer | null)[])[other] = this.newRing(shard, other)
      ;(this.rings[other] as (RingBuffer | null)[])[shard] = this.newRing(other, shard)
    }
  }

  linksOf(shard: number): ThreadLinks {
    const peers: PeerLinks[] = []
    for (let other = 0; other < this.systems; other++) if (other !== shard) peers.push(this.peerLinks(shard, other))
    return { self: shard, dataBell: this.bell(this.dataBells, shard), spaceBell: this.bell(this.spaceBells, shard), peers }
  }

  /** What thread `self` needs to talk to `peer` (after `peer` was renewed). */
  peerLinks(self: number, peer: number): PeerLinks {
    return {
      shard: peer,
      outbound: this.ring(self, peer).buffer,
      inbound: this.ring(peer, self).buffer,
      peerDataBell: this.bell(this.dataBells, peer),
      peerSpaceBell: this.bell(this.spaceBells, peer),
    }
  }

  private newRing(from: number, to: number): RingBuffer {
    return RingBuffer.create(this.ringBytes, { dataBell: this.dataBells[to] as Doorbell, spaceBell: this.spaceBells[from] as Doorbell })
  }

  private ring(from: number, to: number): RingBuffer {
    return (this.rings[from] as (RingBuffer | null)[])[to] as RingBuffer
  }

  private bell(bells: Doorbell[], shard: number): SharedArrayBuffer {
    return (bells[shard] as Doorbell).buffer
  }
}
