import { ClusterStateWrites } from './ClusterStateWrites.ts'
import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { RaftStoppedError, type Applied, type RaftNode } from '../raft/index.ts'
import { decodeCommand, encodeCommand } from './ClusterCommandCodec.ts'
import { ClusterStateMachine } from './ClusterStateMachine.ts'
import { decodePeerMessage, encodePeerMessage, type ClusterPeerLink, type PeerMessage } from './ClusterPeerLink.ts'
import { LeaderDuties } from './LeaderDuties.ts'
import { raftId, splitRaftId } from './policies.ts'
import { ClusterInvalidTransitionError, ClusterMalformedCommandError, ClusterNameConflictError, ClusterNoQuorumError, ClusterQuarantinedError, ClusterStateErrorCodes, ClusterStoppedError, ClusterUnknownMemberError } from './errors.ts'
import type { ClusterState } from './ClusterState.ts'
import type { ApplyResult, ClusterChange, ClusterCommand, Member, Placement, RegistryEntry } from './types.ts'

export interface ClusterStateNodeOptions {
  readonly raft: RaftNode
  readonly clock: Clock
  /** This member's identity (node name and incarnation). */
  readonly self: { readonly node: string; readonly incarnation: number }
  /** How long a write waits for its commit before ERR_CLUSTER_NO_QUORUM. Default 2000 ms. */
  readonly writeTimeoutMs?: number
  /** Forwarding of writes from followers to the leader. Without it only the leader can write. */
  readonly peers?: ClusterPeerLink
  /** Raft ids to ask while no leader is known (a joining node's seeds). */
  readonly seeds?: readonly string[]
  /** Run the leader's duties (up, exit, remove, voter reconciliation) while this node leads. Default true. */
  readonly leaderDuties?: boolean
  /** Voters wanted (the oldest up members); the rest are learners. Default 3. */
  readonly voterCount?: number
  /** Period of the leader's duties. Default 100 ms. */
  readonly dutiesMs?: number
  /** Period of the "was I downed?" probe while no leader is known. Default 500 ms. */
  readonly probeMs?: number
}

interface Forward {
  readonly resolve: (r: ApplyResult) => void
  readonly reject: (e: Error) => void
  readonly deadline: number
  readonly command: ClusterCommand
  hops: number
  timer: TimerHandle
}

interface Waiter {
  readonly term: number
  readonly resolve: (r: ApplyResult) => void
  readonly reject: (e: Error) => void
  readonly timer: TimerHandle
}

const ERRORS: Record<string, new (m: string) => Error> = {
  ERR_CLUSTER_QUARANTINED: ClusterQuarantinedError,
  ERR_CLUSTER_MALFORMED_COMMAND: ClusterMalformedCommandError,
  ERR_CLUSTER_NAME_CONFLICT: ClusterNameConflictError,
  ERR_CLUSTER_UNKNOWN_MEMBER: ClusterUnknownMemberError,
  ERR_CLUSTER_INVALID_TRANSITION: ClusterInvalidTransitionError,
}

/**
 * Glues a RaftNode to the cluster state machine on one member: writes are Raft proposals on the
 * leader (a follower forwards them over the peer link and gets the outcome back), every member
 * applies the committed log in order, reads come from the local replica (fast, possibly stale) or
 * after Raft's ReadIndex (linearizable), and the failure detector's verdicts enter through
 * `reportSuspicion`. While it leads, it runs the leader's duties (LeaderDuties.ts).
 */
export class ClusterStateNode extends ClusterStateWrites implements ClusterState {
  private sm = new ClusterStateMachine()
  private readonly opts: ClusterStateNodeOptions
  private readonly waiters = new Map<number, Waiter>()
  private readonly subscribers = new Map<string, Set<(entries: readonly RegistryEntry[]) => void>>()
  private readonly unsubscribe: () => void
  private stopped = false
  private readonly duties: LeaderDuties | null
  private forwardSeq = 0
  private readonly forwards = new Map<number, Forward>()
  private seedTurn = 0
  private readonly changeListeners = new Set<(c: ClusterChange | { readonly type: 'reset' }) => void>()
  private lastApplied = { index: 0, term: 0 }

  constructor(options: ClusterStateNodeOptions) {
    super()
    this.opts = options
    this.unsubscribe = options.raft.onApplied((a) => this.onApplied(a))
    options.peers?.onFrame((f) => this.onPeerFrame(f))
    if (options.peers !== undefined) this.armProbe()
    this.duties =
      options.leaderDuties === false
        ? null
        : new LeaderDuties({ raft: options.raft, clock: options.clock, state: () => this.sm, propose: (c) => this.proposeLocal(c), voterCount: options.voterCount ?? 3, intervalMs: options.dutiesMs ?? 100 })
  }

  /** The state machine's bytes for Raft's snapshot hook. */
  snapshot(): Uint8Array {
    return this.sm.snapshot()
  }

  get self(): { readonly node: string; readonly incarnation: number } {
    return this.opts.self
  }

  get state(): ClusterStateMachine {
    return this.sm
  }

  /** True once the cluster downed this incarnation: it must restart with a new one. */
  get quarantined(): boolean {
    return this.toldQuarantined || this.sm.isQuarantined(this.opts.self.node, this.opts.self.incarnation)
  }

  /** Set when a member answered that the cluster committed this incarnation's down (a removed server receives no more log). */
  private toldQuarantined = false
  private leaderlessProbes = 0

  /** A server removed from Raft's configuration never hears a leader again: ask members whether this incarnation was downed. */
  private armProbe(): void {
    const every = this.opts.probeMs ?? 500
    this.probeTimer = this.opts.clock.setTimer(every, () => {
      if (this.stopped) return
      this.armProbe()
      const rs = this.opts.raft.state()
      if (rs.role === 'leader' || rs.leaderId !== null || this.quarantined) {
        this.leaderlessProbes = 0
        return
      }
      if (++this.leaderlessProbes < 2) return
      const targets = [...new Set([...(this.opts.seeds ?? []), ...this.sm.members().map((m) => raftId(m.node, m.incarnation))])].filter((t) => t !== this.opts.raft.id).sort()
      if (targets.length === 0) return
      const to = targets[this.leaderlessProbes % targets.length] as string
      this.opts.peers?.send(to, encodePeerMessage({ kind: 'probe', from: this.opts.raft.id, id: ++this.forwardSeq }))
    })
  }
  private probeTimer: TimerHandle | null = null

  // ------------------------------------------------------------------ writes


  /**
   * Proposes `command` and resolves with its result once applied here. Refused commands reject with
   * their typed error; no leader here, or no commit within the timeout (the minority side of a
   * partition), rejects with ERR_CLUSTER_NO_QUORUM; a quarantined incarnation with ERR_CLUSTER_QUARANTINED.
   */
  write(command: ClusterCommand): Promise<ApplyResult> {
    if (this.stopped) return Promise.reject(new ClusterStoppedError('cluster state node stopped'))
    if (this.quarantined) return Promise.reject(new ClusterQuarantinedError(`${this.opts.self.node}#${this.opts.self.incarnation} was downed; restart with a new incarnation`))
    if (this.opts.raft.state().role === 'leader' || this.opts.peers === undefined) return this.proposeLocal(command)
    return new Promise<ApplyResult>((resolve, reject) => {
      const id = ++this.forwardSeq
      const f: Forward = { resolve, reject, command, deadline: this.opts.clock.now() + this.timeoutMs, hops: 0, timer: this.forwardTimer(id, this.timeoutMs) }
      this.forwards.set(id, f)
      this.sendForward(id, f, this.opts.raft.state().leaderId)
    })
  }

  private get timeoutMs(): number {
    return this.opts.writeTimeoutMs ?? 2000
  }

  private forwardTimer(id: number, ms: number): TimerHandle {
    return this.opts.clock.setTimer(ms, () => {
      const f = this.forwards.get(id)
      if (f === undefined) return
      this.forwards.delete(id)
      // The outcome is unknown: the leader may have committed it. Callers retry idempotent commands.
      f.reject(new ClusterNoQuorumError(`no leader answered within ${this.timeoutMs} ms`))
    })
  }

  private sendForward(id: number, f: Forward, to: string | null): void {
    const seeds = this.opts.seeds ?? []
    const target = to ?? (seeds.length > 0 ? (seeds[this.seedTurn++ % seeds.length] as string) : null)
    if (target === null || target === this.opts.raft.id) {
      // Nobody to ask yet (an election is under way): ask again shortly, within the deadline.
      this.retryForward(id, f)
      return
    }
    this.opts.peers?.send(target, encodePeerMessage({ kind: 'forward', from: this.opts.raft.id, id, command: f.command }))
  }

  private retryForward(id: number, f: Forward): void {
    this.opts.clock.setTimer(Math.min(100, this.timeoutMs / 10), () => {
      if (this.forwards.get(id) === f) this.sendForward(id, f, this.opts.raft.state().leaderId)
    })
  }

  private onPeerFrame(frame: Uint8Array): void {
    if (this.stopped) return
    let m: PeerMessage
    try {
      m = decodePeerMessage(frame)
    } catch (error) {
      if (error instanceof ClusterMalformedCommandError) {
        this.malformedFrames++
        return
      }
      throw error
    }
    if (m.kind === 'probe') {
      const [node, inc] = splitRaftId(m.from)
      const quarantined = node !== null && this.sm.isQuarantined(node, inc)
      this.opts.peers?.send(m.from, encodePeerMessage({ kind: 'outcome', from: this.opts.raft.id, id: m.id, code: quarantined ? ClusterStateErrorCodes.Quarantined : null, message: quarantined ? `${m.from} was downed` : '', leader: this.opts.raft.state().leaderId }))
      return
    }
    if (m.kind === 'outcome' && m.code === ClusterStateErrorCodes.Quarantined && m.message.startsWith(`${this.opts.raft.id} was downed`)) {
      // Authoritative: the answering member applied this incarnation's committed down.
      this.toldQuarantined = true
      return
    }
    if (m.kind === 'forward') {
      const [fnode, finc] = splitRaftId(m.from)
      if (fnode !== null && this.sm.isQuarantined(fnode, finc)) {
        this.opts.peers?.send(m.from, encodePeerMessage({ kind: 'outcome', from: this.opts.raft.id, id: m.id, code: ClusterStateErrorCodes.Quarantined, message: `${m.from} was downed`, leader: null }))
        return
      }
      const reply = (code: string | null, message: string): void => this.opts.peers?.send(m.from, encodePeerMessage({ kind: 'outcome', from: this.opts.raft.id, id: m.id, code, message, leader: this.opts.raft.state().leaderId }))
      if (this.opts.raft.state().role !== 'leader') {
        reply(ClusterStateErrorCodes.NoQuorum, 'not the leader')
        return
      }
      this.proposeLocal(m.command).then(
        () => reply(null, ''),
        (error: unknown) => reply((error as { code?: string }).code ?? ClusterStateErrorCodes.NoQuorum, (error as Error).message),
      )
      return
    }
    const f = this.forwards.get(m.id)
    if (f === undefined) return
    if (m.code === ClusterStateErrorCodes.NoQuorum && f.hops < 5 && this.opts.clock.now() < f.deadline) {
      // Redirected (or the leader lost its quorum meanwhile): follow the hint, or wait for one.
      f.hops++
      if (m.leader !== null && m.leader !== m.from) this.sendForward(m.id, f, m.leader)
      else this.retryForward(m.id, f)
      return
    }
    this.forwards.delete(m.id)
    this.opts.clock.clearTimer(f.timer)
    if (m.code === null) f.resolve({ error: null, changes: [] })
    else f.reject(new (ERRORS[m.code] ?? ClusterNoQuorumError)(m.message))
  }

  /** Frames from peers that failed to decode (refused and counted). */
  malformedFrames = 0

  /** Proposes on this node's Raft (it must lead) and resolves once applied here. */
  private proposeLocal(command: ClusterCommand): Promise<ApplyResult> {
    if (this.stopped) return Promise.reject(new ClusterStoppedError('cluster state node stopped'))
    let r: { index: number; term: number; isLeader: boolean }
    try {
      r = this.opts.raft.propose(encodeCommand(command))
    } catch (error) {
      // A stopped Raft node or a leadership transfer under way: nothing was taken, retriable elsewhere.
      return Promise.reject(error instanceof RaftStoppedError ? new ClusterStoppedError('raft node stopped', { cause: error }) : new ClusterNoQuorumError((error as Error).message, { cause: error }))
    }
    if (!r.isLeader) return Promise.reject(new ClusterNoQuorumError(`not the leader (leader: ${this.opts.raft.state().leaderId ?? 'unknown'})`))
    return new Promise<ApplyResult>((resolve, reject) => {
      const timer = this.opts.clock.setTimer(this.opts.writeTimeoutMs ?? 2000, () => {
        this.waiters.delete(r.index)
        reject(new ClusterNoQuorumError(`command at ${r.index} not committed within ${this.opts.writeTimeoutMs ?? 2000} ms`))
      })
      this.waiters.set(r.index, { term: r.term, resolve, reject, timer })
    })
  }

  // ------------------------------------------------------------------ reads

  /** Local replica (fast; may lag the leader). */
  lookupCached(key: string): RegistryEntry[] {
    return this.sm.lookup(key)
  }

  /**
   * Linearizable on any server: ReadIndex (a follower forwards it to the leader and waits until its
   * replica applied the confirmed index), then the local replica. Rejects with the read's retriable
   * codes (ERR_RAFT_NO_LEADER, ERR_RAFT_READ_ABORTED, ERR_RAFT_READ_TIMEOUT) when no leader confirms it.
   */
  async lookup(key: string): Promise<RegistryEntry[]> {
    await this.opts.raft.read()
    return this.sm.lookup(key)
  }

  members(): Member[] {
    return this.sm.members()
  }

  placement(name: string): Placement | undefined {
    return this.sm.placement(name)
  }

  placements(): Placement[] {
    return this.sm.placements()
  }

  onChange(listener: (change: ClusterChange | { readonly type: 'reset' }) => void): () => void {
    this.changeListeners.add(listener)
    return () => this.changeListeners.delete(listener)
  }

  leader(): { readonly node: string; readonly incarnation: number } | null {
    const id = this.opts.raft.state().leaderId
    if (id === null) return null
    const [node, incarnation] = splitRaftId(id)
    return node === null ? null : { node, incarnation }
  }

  position(): { readonly epoch: number; readonly appliedIndex: number; readonly term: number } {
    return { epoch: this.sm.epoch, appliedIndex: this.lastApplied.index, term: this.lastApplied.term }
  }

  /** Calls `listener` with the current listing of `key` now and on every change. Returns an unsubscribe function. */
  subscribe(key: string, listener: (entries: readonly RegistryEntry[]) => void): () => void {
    let set = this.subscribers.get(key)
    if (set === undefined) this.subscribers.set(key, (set = new Set()))
    set.add(listener)
    listener(this.sm.lookup(key))
    return () => set.delete(listener)
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.unsubscribe()
    this.duties?.stop()
    if (this.probeTimer !== null) this.opts.clock.clearTimer(this.probeTimer)
    this.opts.peers?.close?.()
    for (const f of this.forwards.values()) {
      this.opts.clock.clearTimer(f.timer)
      f.reject(new ClusterStoppedError('cluster state node stopped'))
    }
    this.forwards.clear()
    for (const w of this.waiters.values()) {
      this.opts.clock.clearTimer(w.timer)
      w.reject(new ClusterStoppedError('cluster state node stopped'))
    }
    this.waiters.clear()
  }

  // ------------------------------------------------------------------ applying

  private onApplied(a: Applied): void {
    if (a.kind === 'snapshot') {
      this.sm = ClusterStateMachine.restore(a.data)
      this.lastApplied = { index: a.index, term: a.term }
      for (const key of this.subscribers.keys()) this.notify(key)
      for (const l of this.changeListeners) l({ type: 'reset' })
      return
    }
    let result: ApplyResult
    try {
      result = this.sm.apply(decodeCommand(a.command), a.index, a.term)
    } catch (error) {
      // Every member refuses a malformed entry alike, so states stay equal; the proposer learns why.
      if (!(error instanceof ClusterMalformedCommandError)) throw error
      result = { error: { code: error.code, message: error.message }, changes: [] }
    }
    this.lastApplied = { index: a.index, term: a.term }
    for (const c of result.changes) if (c.type === 'registry') this.notify(c.key)
    for (const c of result.changes) for (const l of this.changeListeners) l(c)
    const w = this.waiters.get(a.index)
    if (w === undefined) return
    this.waiters.delete(a.index)
    this.opts.clock.clearTimer(w.timer)
    if (w.term !== a.term) w.reject(new ClusterNoQuorumError(`command at ${a.index} was overwritten by a later leader`))
    else if (result.error !== null) w.reject(new (ERRORS[result.error.code] ?? ClusterInvalidTransitionError)(result.error.message))
    else w.resolve(result)
  }

  private notify(key: string): void {
    const set = this.subscribers.get(key)
    if (set === undefined) return
    const listing = this.sm.lookup(key)
    for (const l of set) l(listing)
  }
}
