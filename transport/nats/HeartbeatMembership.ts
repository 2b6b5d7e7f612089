import type { NatsConnection, Subscription } from '@nats-io/nats-core'
import { InvalidArgumentError, RateLimitedLog, silentLogger, type Clock, type Logger, type Random, type TimerHandle } from '../../runtime/index.ts'
import { flushWithin } from './flushWithin.ts'
import type { FrameSigner } from './FrameSigner.ts'
import type { Membership, MembershipListener } from './Membership.ts'

/** How long `stop()` waits for the leave message to reach the server. */
const FLUSH_ON_STOP_MS = 2000

export interface HeartbeatOptions {
  /** Milliseconds between two heartbeats of this node. Default 1000. */
  readonly intervalMs?: number
  /** Silence after which a peer is declared down. Default 5000 (must exceed the interval). */
  readonly timeoutMs?: number
  /**
   * Whether this instance publishes the node's heartbeats. A node has one publisher (its shard 0
   * by default); every shard listens. Default true.
   */
  readonly publish?: boolean
}

export interface HeartbeatMembershipOptions extends HeartbeatOptions {
  readonly connection: NatsConnection
  readonly clock: Clock
  /** Where heartbeats travel (`<prefix>.<cluster>.hb`). */
  readonly subject: string
  /** This node's name. */
  readonly node: string
  /**
   * Tells this run of the node from a previous one with the same name, so a node that restarts
   * faster than the timeout is still seen to have died. Default: random, from `random`.
   */
  readonly incarnation?: string
  readonly random?: Random
  /**
   * Signs this node's heartbeats and drops peers' heartbeats without a valid signature, so nobody
   * without a cluster key can declare a node or make one leave (docs/security.md). Default: none.
   */
  readonly signer?: FrameSigner | null
  /** Where the rate-limited warning about forged heartbeats goes. Default: silent. */
  readonly log?: Logger
}

/** Counters for metrics. */
export interface HeartbeatMembershipStats {
  /** Heartbeats dropped unread: unsigned or wrongly signed (only with a signer). */
  unauthenticatedHeartbeats: number
}

/** The heartbeat message (JSON on the wire; see docs/protocol.md). */
export interface HeartbeatMessage {
  readonly v: 1
  /**
   * `announce`: joined or reconnected, peers answer with a beat; `beat`: alive; `leave`: stopping;
   * `shard-down`: one of this node's shards died (the node lives on).
   */
  readonly type: 'announce' | 'beat' | 'leave' | 'shard-down'
  readonly node: string
  readonly incarnation: string
  readonly intervalMs: number
  /** The shard of a `shard-down`. */
  readonly shard?: number
  /** The sender's shards that are down right now (absent: none). Every message carries it, so a peer that missed a notice catches up. */
  readonly down?: readonly number[]
}

interface Peer {
  incarnation: string
  /** Its shards it reported down. */
  down: Set<number>
  lastSeen: number
  /** Heard since this node's link last came back (before that, frames to it wait). */
  confirmed: boolean
}

/**
 * Heartbeat failure detector over NATS: every node publishes a beat on the cluster's heartbeat
 * subject each interval; a peer silent for longer than the timeout is declared down. Joins and
 * reconnects announce themselves and peers answer at once, so a restarted link is confirmed in one
 * round trip rather than one interval. All time comes from the injected Clock.
 */
export class HeartbeatMembership implements Membership {
  readonly node: string
  readonly incarnation: string
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly stats: HeartbeatMembershipStats = { unauthenticatedHeartbeats: 0 }
  private readonly connection: NatsConnection
  private readonly clock: Clock
  private readonly subject: string
  private readonly publishes: boolean
  private readonly signer: FrameSigner | null
  private readonly forgeryWarning: RateLimitedLog
  private readonly peers = new Map<string, Peer>()
  private listener: MembershipListener | null = null
  private subscription: Subscription | null = null
  private timer: TimerHandle | null = null
  private linkUp = true
  private stopped = false
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
    this.incarnation = options.incarnation ?? randomIncarnation(options.random)
  }

  async start(listener: MembershipListener): Promise<void> {
    this.listener = listener
    this.subscription = this.connection.subscribe(this.subject, {
      callback: (error, msg) => {
        if (error === null) this.receive(msg.data)
      },
    })
    // The subscription must be live before the announce: the answers to it come back on it.
    await this.connection.flush()
    this.beat('announce')
    this.timer = this.clock.setTimer(this.intervalMs, this.tickBound)
  }

  linkChanged(connected: boolean): void {
    if (this.stopped || connected === this.linkUp) return
    this.linkUp = connected
    if (!connected) {
      for (const peer of this.peers.values()) peer.confirmed = false
      return
    }
    // Nobody could be heard while the link was down: restart every peer's clock instead of judging them.
    const now = this.clock.now()
    for (const peer of this.peers.values()) peer.lastSeen = now
    this.beat('announce')
  }

  members(): string[] {
    return [...this.peers.keys()]
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== null) this.clock.clearTimer(this.timer)
    this.timer = null
    if (!this.connection.isClosed()) {
      this.beat('leave')
      this.subscription?.unsubscribe()
      if (this.linkUp) await flushWithin(this.connection, this.clock, FLUSH_ON_STOP_MS)
    }
    this.peers.clear()
  }

  private tick(): void {
    this.timer = null
    if (this.stopped) return
    this.beat('beat')
    if (this.linkUp) {
      const now = this.clock.now()
      for (const [node, peer] of [...this.peers]) {
        if (now - peer.lastSeen <= this.timeoutMs) continue
        this.peers.delete(node)
        this.listener?.down(node, null)
      }
    }
    this.timer = this.clock.setTimer(this.intervalMs, this.tickBound)
  }

  shardDown(shard: number): void {
    this.downShards.add(shard)
    this.beat('shard-down', shard)
  }

  shardUp(shard: number): void {
    if (!this.downShards.delete(shard)) return
    this.beat('beat')
  }

  private beat(type: HeartbeatMessage['type'], shard?: number): void {
    if (!this.publishes || !this.linkUp || this.connection.isClosed()) return
    const message: HeartbeatMessage = {
      v: 1,
      type,
      node: this.node,
      incarnation: this.incarnation,
      intervalMs: this.intervalMs,
      ...(shard === undefined ? {} : { shard }),
      ...(this.downShards.size === 0 ? {} : { down: [...this.downShards] }),
    }
    try {
      const bytes = encoder.encode(JSON.stringify(message))
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
    if (message === null || message.node === this.node) return
    const listener = this.listener
    const peer = this.peers.get(message.node)
    if (message.type === 'leave') {
      if (peer === undefined || peer.incarnation !== message.incarnation) return
      this.peers.delete(message.node)
      listener?.down(message.node, null)
      return
    }
    if (message.type === 'shard-down') {
      // Only about the run we know: a stale notice of an earlier incarnation means nothing now.
      if (peer !== undefined && peer.incarnation === message.incarnation) this.syncShards(message.node, peer, [...(message.down ?? []), message.shard as number])
      return
    }
    if (message.type === 'announce') this.beat('beat')
    const now = this.clock.now()
    if (peer !== undefined && peer.incarnation !== message.incarnation) {
      // Restarted under the same name: everything the old run held is gone.
      this.peers.delete(message.node)
      listener?.down(message.node, null)
    } else if (peer !== undefined) {
      peer.lastSeen = now
      if (!peer.confirmed && this.linkUp) {
        peer.confirmed = true
        listener?.up(message.node)
      }
      this.syncShards(message.node, peer, message.down ?? [])
      return
    }
    const fresh: Peer = { incarnation: message.incarnation, down: new Set(), lastSeen: now, confirmed: this.linkUp }
    this.peers.set(message.node, fresh)
    if (this.linkUp) listener?.up(message.node)
    this.syncShards(message.node, fresh, message.down ?? [])
  }

  /** Brings what we know of a peer's down shards in line with what it says now. */
  private syncShards(node: string, peer: Peer, listed: readonly number[]): void {
    const listener = this.listener
    const down = new Set(listed)
    for (const shard of down) {
      if (peer.down.has(shard)) continue
      peer.down.add(shard)
      listener?.down(node, shard)
    }
    if (peer.down.size === down.size) return
    for (const shard of [...peer.down]) {
      if (down.has(shard)) continue
      peer.down.delete(shard)
      listener?.shardUp?.(node, shard)
    }
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function parseHeartbeat(data: Uint8Array): HeartbeatMessage | null {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(data))
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null) return null
  const m = value as Record<string, unknown>
  if (m['v'] !== 1 || typeof m['node'] !== 'string' || typeof m['incarnation'] !== 'string') return null
  if (m['type'] !== 'announce' && m['type'] !== 'beat' && m['type'] !== 'leave' && m['type'] !== 'shard-down') return null
  if (m['type'] === 'shard-down' && !(Number.isInteger(m['shard']) && (m['shard'] as number) > 0)) return null
  if (m['down'] !== undefined && !(Array.isArray(m['down']) && m['down'].every((shard) => Number.isInteger(shard) && (shard as number) > 0))) return null
  return value as HeartbeatMessage
}

function randomIncarnation(random: Random | undefined): string {
  if (random === undefined) throw new InvalidArgumentError('HeartbeatMembership needs an incarnation or a Random to make one')
  let out = ''
  for (let i = 0; i < 4; i++) out += Math.floor(random.next() * 0x10000).toString(16).padStart(4, '0')
  return out
}
