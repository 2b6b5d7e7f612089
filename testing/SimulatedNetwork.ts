import { InvalidArgumentError, SeededRandom, type Random } from '../runtime/index.ts'
import { TransportClosedError, systemKey, type FrameTransport, type SystemAddress } from '../transport/index.ts'
import { FailureDetector, type FailureDetectorOptions } from './FailureDetector.ts'
import { InMemoryEndpoint } from './InMemoryEndpoint.ts'
import { deriveSeed } from './seeds.ts'
import type { SimProcess } from './SimProcess.ts'
import { SELF_TRACED } from './simNames.ts'
import type { Simulation } from './Simulation.ts'
import { TraceKind } from './Trace.ts'

/** Uniform latency in [minMs, maxMs], or any distribution drawn from the network's seeded source. */
export type LatencyModel = { readonly minMs: number; readonly maxMs: number } | ((random: Random) => number)

/** How the wire behaves. Every probability is per frame, drawn from the network's seeded stream. */
export interface NetworkConditions {
  /** One-way delay. Default uniform 1–5 ms. */
  readonly latency?: LatencyModel
  /** Delays are rounded up to a multiple of this (frames then share instants and race). 0: exact. Default 1. */
  readonly resolutionMs?: number
  /** Probability a frame is lost. Default 0. */
  readonly loss?: number
  /** Probability a frame arrives twice (the copy with its own latency). Default 0. */
  readonly duplication?: number
  /**
   * Probability a frame ignores the link's FIFO order (arrives after its own latency, possibly before
   * frames sent earlier). 0 (the default) keeps each link FIFO, as TCP and NATS do.
   */
  readonly reorder?: number
}

export interface SimulatedNetworkOptions extends NetworkConditions {
  /** Tells nodes about peers that crashed, froze or got cut off; `false` turns it off. Default on. */
  readonly failureDetector?: FailureDetectorOptions | false
}

export interface NetworkStats {
  sent: number
  delivered: number
  /** Lost to the loss probability. */
  lost: number
  /** Lost to a partition (at send, or in flight when it started). */
  partitioned: number
  /** Nobody was listening at the address (crashed or never attached). */
  unroutable: number
  duplicated: number
  reordered: number
  bytes: number
}

type Group = string | readonly string[]

class Link {
  readonly label: string
  lastAt = 0
  lastOrder = 0
  constructor(label: string) {
    this.label = label
  }
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

  protected detach(): void {
    this.network.detach(this)
  }
}

/**
 * The simulated wire between nodes: a FrameTransport per actor system, so Remoting (and the cluster
 * layer above it) runs exactly as over NATS. Frames are copied, delayed by a seeded latency, and may
 * be lost, duplicated or reordered; partitions (symmetric or one-way) cut links until healed; a
 * failure detector tells each node when a peer has been unreachable for too long.
 */
export class SimulatedNetwork {
  readonly stats: NetworkStats = { sent: 0, delivered: 0, lost: 0, partitioned: 0, unroutable: 0, duplicated: 0, reordered: 0, bytes: 0 }
  readonly detector: FailureDetector | null
  private readonly sim: Simulation
  private readonly random: SeededRandom
  /** node -> shard -> endpoint. */
  private readonly endpoints = new Map<string, (SimTransport | undefined)[]>()
  /** Every node ever attached, in attach order (detectors iterate it). */
  private readonly knownNodes: string[] = []
  /** from node -> nodes it cannot reach. */
  private readonly blocked = new Map<string, Set<string>>()
  private blockedPairs = 0
  private latencyMin = 1
  private latencySpan = 4
  private latencyFn: ((random: Random) => number) | null = null
  private resolutionMs = 1
  private loss = 0
  private duplication = 0
  private reorder = 0

  constructor(sim: Simulation, options: SimulatedNetworkOptions = {}) {
    this.sim = sim
    this.random = new SeededRandom(deriveSeed(sim.seed, 1))
    this.configure(options)
    this.detector = options.failureDetector === false ? null : new FailureDetector(sim, this, options.failureDetector ?? {})
  }

  /** Changes the wire's behaviour from now on (frames already in flight keep theirs). */
  configure(conditions: NetworkConditions): void {
    if (conditions.latency !== undefined) {
      const latency = conditions.latency
      if (typeof latency === 'function') this.latencyFn = latency
      else {
        if (!(latency.minMs >= 0) || !(latency.maxMs >= latency.minMs)) throw new InvalidArgumentError(`latency needs 0 <= minMs <= maxMs, got ${latency.minMs}..${latency.maxMs}`)
        this.latencyFn = null
        this.latencyMin = latency.minMs
        this.latencySpan = latency.maxMs - latency.minMs
      }
    }
    if (conditions.resolutionMs !== undefined) this.resolutionMs = Math.max(0, conditions.resolutionMs)
    if (conditions.loss !== undefined) this.loss = probability(conditions.loss, 'loss')
    if (conditions.duplication !== undefined) this.duplication = probability(conditions.duplication, 'duplication')
    if (conditions.reorder !== undefined) this.reorder = probability(conditions.reorder, 'reorder')
  }

  /** Attaches an actor system at `address`, running on `process`; pass the result to Remoting. */
  attach(address: SystemAddress, process: SimProcess): FrameTransport {
    let byShard = this.endpoints.get(address.node)
    if (byShard === undefined) {
      byShard = []
      this.endpoints.set(address.node, byShard)
      this.knownNodes.push(address.node)
    }
    const transport = new SimTransport(this, address, process)
    byShard[address.shard] = transport
    this.detector?.attached(address.node)
    return transport
  }

  /** @internal */
  detach(transport: SimTransport): void {
    const byShard = this.endpoints.get(transport.local.node)
    if (byShard !== undefined && byShard[transport.local.shard] === transport) byShard[transport.local.shard] = undefined
  }

  /** Nodes ever attached, in order. */
  get nodes(): readonly string[] {
    return this.knownNodes
  }

  /** @internal Live endpoints of a node (a crashed process's endpoint is not live). */
  endpointsOf(node: string): SimTransport[] {
    const out: SimTransport[] = []
    for (const endpoint of this.endpoints.get(node) ?? []) if (endpoint !== undefined && !endpoint.closed && !endpoint.process.isCrashed) out.push(endpoint)
    return out
  }

  // ------------------------------------------------------------------ partitions

  /** Cuts every link between the two groups, both ways, until healed. */
  partition(a: Group, b: Group): void {
    this.cut(a, b)
    this.cut(b, a)
    this.sim.record(TraceKind.Fault, null, `partition ${show(a)} | ${show(b)}`, 0)
  }

  /** Cuts the links from `from` to `to` only: frames one way are lost, the other way still arrive. */
  partitionOneWay(from: Group, to: Group): void {
    this.cut(from, to)
    this.sim.record(TraceKind.Fault, null, `partition ${show(from)} -> ${show(to)}`, 0)
  }

  /** Cuts `node` off from every other node, both ways. */
  isolate(node: string): void {
    const others = this.knownNodes.filter((n) => n !== node)
    this.cut(node, others)
    this.cut(others, node)
    this.sim.record(TraceKind.Fault, null, `isolate ${node}`, 0)
  }

  /** Heals every partition, or only the links between `a` and `b` (both ways). */
  heal(a?: Group, b?: Group): void {
    if (a === undefined || b === undefined) {
      this.blocked.clear()
      this.blockedPairs = 0
      this.sim.record(TraceKind.Fault, null, 'heal all', 0)
      return
    }
    this.uncut(a, b)
    this.uncut(b, a)
    this.sim.record(TraceKind.Fault, null, `heal ${show(a)} | ${show(b)}`, 0)
  }

  /** Heals only the links from `from` to `to` (what `partitionOneWay` cut). */
  healOneWay(from: Group, to: Group): void {
    this.uncut(from, to)
    this.sim.record(TraceKind.Fault, null, `heal ${show(from)} -> ${show(to)}`, 0)
  }

  /** True when frames from `from` to `to` are currently lost to a partition. */
  isBlocked(from: string, to: string): boolean {
    if (this.blockedPairs === 0) return false
    return this.blocked.get(from)?.has(to) === true
  }

  private uncut(from: Group, to: Group): void {
    for (const f of groupOf(from)) {
      const set = this.blocked.get(f)
      if (set === undefined) continue
      for (const t of groupOf(to)) if (set.delete(t)) this.blockedPairs--
    }
  }

  private cut(from: Group, to: Group): void {
    for (const f of groupOf(from)) {
      let set = this.blocked.get(f)
      if (set === undefined) {
        set = new Set()
        this.blocked.set(f, set)
      }
      for (const t of groupOf(to)) {
        if (t === f || set.has(t)) continue
        set.add(t)
        this.blockedPairs++
      }
    }
  }

  // ------------------------------------------------------------------ the wire

  /** @internal */
  send(from: SimTransport, to: SystemAddress, frame: Uint8Array): void {
    const sim = this.sim
    sim.noteActivity()
    if (sim.isHostTurn) sim.escapedFromHost(`${from.process.label} sent a frame`)
    if (from.process.isCrashed) return
    const stats = this.stats
    stats.sent++
    stats.bytes += frame.byteLength
    const key = to.shard === 0 ? to.node : `${to.node}:${to.shard}`
    let link = from.links.get(key)
    if (link === undefined) {
      link = new Link(`${from.local.node}:${from.local.shard} -> ${to.node}:${to.shard}`)
      from.links.set(key, link)
    }
    // Copied: the sender's encoder reuses its buffer, and a real wire shares nothing anyway.
    // `new Uint8Array(frame)` copies; `frame.slice()` would not when the frame is a Buffer (a view).
    const copy = new Uint8Array(frame)
    sim.mixBytes(copy)
    sim.record(TraceKind.Send, from.process, link, copy.byteLength)
    if (this.isBlocked(from.local.node, to.node)) {
      stats.partitioned++
      sim.record(TraceKind.Drop, from.process, `${link.label} (partition)`, copy.byteLength)
      return
    }
    const random = this.random
    if (this.loss > 0 && random.next() < this.loss) {
      stats.lost++
      sim.record(TraceKind.Drop, from.process, `${link.label} (lost)`, copy.byteLength)
      return
    }
    const recipient = this.endpoints.get(to.node)?.[to.shard]
    if (recipient === undefined || recipient.closed || recipient.process.isCrashed) {
      stats.unroutable++
      sim.record(TraceKind.Drop, from.process, `${link.label} (nobody listening)`, copy.byteLength)
      return
    }
    const now = sim.now
    let at = now + this.delay()
    let order = (random.next() * 0x1_0000_0000) >>> 0
    if (this.reorder > 0 && random.next() < this.reorder) {
      stats.reordered++
    } else {
      // FIFO link: never before the previous frame; at the same instant, after it.
      if (at < link.lastAt) at = link.lastAt
      if (at === link.lastAt && order < link.lastOrder) order = link.lastOrder
      link.lastAt = at
      link.lastOrder = order
    }
    const fromNode = from.local.node
    sim.scheduleEvent(at, () => this.deliver(fromNode, recipient, link, copy), recipient.process, false, SELF_TRACED, link, order)
    if (this.duplication > 0 && random.next() < this.duplication) {
      stats.duplicated++
      sim.record(TraceKind.Duplicate, from.process, link, copy.byteLength)
      const again = now + this.delay()
      sim.scheduleEvent(again, () => this.deliver(fromNode, recipient, link, copy), recipient.process, false, SELF_TRACED, link, (random.next() * 0x1_0000_0000) >>> 0)
    }
  }

  private deliver(fromNode: string, recipient: SimTransport, link: Link, frame: Uint8Array): void {
    const sim = this.sim
    if (this.isBlocked(fromNode, recipient.local.node)) {
      this.stats.partitioned++
      sim.record(TraceKind.Drop, recipient.process, `${link.label} (partition, in flight)`, frame.byteLength)
      return
    }
    const handler = recipient.frameHandler
    if (recipient.closed || handler === null) {
      this.stats.unroutable++
      sim.record(TraceKind.Drop, recipient.process, `${link.label} (nobody listening)`, frame.byteLength)
      return
    }
    this.stats.delivered++
    sim.record(TraceKind.Deliver, recipient.process, link, frame.byteLength)
    handler(frame)
  }

  private delay(): number {
    const raw = this.latencyFn === null ? this.latencyMin + this.random.next() * this.latencySpan : Math.max(0, this.latencyFn(this.random))
    const resolution = this.resolutionMs
    return resolution > 0 ? Math.ceil(raw / resolution) * resolution : raw
  }
}

function probability(value: number, name: string): number {
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError(`${name} must be a probability in [0, 1], got ${value}`)
  return value
}

function groupOf(group: Group): readonly string[] {
  return typeof group === 'string' ? [group] : group
}

function show(group: Group): string {
  return typeof group === 'string' ? group : `{${group.join(',')}}`
}
