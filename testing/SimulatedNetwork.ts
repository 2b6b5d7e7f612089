import { InvalidArgumentError, SeededRandom, type Random } from '../runtime/index.ts'
import type { FrameTransport, SystemAddress } from '../transport/index.ts'
import { FailureDetector, type FailureDetectorOptions } from './FailureDetector.ts'
import { HoldEntry, Link, SimTransport, type Hold, type InjectOptions, type LinkStats } from './NetworkLinks.ts'
import { linksAcross, linksBetween, LinkCuts, ringLinks, showGroup, type Cut, type Group } from './Partitions.ts'
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
  /**
   * Names a frame's message type (a protocol on raw frames knows its own header), so
   * `typeStats()` counts frames and bytes per type. Called once per frame sent. Default none.
   */
  readonly classify?: (frame: Uint8Array) => string
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
  /** Frames that waited in a hold (counted when held). */
  held: number
  /** Frames put on a link by `inject`. */
  injected: number
  /** Frames to a node the sender had declared down (dropped; the sender's asks to it fail at once). */
  quarantined: number
}

export type { Cut, Group } from './Partitions.ts'
export type { Hold, InjectOptions, LinkStats } from './NetworkLinks.ts'
export { SimTransport } from './NetworkLinks.ts'

/**
 * The simulated wire between nodes: a FrameTransport per actor system, so Remoting (and the cluster
 * layer above it) runs exactly as over NATS. Frames are copied, delayed by a seeded latency, and may
 * be lost, duplicated or reordered; partitions (symmetric or one-way) cut links until healed; a
 * failure detector tells each node when a peer has been unreachable for too long.
 */
export class SimulatedNetwork {
  readonly stats: NetworkStats = { sent: 0, delivered: 0, lost: 0, partitioned: 0, unroutable: 0, duplicated: 0, reordered: 0, bytes: 0, held: 0, injected: 0, quarantined: 0 }
  readonly detector: FailureDetector | null
  private readonly sim: Simulation
  private readonly random: SeededRandom
  /** node -> shard -> endpoint. */
  private readonly endpoints = new Map<string, (SimTransport | undefined)[]>()
  /** Every node ever attached, in attach order (detectors iterate it). */
  private readonly knownNodes: string[] = []
  private readonly cuts = new LinkCuts()
  private readonly holds: HoldEntry[] = []
  private readonly links = new Map<string, LinkStats>()
  /** For seeded helper choices (which nodes form the majority): its own stream, so the wire's draws stay put. */
  private readonly helperRandom: SeededRandom
  private latencyMin = 1
  private latencySpan = 4
  private latencyFn: ((random: Random) => number) | null = null
  private resolutionMs = 1
  private loss = 0
  private duplication = 0
  private reorder = 0
  private readonly classify: ((frame: Uint8Array) => string) | null
  private readonly types = new Map<string, { frames: number; bytes: number }>()

  constructor(sim: Simulation, options: SimulatedNetworkOptions = {}) {
    this.sim = sim
    this.random = new SeededRandom(deriveSeed(sim.seed, 1))
    this.helperRandom = new SeededRandom(deriveSeed(sim.seed, 5))
    this.configure(options)
    this.classify = options.classify ?? null
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

  /**
   * Splits the nodes into groups that cannot reach each other (both ways) until healed; nodes in no
   * group keep every link. Returns the cut: `cut.heal()` restores exactly its links.
   */
  partition(...groups: Group[]): Cut {
    return this.addCut(`partition ${groups.map(showGroup).join(' | ')}`, linksAcross(groups))
  }

  /** Cuts the links from `from` to `to` only: frames one way are lost, the other way still arrive. */
  partitionOneWay(from: Group, to: Group): Cut {
    return this.addCut(`partition ${showGroup(from)} -> ${showGroup(to)}`, linksBetween(from, to))
  }

  /** Cuts `node` off from every other node, both ways. */
  isolate(node: string): Cut {
    const others = this.knownNodes.filter((n) => n !== node)
    return this.addCut(`isolate ${node}`, [...linksBetween(node, others), ...linksBetween(others, node)])
  }

  /** Leaves each node talking only to its two neighbours in `nodes` order (default: attach order). */
  ring(nodes: readonly string[] = this.knownNodes): Cut {
    return this.addCut(`ring ${nodes.join('-')}`, ringLinks(nodes))
  }

  /** `a` and `b` cannot reach each other; both still reach `via` (the bridge node). */
  bridge(a: Group, via: string, b: Group): Cut {
    return this.addCut(`bridge ${showGroup(a)} <- ${via} -> ${showGroup(b)}`, linksAcross([a, b]))
  }

  /**
   * Splits `nodes` (default: all) into a seeded majority (floor(n/2)+1 nodes) and the minority, cut
   * from each other.
   */
  splitMajority(nodes: readonly string[] = this.knownNodes): { readonly cut: Cut; readonly majority: string[]; readonly minority: string[] } {
    const shuffled = [...nodes]
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(this.helperRandom.next() * (i + 1))
      ;[shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string]
    }
    const majority = shuffled.slice(0, Math.floor(nodes.length / 2) + 1)
    const minority = shuffled.slice(majority.length)
    return { cut: this.partition(majority, minority), majority, minority }
  }

  /** Heals every cut, or every link between `a` and `b` (both ways) whatever cut it. */
  heal(a?: Group, b?: Group): void {
    if (a === undefined || b === undefined) {
      this.cuts.clear()
      this.sim.record(TraceKind.Fault, null, 'heal all', 0)
      return
    }
    this.cuts.clear([...linksBetween(a, b), ...linksBetween(b, a)])
    this.sim.record(TraceKind.Fault, null, `heal ${showGroup(a)} | ${showGroup(b)}`, 0)
  }

  /** Heals every link from `from` to `to` (what `partitionOneWay` cut). */
  healOneWay(from: Group, to: Group): void {
    this.cuts.clear(linksBetween(from, to))
    this.sim.record(TraceKind.Fault, null, `heal ${showGroup(from)} -> ${showGroup(to)}`, 0)
  }

  /** True when frames from `from` to `to` are currently lost to a partition. */
  isBlocked(from: string, to: string): boolean {
    return this.cuts.isBlocked(from, to)
  }

  private addCut(label: string, links: [string, string][]): Cut {
    const sim = this.sim
    const cuts = this.cuts
    const added = cuts.add(links)
    sim.record(TraceKind.Fault, null, label, 0)
    let healed = false
    return {
      label,
      get healed() {
        return healed
      },
      heal() {
        if (healed) return
        healed = true
        cuts.remove(added)
        sim.record(TraceKind.Fault, null, `heal ${label}`, 0)
      },
    }
  }

  // ------------------------------------------------------------------ holds, injection, counters

  /**
   * Holds frames arriving on a link (`{ from, to }`, one direction) or at/from a node until
   * `release()`: they are late, not lost (a buffer that flushes after a partition heals, a client
   * reconnecting). Frames already in flight are held when they arrive.
   */
  hold(target: string | { readonly from: string; readonly to: string }): Hold {
    const entry =
      typeof target === 'string'
        ? new HoldEntry(this, `hold ${target}`, (from, to) => from === target || to === target)
        : new HoldEntry(this, `hold ${target.from} -> ${target.to}`, (from, to) => from === target.from && to === target.to)
    this.holds.push(entry)
    this.sim.record(TraceKind.Fault, null, entry.label, 0)
    return entry
  }

  /** Releases every hold. */
  releaseAll(): void {
    for (const hold of [...this.holds]) hold.release()
  }

  /** @internal */
  releaseHold(hold: HoldEntry): void {
    const i = this.holds.indexOf(hold)
    if (i >= 0) this.holds.splice(i, 1)
    this.sim.record(TraceKind.Fault, null, `release ${hold.label.slice(5)} (${hold.frames.length} frames)`, 0)
    for (const held of hold.frames) {
      const at = this.fifoSlot(held.link, this.sim.now + this.delay())
      this.sim.scheduleEvent(at.time, () => this.deliver(held.fromNode, held.recipient, held.link, held.frame), held.recipient.process, false, SELF_TRACED, held.link, at.order)
    }
    hold.frames.length = 0
  }

  /**
   * Puts `frame` on the link from node `from` to node `to` as if `from` had sent it (a stale
   * duplicate, a forged message): no loss, no partition check at send; it arrives like any frame.
   */
  inject(from: string, to: string, frame: Uint8Array, options: InjectOptions = {}): void {
    const recipient = this.endpoints.get(to)?.[options.shard ?? 0]
    if (recipient === undefined) throw new InvalidArgumentError(`inject: no endpoint for node ${to} shard ${options.shard ?? 0}`)
    const link = this.linkFor(null, from, to, options.shard ?? 0)
    const copy = new Uint8Array(frame)
    this.stats.injected++
    this.sim.mixBytes(copy)
    this.sim.record(TraceKind.Send, null, `${link.label} (injected)`, copy.byteLength)
    const at = this.fifoSlot(link, this.sim.now + (options.delayMs ?? this.delay()))
    this.sim.scheduleEvent(at.time, () => this.deliver(from, recipient, link, copy), recipient.process, false, SELF_TRACED, link, at.order)
  }

  /** Frames and bytes per directed node-to-node link, as `from->to`. */
  /** Frames and bytes sent per message type (needs the `classify` option; empty otherwise). */
  typeStats(): ReadonlyMap<string, { readonly frames: number; readonly bytes: number }> {
    return this.types
  }

  linkStats(): ReadonlyMap<string, LinkStats> {
    return this.links
  }

  private linkFor(from: SimTransport | null, fromNode: string, toNode: string, shard: number): Link {
    const key = shard === 0 ? toNode : `${toNode}:${shard}`
    let link = from?.links.get(key)
    if (link !== undefined) return link
    const statsKey = `${fromNode}->${toNode}`
    let stats = this.links.get(statsKey)
    if (stats === undefined) {
      stats = { from: fromNode, to: toNode, sent: 0, delivered: 0, dropped: 0, bytes: 0 }
      this.links.set(statsKey, stats)
    }
    link = new Link(`${fromNode}:${from?.local.shard ?? 0} -> ${toNode}:${shard}`, stats)
    from?.links.set(key, link)
    return link
  }

  private countType(type: string, bytes: number): void {
    let entry = this.types.get(type)
    if (entry === undefined) {
      entry = { frames: 0, bytes: 0 }
      this.types.set(type, entry)
    }
    entry.frames++
    entry.bytes += bytes
  }

  /** The link's next FIFO slot at or after `time` (never before the previous frame). */
  private fifoSlot(link: Link, time: number): { time: number; order: number } {
    let at = time
    let order = (this.random.next() * 0x1_0000_0000) >>> 0
    if (at < link.lastAt) at = link.lastAt
    if (at === link.lastAt && order < link.lastOrder) order = link.lastOrder
    link.lastAt = at
    link.lastOrder = order
    return { time: at, order }
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
    if (this.classify !== null) this.countType(this.classify(frame), frame.byteLength)
    const link = this.linkFor(from, from.local.node, to.node, to.shard)
    const linkStats = link.stats
    linkStats.sent++
    linkStats.bytes += frame.byteLength
    // Copied: the sender's encoder reuses its buffer, and a real wire shares nothing anyway.
    // `new Uint8Array(frame)` copies; `frame.slice()` would not when the frame is a Buffer (a view).
    const copy = new Uint8Array(frame)
    sim.mixBytes(copy)
    sim.record(TraceKind.Send, from.process, link, copy.byteLength)
    const detector = this.detector
    if (detector !== null && detector.isDown(from.local.node, to.node)) {
      // Quarantined until heard from again: fail the sender's asks to that node now (after this
      // send returns) instead of letting each wait out its timeout.
      stats.quarantined++
      linkStats.dropped++
      sim.record(TraceKind.Drop, from.process, `${link.label} (peer declared down)`, copy.byteLength)
      const node = to.node
      from.process.scheduler.defer(() => from.announceDown(node))
      return
    }
    if (this.cuts.any && this.cuts.isBlocked(from.local.node, to.node)) {
      stats.partitioned++
      linkStats.dropped++
      sim.record(TraceKind.Drop, from.process, `${link.label} (partition)`, copy.byteLength)
      return
    }
    const random = this.random
    if (this.loss > 0 && random.next() < this.loss) {
      stats.lost++
      linkStats.dropped++
      sim.record(TraceKind.Drop, from.process, `${link.label} (lost)`, copy.byteLength)
      return
    }
    const recipient = this.endpoints.get(to.node)?.[to.shard]
    if (recipient === undefined || recipient.closed || recipient.process.isCrashed) {
      stats.unroutable++
      linkStats.dropped++
      sim.record(TraceKind.Drop, from.process, `${link.label} (nobody listening)`, copy.byteLength)
      return
    }
    const now = sim.now
    let at = now + this.delay()
    let order = (random.next() * 0x1_0000_0000) >>> 0
    const reordered = this.reorder > 0 && random.next() < this.reorder
    if (reordered) {
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
      // A FIFO link delivers the copy after the original (a retransmission), never before a frame sent earlier.
      const slot = reordered ? { time: now + this.delay(), order: (random.next() * 0x1_0000_0000) >>> 0 } : this.fifoSlot(link, now + this.delay())
      sim.scheduleEvent(slot.time, () => this.deliver(fromNode, recipient, link, copy), recipient.process, false, SELF_TRACED, link, slot.order)
    }
  }

  private deliver(fromNode: string, recipient: SimTransport, link: Link, frame: Uint8Array): void {
    const sim = this.sim
    const toNode = recipient.local.node
    if (this.cuts.any && this.cuts.isBlocked(fromNode, toNode)) {
      this.stats.partitioned++
      link.stats.dropped++
      sim.record(TraceKind.Drop, recipient.process, `${link.label} (partition, in flight)`, frame.byteLength)
      return
    }
    if (this.holds.length > 0) {
      for (const hold of this.holds) {
        if (!hold.matches(fromNode, toNode)) continue
        this.stats.held++
        hold.frames.push({ fromNode, recipient, link, frame })
        sim.record(TraceKind.Fault, recipient.process, `${link.label} held (${frame.byteLength} bytes)`, frame.byteLength)
        return
      }
    }
    const handler = recipient.frameHandler
    if (recipient.closed || handler === null) {
      this.stats.unroutable++
      link.stats.dropped++
      sim.record(TraceKind.Drop, recipient.process, `${link.label} (nobody listening)`, frame.byteLength)
      return
    }
    this.stats.delivered++
    link.stats.delivered++
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
