import type { HeartbeatMessage } from './HeartbeatMessage.ts'
import type { MembershipListener } from './Membership.ts'
import { syncShards, type Peer } from './Peer.ts'
import { ArrivalWindow, type PhiAccrualSettings } from './PhiAccrual.ts'
import { Quarantine } from './Quarantine.ts'

type VerdictReport = (node: string, incarnation: string, suspected: boolean) => void

/**
 * HeartbeatMembership's bookkeeping of the other nodes: the peers it admitted, the runs it
 * quarantined, and (cluster mode) the suspicions it reported. It tells the listener who is up,
 * down, leaving or missing shards; the membership keeps the timing, the link and the wire.
 */
export class HeartbeatRoster {
  readonly quarantine = new Quarantine()
  private readonly peers = new Map<string, Peer>()
  /** Cluster mode: peers reported suspected and not heard since (nodes). */
  private readonly suspected = new Set<string>()
  private readonly detector: PhiAccrualSettings
  private readonly onVerdict: VerdictReport | null
  private listener: MembershipListener | null = null

  constructor(detector: PhiAccrualSettings, onVerdict: VerdictReport | null) {
    this.detector = detector
    this.onVerdict = onVerdict
  }

  attach(listener: MembershipListener): void {
    this.listener = listener
  }

  members(): string[] {
    const alive: string[] = []
    for (const [node, peer] of this.peers) if (!peer.leaving) alive.push(node)
    return alive
  }

  isLeaving(node: string): boolean {
    return this.peers.get(node)?.leaving === true
  }

  phi(node: string, now: number): number | null {
    return this.peers.get(node)?.window.phi(now) ?? null
  }

  /** This node's link went down: frames to every peer wait until it is heard again. */
  unconfirmAll(): void {
    for (const peer of this.peers.values()) peer.confirmed = false
  }

  /** Restarts every peer's arrival clock (the time since says nothing about them). */
  restartClocks(now: number): void {
    for (const peer of this.peers.values()) peer.window.restart(now)
  }

  /** A hold began: every peer owes an answer to its announce. */
  expectAnswers(): void {
    for (const peer of this.peers.values()) peer.answered = false
  }

  awaitingAnswers(): boolean {
    for (const peer of this.peers.values()) if (peer.confirmed && !peer.answered) return true
    return false
  }

  clear(): void {
    this.peers.clear()
  }

  /** Peers whose φ crossed the threshold and that were not reported yet: [node, incarnation]. */
  suspects(now: number): [string, string][] {
    const out: [string, string][] = []
    for (const [node, peer] of this.peers) if (!this.suspected.has(node) && peer.window.phi(now) > this.detector.threshold) out.push([node, peer.incarnation])
    return out
  }

  /**
   * A suspect after this node's link was proved: 'reported' (cluster mode: the cluster's downing rule
   * decides), or 'down' (the caller quarantines it). Null when it was heard (or replaced) meanwhile.
   */
  convict(node: string, incarnation: string, now: number): 'reported' | 'down' | null {
    const peer = this.peers.get(node)
    if (peer === undefined || peer.incarnation !== incarnation || !(peer.window.phi(now) > this.detector.threshold)) return null
    if (this.onVerdict !== null) {
      this.suspected.add(node)
      this.onVerdict(node, incarnation, true)
      return 'reported'
    }
    return 'down'
  }

  /** Whether `incarnation` is the run of `node` we know (admitted, not down). */
  knows(node: string, incarnation: string): boolean {
    return this.peers.get(node)?.incarnation === incarnation
  }

  /** The cluster decided the run is down: it is no longer a suspect, and is quarantined here. */
  declareDown(node: string, incarnation: string): void {
    this.suspected.delete(node)
    this.quarantineRun(node, incarnation)
  }

  /** Quarantines a run; if it is the one we know, it is down from now on. */
  quarantineRun(node: string, incarnation: string): void {
    this.quarantine.add(node, incarnation)
    const peer = this.peers.get(node)
    if (peer === undefined || peer.incarnation !== incarnation) return
    this.peers.delete(node)
    this.listener?.down(node, null)
  }

  /** The run said `leave`: it is gone (not quarantined: it left cleanly). */
  left(node: string, incarnation: string): void {
    const peer = this.peers.get(node)
    if (peer === undefined || peer.incarnation !== incarnation) return
    this.peers.delete(node)
    this.suspected.delete(node)
    this.listener?.down(node, null)
  }

  shardDown(message: HeartbeatMessage): void {
    const peer = this.peers.get(message.node)
    // Only about the run we know: a stale notice of an earlier incarnation means nothing now.
    if (peer !== undefined && peer.incarnation === message.incarnation) syncShards(this.listener, message.node, peer, [...(message.down ?? []), message.shard as number])
  }

  /**
   * A beat (or announce, or leaving) from a run not quarantined: admits or refreshes it. `held`: this
   * node is in a hold, so what it reads is a backlog whose timing means nothing.
   */
  admit(message: HeartbeatMessage, now: number, linkUp: boolean, held: boolean): Peer {
    const listener = this.listener
    let peer = this.peers.get(message.node)
    if (peer !== undefined && peer.incarnation !== message.incarnation) {
      // Restarted under the same name: everything the old run held is gone, and it never comes back.
      this.quarantine.add(message.node, peer.incarnation)
      this.peers.delete(message.node)
      this.suspected.delete(message.node)
      listener?.down(message.node, null)
      peer = undefined
    }
    if (peer === undefined) {
      peer = { incarnation: message.incarnation, down: new Set(), window: new ArrivalWindow(this.detector, now), confirmed: linkUp, leaving: false, answered: false }
      this.peers.set(message.node, peer)
      if (linkUp) listener?.up(message.node)
    } else {
      // While held, what is read is a backlog: it proves the peer lives, its timing means nothing.
      if (!held) peer.window.heartbeat(now)
      else peer.window.restart(now)
      if (!held && this.suspected.delete(message.node)) this.onVerdict?.(message.node, peer.incarnation, false)
      if (!peer.confirmed && linkUp) {
        peer.confirmed = true
        listener?.up(message.node)
      }
    }
    if ((message.type === 'leaving' || message.leaving === true) && !peer.leaving) {
      peer.leaving = true
      listener?.leaving?.(message.node)
    }
    syncShards(listener, message.node, peer, message.down ?? [])
    return peer
  }
}
