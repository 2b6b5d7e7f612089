import type { NatsConnection, Subscription } from '@nats-io/nats-core'
import { InvalidArgumentError, RateLimitedLog, silentLogger, type Clock, type TimerHandle } from '../../runtime/index.ts'
import { flushWithin } from './flushWithin.ts'
import type { FrameSigner } from './FrameSigner.ts'
import type { HeartbeatMembershipOptions, HeartbeatMembershipStats } from './HeartbeatOptions.ts'
import { encodeHeartbeat, parseHeartbeat, type HeartbeatMessage } from './HeartbeatMessage.ts'
import type { Membership, MembershipListener } from './Membership.ts'
import { randomIncarnation } from './Peer.ts'
import { phiAccrualSettings, type PhiAccrualSettings } from './PhiAccrual.ts'
import { HeartbeatRoster } from './HeartbeatRoster.ts'

export type { HeartbeatMessage } from './HeartbeatMessage.ts'
export type { HeartbeatMembershipOptions, HeartbeatMembershipStats, HeartbeatOptions } from './HeartbeatOptions.ts'

/** How long `stop()` waits for the leave message to reach the server. */
const FLUSH_ON_STOP_MS = 2000

interface Hold {
  readonly sync: number
  /** When it began: a tick that was due before that is late because of the stall this hold covers. */
  readonly since: number
  flushedAt: number | null
  timer: TimerHandle | null
}

/**
 * Heartbeat membership over NATS with a φ-accrual failure detector (PhiAccrual.ts). Every node
 * publishes a beat each interval; a peer whose silence makes φ exceed the threshold is suspected,
 * and declared down only after a flush round trip proved this node's own link and read whatever
 * heartbeats waited in its socket. A node that finds it was away (its tick ran late by more than
 * `stallMs`, or its own link failed the round trip) judges nobody: it holds frames (`holding()`),
 * announces itself, reads its socket to the end (flush) and waits for its peers' answers before
 * frames flow again. A node declared down is quarantined (Quarantine.ts): that run is never
 * admitted again, it is told so when heard, and other members follow. All time comes from the
 * injected Clock. The bookkeeping of peers, quarantined runs and reported suspicions is in
 * HeartbeatRoster.ts.
 */
export class HeartbeatMembership implements Membership {
  readonly node: string
  readonly incarnation: string
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly stallMs: number
  readonly detector: PhiAccrualSettings
  readonly stats: HeartbeatMembershipStats = { unauthenticatedHeartbeats: 0, holds: 0, declaredDown: 0 }
  private readonly connection: NatsConnection
  private readonly clock: Clock
  private readonly subject: string
  private readonly publishes: boolean
  private readonly signer: FrameSigner | null
  private readonly forgeryWarning: RateLimitedLog
  private readonly peers: HeartbeatRoster
  /** The run this node's heartbeats carry: our own when we publish, else learned from the node's publisher. */
  private nodeIncarnation: string | null
  private listener: MembershipListener | null = null
  private subscription: Subscription | null = null
  private timer: TimerHandle | null = null
  /** When the next tick is due: a tick (or a frame) seen much later means this node was away. */
  private dueAt = 0
  /** When this node's own heartbeat last came back from the server. */
  private lastEcho = 0
  private linkUp = true
  private stopped = false
  private leavingSelf = false
  private quarantinedBy: string | null = null
  /** A flush is proving this node's link before suspects are judged. */
  private checking = false
  private hold: Hold | null = null
  private syncs = 0
  /** How long a link check (flush round trip) may take before this node's link is the suspect. */
  private readonly linkCheckMs: number
  /** How long a hold waits for peers' answers after its flush. */
  private readonly answersMs: number
  /** This node's shards that are down (a sharded node's workers that died and were not yet restarted). */
  private readonly downShards = new Set<number>()
  private readonly tickBound = (): void => this.tick()

  constructor(options: HeartbeatMembershipOptions) {
    this.connection = options.connection
    this.clock = options.clock
    this.subject = options.subject
    this.node = options.node
    this.intervalMs = options.intervalMs ?? 1000
    this.timeoutMs = options.timeoutMs ?? 5000
    this.publishes = options.publish ?? true
    this.signer = options.signer ?? null
    this.forgeryWarning = new RateLimitedLog(options.clock, options.log ?? silentLogger)
    if (!(this.intervalMs > 0)) throw new InvalidArgumentError(`heartbeat intervalMs must be > 0, got ${this.intervalMs}`)
    if (!(this.timeoutMs > this.intervalMs)) {
      throw new InvalidArgumentError(`heartbeat timeoutMs (${this.timeoutMs}) must exceed intervalMs (${this.intervalMs})`)
    }
    this.stallMs = options.stallMs ?? this.intervalMs
    if (!(this.stallMs > 0)) throw new InvalidArgumentError(`heartbeat stallMs must be > 0, got ${this.stallMs}`)
    this.detector = phiAccrualSettings({
      firstHeartbeatEstimateMs: this.intervalMs,
      acceptablePauseMs: this.timeoutMs - this.intervalMs,
      ...options.detector,
    })
    this.linkCheckMs = Math.max(this.intervalMs, 1000)
    this.answersMs = Math.max(2 * this.intervalMs, 1000)
    this.incarnation = options.incarnation ?? randomIncarnation(options.random)
    this.peers = new HeartbeatRoster(this.detector, options.onVerdict ?? null)
    this.nodeIncarnation = this.publishes ? this.incarnation : null
  }

  async start(listener: MembershipListener): Promise<void> {
    this.listener = listener
    this.peers.attach(listener)
    this.subscription = this.connection.subscribe(this.subject, {
      callback: (error, msg) => {
        if (error === null) this.receive(msg.data)
      },
    })
    // The subscription must be live before the announce: the answers to it come back on it.
    await this.connection.flush()
    const now = this.clock.now()
    this.lastEcho = now
    this.dueAt = now + this.intervalMs
    this.beat('announce')
    this.timer = this.clock.setTimer(this.intervalMs, this.tickBound)
  }

  linkChanged(connected: boolean): void {
    if (this.stopped || connected === this.linkUp) return
    this.linkUp = connected
    if (!connected) return this.peers.unconfirmAll()
    // Nobody could be heard while the link was down: restart every peer's clock instead of judging them.
    const now = this.clock.now()
    this.peers.restartClocks(now)
    this.lastEcho = now
    this.beat('announce')
  }

  members(): string[] {
    return this.peers.members()
  }

  /** Whether `node` announced that it is leaving. */
  isLeaving(node: string): boolean {
    return this.peers.isLeaving(node)
  }

  /** The peer that quarantined this node's run, or null. */
  get quarantined(): string | null {
    return this.quarantinedBy
  }

  /** φ of a peer right now (null when unknown): for metrics and tests. */
  phi(node: string): number | null {
    return this.peers.phi(node, this.clock.now())
  }

  announceLeaving(): void {
    if (this.stopped || this.leavingSelf) return
    this.leavingSelf = true
    this.beat('leaving')
  }

  holding(): boolean {
    if (this.hold !== null || this.checking) return true
    if (this.stopped || this.quarantinedBy !== null || !this.linkUp) return false
    // The tick is overdue by more than a stall: the event loop did not run, so neither did the
    // socket. What arrives now may be old, and a peer may have given up on us meanwhile.
    if (this.clock.now() - this.dueAt > this.stallMs) {
      this.startHold()
      return true
    }
    return false
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== null) this.clock.clearTimer(this.timer)
    this.timer = null
    if (this.hold?.timer != null) this.clock.clearTimer(this.hold.timer)
    if (!this.connection.isClosed()) {
      this.beat('leave')
      this.subscription?.unsubscribe()
      if (this.linkUp) await flushWithin(this.connection, this.clock, FLUSH_ON_STOP_MS)
    }
    this.peers.clear()
  }

  shardDown(shard: number): void {
    this.downShards.add(shard)
    this.beat('shard-down', { shard })
  }

  shardUp(shard: number): void {
    if (!this.downShards.delete(shard)) return
    this.beat('beat')
  }

  private tick(): void {
    this.timer = null
    if (this.stopped) return
    const now = this.clock.now()
    const due = this.dueAt
    this.dueAt = now + this.intervalMs
    this.timer = this.clock.setTimer(this.intervalMs, this.tickBound)
    if (this.quarantinedBy !== null) return
    this.beat('beat')
    // Late by more than a stall: this node was away. Judge nobody; hold (unless a hold began after
    // the missed tick, which is the same absence).
    if (now - due > this.stallMs && (this.hold === null || this.hold.since < due)) return this.startHold()
    if (this.hold !== null) return this.advanceHold()
    if (!this.linkUp || this.checking) return
    // Our own beats no longer come back: our link (or the server) is stuck, not our peers.
    if (this.publishes && now - this.lastEcho > this.intervalMs + this.stallMs) return this.startHold()
    const suspects = this.peers.suspects(now)
    if (suspects.length > 0) this.judge(suspects)
  }

  /**
   * Declares the suspects down, but only after a flush round trip proved this node's own link and
   * read every heartbeat that waited in its socket. Frames are held meanwhile (`holding()`).
   */
  private judge(suspects: readonly [string, string][]): void {
    this.checking = true
    void flushWithin(this.connection, this.clock, this.linkCheckMs).then((ok) => {
      this.checking = false
      if (this.stopped || this.quarantinedBy !== null || this.hold !== null) return
      if (!ok) return this.startHold()
      const now = this.clock.now()
      for (const [node, incarnation] of suspects) {
        // Cluster mode only reports; the cluster's downing rule decides (declareDown follows it).
        if (this.peers.convict(node, incarnation, now) !== 'down') continue
        this.stats.declaredDown++
        this.peers.quarantineRun(node, incarnation)
        this.send({ ...this.header('quarantined'), peer: node, peerIncarnation: incarnation })
      }
      this.listener?.resumed?.()
    })
  }

  /**
   * Cluster mode: the cluster decided `node`'s run `incarnation` is down. It is quarantined here (never
   * admitted again; told so if it speaks), and if it is the run this membership knows, the listener
   * hears `down` (watchers get Terminated(node-down), asks fail). Idempotent.
   */
  declareDown(node: string, incarnation: string): void {
    if (this.stopped || node === this.node || this.peers.quarantine.has(node, incarnation)) return
    if (this.peers.knows(node, incarnation)) this.stats.declaredDown++
    this.peers.declareDown(node, incarnation)
    this.send({ ...this.header('quarantined'), peer: node, peerIncarnation: incarnation })
  }

  /**
   * This node was away (or cannot prove its link): judge nobody, hold frames, announce, read the
   * socket to its end (flush), then wait for the peers' answers (bounded). A peer that gave up on
   * us meanwhile has its `quarantined` notice read before anything is released.
   */
  private startHold(): void {
    if (this.stopped || this.quarantinedBy !== null) return
    if (this.hold?.timer != null) this.clock.clearTimer(this.hold.timer)
    this.stats.holds++
    const hold: Hold = { sync: ++this.syncs, since: this.clock.now(), flushedAt: null, timer: null }
    this.hold = hold
    this.peers.expectAnswers()
    // Only the publisher speaks for the node (a worker shard's view of the node's down shards is not the node's).
    this.beat('announce', { sync: hold.sync })
    void flushWithin(this.connection, this.clock, this.linkCheckMs).then((ok) => {
      if (this.hold !== hold || this.stopped) return
      if (!ok) {
        // Still no proof of our link; try again (a link that is down holds frames in the transport anyway).
        if (!this.connection.isClosed()) this.startHold()
        return
      }
      hold.flushedAt = this.clock.now()
      hold.timer = this.clock.setTimer(this.answersMs, () => {
        hold.timer = null
        this.advanceHold(true)
      })
      this.advanceHold()
    })
  }

  /** Ends the hold once the socket was read and every confirmed peer answered (or the wait ran out). */
  private advanceHold(expired = false): void {
    const hold = this.hold
    if (hold === null || hold.flushedAt === null || this.stopped || this.quarantinedBy !== null) return
    // A worker shard announced nothing: the flush (its socket read to the end) is what it waits for.
    const waiting = this.publishes && this.peers.awaitingAnswers()
    if (waiting && !expired) return
    if (hold.timer !== null) this.clock.clearTimer(hold.timer)
    this.hold = null
    // The intervals spanning our absence say nothing about the peers: their clocks restart.
    const now = this.clock.now()
    this.peers.restartClocks(now)
    this.lastEcho = now
    this.listener?.resumed?.()
  }

  private header(type: HeartbeatMessage['type']): HeartbeatMessage {
    return {
      v: 1,
      type,
      node: this.node,
      incarnation: this.nodeIncarnation ?? '',
      intervalMs: this.intervalMs,
      ...(this.downShards.size === 0 ? {} : { down: [...this.downShards] }),
      ...(this.leavingSelf ? { leaving: true } : {}),
    }
  }

  /** The node's own heartbeats: only the publisher sends them. */
  private beat(type: HeartbeatMessage['type'], extra: Partial<HeartbeatMessage> = {}): void {
    if (this.publishes) this.send({ ...this.header(type), ...extra })
  }

  private send(message: HeartbeatMessage): void {
    if (!this.linkUp || this.connection.isClosed()) return
    try {
      const bytes = encodeHeartbeat(message)
      this.connection.publish(this.subject, this.signer === null ? bytes : this.signer.sign(this.subject, bytes))
    } catch {
      // Closed or draining: the next status change decides what happens; a missed beat is harmless.
    }
  }

  private receive(signed: Uint8Array): void {
    if (this.stopped) return
    const data = this.signer === null ? signed : this.signer.verify(this.subject, signed)
    if (data === null) {
      this.stats.unauthenticatedHeartbeats++
      this.forgeryWarning.note('forged', { subject: this.subject, bytes: signed.byteLength, total: this.stats.unauthenticatedHeartbeats }, 'dropped heartbeats without a valid cluster signature')
      return
    }
    const message = parseHeartbeat(data)
    if (message === null) return
    const now = this.clock.now()
    if (message.type === 'quarantined') {
      // A zombie's word counts for nothing: only a run we admit may quarantine another.
      if (!this.peers.quarantine.has(message.node, message.incarnation)) this.noticed(message)
      return
    }
    if (message.node === this.node) {
      // Our own node's heartbeat came back through the server: our link works both ways.
      if (!this.publishes && message.type !== 'leave') this.nodeIncarnation = message.incarnation
      if (message.incarnation === this.nodeIncarnation) this.lastEcho = now
      return
    }
    if (this.quarantinedBy !== null) return
    if (this.peers.quarantine.has(message.node, message.incarnation)) {
      // A run declared down: never admitted again; tell it (it may not know yet).
      if (message.type !== 'leave' && this.peers.quarantine.noticeDue(message.node, message.incarnation, now, this.intervalMs)) {
        this.send({ ...this.header('quarantined'), peer: message.node, peerIncarnation: message.incarnation })
      }
      return
    }
    this.admit(message, now)
  }

  private admit(message: HeartbeatMessage, now: number): void {
    if (message.type === 'leave') return this.peers.left(message.node, message.incarnation)
    // Answered by the node's publisher only: a worker shard may not know the node's run yet.
    if (message.type === 'announce') this.beat('beat', { to: message.node, ...(message.sync === undefined ? {} : { sync: message.sync }) })
    if (message.type === 'shard-down') return this.peers.shardDown(message)
    const peer = this.peers.admit(message, now, this.linkUp, this.hold !== null)
    if (message.to === this.node && this.hold !== null && message.sync === this.hold.sync) {
      peer.answered = true
      this.advanceHold()
    }
  }

  /** A `quarantined` notice: about us (we are out), or about another run (we follow the member who declared it down). */
  private noticed(message: HeartbeatMessage): void {
    const node = message.peer as string
    const incarnation = message.peerIncarnation as string
    if (node === this.node) {
      if (incarnation !== this.nodeIncarnation || this.quarantinedBy !== null) return
      this.quarantinedBy = message.node
      if (this.hold?.timer != null) this.clock.clearTimer(this.hold.timer)
      this.hold = null
      this.checking = false
      this.peers.clear()
      this.listener?.quarantined?.(message.node)
      return
    }
    this.peers.quarantineRun(node, incarnation)
  }
}
