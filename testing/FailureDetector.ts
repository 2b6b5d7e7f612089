import type { SimProcess } from './SimProcess.ts'
import type { SimTransport, SimulatedNetwork } from './SimulatedNetwork.ts'
import { SELF_TRACED } from './simNames.ts'
import type { Simulation } from './Simulation.ts'
import { TraceKind } from './Trace.ts'

export interface FailureDetectorOptions {
  /** How often nodes hear from each other. Default 100 ms. */
  readonly heartbeatMs?: number
  /** Silence after which a peer is declared down. Default 1000 ms. */
  readonly timeoutMs?: number
}

class PeerView {
  lastHeard: number
  down = false
  incarnation: SimProcess | null
  constructor(now: number, incarnation: SimProcess | null) {
    this.lastHeard = now
    this.incarnation = incarnation
  }
}

/**
 * A heartbeat failure detector in virtual time, as each node would run it. Every `heartbeatMs` each
 * running node checks whether it could have heard from each peer: a peer is heard when its process
 * runs (not crashed, not paused) and the link from it is not partitioned. A peer silent for
 * `timeoutMs` is declared down on that node (its transports call `onPeerDown`, so Remoting fails
 * asks in flight with ERR_NODE_DOWN and death watches fire with `node-down`). A peer that answers
 * again comes back up; one that answers as a new incarnation (it restarted) is declared down first,
 * as a real handshake reveals a changed incarnation id.
 *
 * Heartbeats are modelled, not sent as frames: they are not subject to random loss (a detector is
 * tuned to tolerate that) and do not show in frame counts. Its ticks are background events: they
 * never keep `runUntilIdle` from returning.
 */
export class FailureDetector {
  readonly heartbeatMs: number
  readonly timeoutMs: number
  private readonly sim: Simulation
  private readonly network: SimulatedNetwork
  private readonly views = new Map<string, Map<string, PeerView>>()
  /** The incarnation each observer's views belong to: a restarted node starts with fresh views. */
  private readonly observers = new Map<string, SimProcess>()
  private ticking = false

  constructor(sim: Simulation, network: SimulatedNetwork, options: FailureDetectorOptions) {
    this.sim = sim
    this.network = network
    this.heartbeatMs = options.heartbeatMs ?? 100
    this.timeoutMs = options.timeoutMs ?? 1000
  }

  /** @internal The network saw a node attach. */
  attached(_node: string): void {
    if (this.ticking) return
    this.ticking = true
    this.schedule()
  }

  /** Whether `observer` currently considers `peer` down. */
  isDown(observer: string, peer: string): boolean {
    return this.views.get(observer)?.get(peer)?.down === true
  }

  private schedule(): void {
    this.sim.scheduleEvent(this.sim.now + this.heartbeatMs, () => this.tick(), null, true, SELF_TRACED, 'failure detector')
  }

  private tick(): void {
    const now = this.sim.now
    const nodes = this.network.nodes
    for (const observer of nodes) {
      const mine = this.network.endpointsOf(observer).filter((e) => e.process.isRunning)
      // A crashed or frozen node observes nothing.
      if (mine.length === 0) continue
      const self = (mine[0] as SimTransport).process
      if (this.observers.get(observer) !== self) {
        this.observers.set(observer, self)
        this.views.delete(observer)
      }
      for (const peer of nodes) {
        if (peer === observer) continue
        const theirs = this.network.endpointsOf(peer)
        const incarnation = theirs[0]?.process ?? null
        const view = this.view(observer, peer, now, incarnation)
        if (incarnation !== null && view.incarnation !== null && incarnation !== view.incarnation) {
          if (!view.down) this.declareDown(observer, mine, peer, view, 'restarted as a new incarnation')
          view.incarnation = incarnation
        } else if (view.incarnation === null) view.incarnation = incarnation
        const heard = theirs.some((e) => e.process.isRunning) && !this.network.isBlocked(peer, observer)
        if (heard) {
          if (view.down) {
            view.down = false
            this.sim.record(TraceKind.PeerDown, mine[0]?.process ?? null, `${observer} hears from ${peer} again`, 0)
          }
          view.lastHeard = now
        } else if (!view.down && now - view.lastHeard >= this.timeoutMs) {
          this.declareDown(observer, mine, peer, view, `silent for ${now - view.lastHeard} ms`)
        }
      }
    }
    this.schedule()
  }

  private declareDown(observer: string, endpoints: SimTransport[], peer: string, view: PeerView, why: string): void {
    view.down = true
    this.sim.record(TraceKind.PeerDown, endpoints[0]?.process ?? null, `${observer} declares ${peer} down (${why})`, 0)
    for (const endpoint of endpoints) for (const handler of endpoint.peerDownHandlers) handler(peer, null)
  }

  private view(observer: string, peer: string, now: number, incarnation: SimProcess | null): PeerView {
    let byPeer = this.views.get(observer)
    if (byPeer === undefined) {
      byPeer = new Map()
      this.views.set(observer, byPeer)
    }
    let view = byPeer.get(peer)
    if (view === undefined) {
      view = new PeerView(now, incarnation)
      byPeer.set(peer, view)
    }
    return view
  }
}
