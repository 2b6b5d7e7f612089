import { encodeConfig } from './configCodec.ts'
import { RaftConfigChangePendingError, RaftInvalidConfigChangeError } from './errors.ts'
import type { AppendResponseMessage, HeartbeatResponseMessage, SnapshotResponseMessage } from './messages.ts'
import { Progress } from './Progress.ts'
import { ReadRounds } from './ReadRounds.ts'
import type { RaftCore } from './RaftCore.ts'
import type { EntryType, LogEntry, RaftConfiguration } from './RaftStorage.ts'
import type { ConfigChange } from './types.ts'

/** How much faster than the leader's a voter's clock may run for lease reads to stay correct (10 %). */
export const LEASE_DRIFT = 0.1

/**
 * A leader's state for one term: per-follower progress and replication (probe/replicate/snapshot,
 * a bounded inflight window each, so a slow follower never holds up the others), the commit rule,
 * CheckQuorum, heartbeats, ReadIndex rounds, leadership transfer and configuration changes.
 */
export class LeaderState {
  private readonly core: RaftCore
  readonly progress = new Map<string, Progress>()
  transferee: string | null = null
  private heartbeatElapsed = 0
  /** Index of the last configuration entry this leader appended (or its first index: earlier ones may be uncommitted). */
  private pendingConfIndex: number
  /** Heartbeat rounds: every broadcast carries a new one in `context`; a response echoes it. */
  private round = 0
  /** Leader ticks since election, and the tick each recent round was sent at (for the lease). */
  private ticks = 0
  private readonly roundTicks = new Map<number, number>()
  /** Highest round each follower acknowledged. */
  private readonly acked = new Map<string, number>()
  private readonly reads = new ReadRounds()
  /** Reads that wait for the first commit of this term (until then the commit index may be stale). */
  private readsWaiting: { id: number; from: string | null }[] = []
  private appendDirty = false
  private commitDirty = false

  constructor(core: RaftCore) {
    this.core = core
    this.pendingConfIndex = core.log.lastIndex
    this.syncProgress()
  }

  private get log() {
    return this.core.log
  }

  /** Keeps one Progress per other server of the current configuration. */
  syncProgress(): void {
    const { voters, learners } = this.core.config
    const wanted = new Map<string, boolean>()
    for (const v of voters) if (v !== this.core.id) wanted.set(v, false)
    for (const l of learners) if (l !== this.core.id) wanted.set(l, true)
    for (const id of [...this.progress.keys()]) if (!wanted.has(id)) this.progress.delete(id)
    for (const [id, isLearner] of wanted) {
      const pr = this.progress.get(id)
      if (pr === undefined) {
        const fresh = new Progress(this.log.lastIndex + 1, isLearner)
        fresh.recentActive = true
        this.progress.set(id, fresh)
      } else pr.isLearner = isLearner
    }
  }

  // ------------------------------------------------------------------ proposals

  propose(type: EntryType, data: Uint8Array): { index: number; term: number } {
    const entry: LogEntry = { index: this.log.lastIndex + 1, term: this.core.term, type, data }
    this.log.append([entry])
    this.appendDirty = true
    this.maybeCommit()
    return { index: entry.index, term: entry.term }
  }

  proposeConfigChange(change: ConfigChange): { index: number; term: number } {
    const log = this.log
    if (this.pendingConfIndex > log.committed) throw new RaftConfigChangePendingError(`a configuration change (index ${this.pendingConfIndex}) is not committed yet`)
    if (log.term(log.committed) !== this.core.term) throw new RaftConfigChangePendingError('no entry of this leader\'s term is committed yet')
    const next = this.changed(this.core.config, change)
    const result = this.propose('config', encodeConfig(next))
    this.pendingConfIndex = result.index
    this.core.refreshConfig()
    this.maybeCommit()
    return result
  }

  private changed(config: RaftConfiguration, change: ConfigChange): RaftConfiguration {
    const { id } = change
    if (typeof id !== 'string' || id.length === 0) throw new RaftInvalidConfigChangeError('a server id must be a non-empty string')
    const isVoter = config.voters.includes(id)
    const isLearner = config.learners.includes(id)
    const voters = config.voters.filter((v) => v !== id)
    const learners = config.learners.filter((l) => l !== id)
    switch (change.type) {
      case 'addLearner':
        if (isVoter || isLearner) throw new RaftInvalidConfigChangeError(`${id} is already a ${isVoter ? 'voter' : 'learner'}`)
        return { voters: [...config.voters], learners: [...learners, id] }
      case 'addVoter':
        if (isVoter) throw new RaftInvalidConfigChangeError(`${id} is already a voter`)
        return { voters: [...voters, id], learners }
      case 'promote': {
        if (!isLearner) throw new RaftInvalidConfigChangeError(`${id} is not a learner`)
        const pr = this.progress.get(id)
        // Promote only a learner that has caught up, or the new majority could stall (§4.2.1 of the thesis).
        if (pr === undefined || pr.match < this.log.committed) throw new RaftConfigChangePendingError(`learner ${id} has not caught up (match ${pr?.match ?? 0}, commit ${this.log.committed})`)
        return { voters: [...voters, id], learners }
      }
      case 'remove':
        if (!isVoter && !isLearner) throw new RaftInvalidConfigChangeError(`${id} is not in the configuration`)
        if (isVoter && voters.length === 0) throw new RaftInvalidConfigChangeError(`${id} is the last voter`)
        return { voters, learners }
      default:
        throw new RaftInvalidConfigChangeError(`unknown configuration change ${(change as { type: string }).type}`)
    }
  }

  // ------------------------------------------------------------------ commit

  /**
   * Figure 2's leader commit rule with Figure 8's restriction: only entries of this term are
   * committed by counting. The leader counts itself only up to what it has fsynced (thesis §10.2.1):
   * it sends appends while its own write is under way, so its log may run ahead of its disk.
   */
  maybeCommit(): boolean {
    const voters = this.core.config.voters
    if (voters.length === 0) return false
    const matches: number[] = []
    const self = Math.min(this.log.stableIndex, this.log.lastIndex)
    for (const v of voters) matches.push(v === this.core.id ? self : (this.progress.get(v)?.match ?? 0))
    matches.sort((a, b) => b - a)
    const q = matches[Math.floor(voters.length / 2)] as number
    const log = this.log
    if (q <= log.committed || log.term(q) !== this.core.term) return false
    log.commitTo(q)
    this.commitDirty = true
    if (this.readsWaiting.length > 0) {
      const waiting = this.readsWaiting
      this.readsWaiting = []
      for (const w of waiting) this.readIndex(w.id, w.from)
    }
    this.checkRemovedSelf()
    return true
  }

  /** A leader whose removal is committed hands over (TimeoutNow to the most caught-up voter) and steps down. */
  private checkRemovedSelf(): void {
    const core = this.core
    if (core.config.voters.includes(core.id) || this.pendingConfIndex > this.log.committed) return
    let best: string | null = null
    for (const v of core.config.voters) {
      const pr = this.progress.get(v)
      if (pr !== undefined && pr.match === this.log.lastIndex && best === null) best = v
    }
    this.flush()
    if (best !== null) core.send({ kind: 'timeoutNow', to: best })
    core.becomeFollower(core.term, null)
  }

  // ------------------------------------------------------------------ replication

  /** Sends what proposals and commits since the last flush call for. Called before a Ready is built. */
  flush(): void {
    if (!this.appendDirty && !this.commitDirty) return
    const commitDirty = this.commitDirty
    this.appendDirty = false
    this.commitDirty = false
    for (const [id, pr] of this.progress) {
      let sent = false
      while (pr.next <= this.log.lastIndex && this.sendAppend(id, pr, false)) sent = true
      if (!sent && commitDirty) this.sendAppend(id, pr, true)
    }
  }

  /** One append (or a snapshot chunk when the follower needs compacted entries). Returns whether something was sent. */
  private sendAppend(to: string, pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused(this.core.opts.maxInflight)) return false
    const log = this.log
    const prevIndex = pr.next - 1
    const prevTerm = log.term(prevIndex)
    if (prevTerm === undefined) {
      pr.becomeSnapshot(log.snapshot.index)
      this.sendSnapshotChunk(to, pr)
      return true
    }
    const entries = pr.next <= log.lastIndex ? log.slice(pr.next, log.lastIndex + 1, this.core.opts.maxAppendBytes) : []
    if (entries.length === 0 && !sendIfEmpty) return false
    this.core.send({ kind: 'append', to, prevIndex, prevTerm, entries, commit: log.committed })
    if (entries.length > 0) pr.sentEntries((entries[entries.length - 1] as LogEntry).index)
    else if (pr.state === 'probe') pr.probeSent = true
    return true
  }

  private sendSnapshotChunk(to: string, pr: Progress): void {
    const snap = this.log.snapshot
    const size = this.core.opts.snapshotChunkBytes
    const data = snap.data.subarray(pr.snapshotOffset, Math.min(snap.data.length, pr.snapshotOffset + size))
    this.core.send({ kind: 'snapshot', to, index: snap.index, snapshotTerm: snap.term, config: snap.config, offset: pr.snapshotOffset, total: snap.data.length, data })
  }

  step(m: AppendResponseMessage | HeartbeatResponseMessage | SnapshotResponseMessage): void {
    const pr = this.progress.get(m.from)
    if (pr === undefined) return
    pr.recentActive = true
    if (m.kind === 'heartbeatResponse') this.onHeartbeatResponse(m, pr)
    else if (m.kind === 'snapshotResponse') this.onSnapshotResponse(m, pr)
    else this.onAppendResponse(m, pr)
  }

  private onAppendResponse(m: AppendResponseMessage, pr: Progress): void {
    const log = this.log
    if (m.reject) {
      // Fast backtracking: the follower's hint names its last entry of a term ≤ ours at that point;
      // jump to our last entry of a term ≤ that hint's term (one round trip per term, not per entry).
      const probeFrom = m.hintTerm > 0 ? log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex
      if (pr.maybeDecrTo(m.index, probeFrom)) {
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(m.from, pr, true)
      }
      return
    }
    const wasPaused = pr.isPaused(this.core.opts.maxInflight)
    if (pr.maybeUpdate(m.index)) {
      if (pr.state === 'probe') pr.becomeReplicate()
      else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe()
      else if (pr.state === 'replicate') pr.freeTo(m.index)
      if (this.maybeCommit() && this.core.leader !== this) return
      if (m.from === this.transferee && pr.match === log.lastIndex) this.core.send({ kind: 'timeoutNow', to: m.from })
      while (pr.next <= log.lastIndex && this.sendAppend(m.from, pr, false)) {
        // pipeline until the window is full
      }
    } else if (pr.state === 'replicate') {
      pr.freeTo(m.index)
      if (wasPaused) while (pr.next <= log.lastIndex && this.sendAppend(m.from, pr, false)) {
        // a freed window sends what waited
      }
    }
  }

  private onHeartbeatResponse(m: HeartbeatResponseMessage, pr: Progress): void {
    const log = this.log
    pr.probeSent = false
    if (pr.state === 'snapshot') {
      // A lost chunk is sent again, at most once per heartbeat.
      if (pr.pendingSnapshot !== log.snapshot.index) pr.becomeSnapshot(log.snapshot.index)
      this.sendSnapshotChunk(m.from, pr)
    } else if (pr.match < log.lastIndex) {
      // A lost append leaves the window stuck: free a slot and send again from where we are.
      if (pr.state === 'replicate' && pr.inflight.length >= this.core.opts.maxInflight) pr.inflight.shift()
      this.sendAppend(m.from, pr, true)
    }
    if (m.context > 0) this.ackRead(m.from, m.context)
  }

  private onSnapshotResponse(m: SnapshotResponseMessage, pr: Progress): void {
    if (pr.state !== 'snapshot' || m.index !== pr.pendingSnapshot) return
    const snap = this.log.snapshot
    if (snap.index !== pr.pendingSnapshot) {
      // We compacted again meanwhile: start over with the newer snapshot.
      pr.becomeSnapshot(snap.index)
      this.sendSnapshotChunk(m.from, pr)
      return
    }
    if (m.next === pr.snapshotOffset && m.next !== 0) return // a duplicate acknowledgement
    pr.snapshotOffset = Math.min(m.next, snap.data.length)
    if (m.next < snap.data.length) this.sendSnapshotChunk(m.from, pr)
  }

  // ------------------------------------------------------------------ ticks, heartbeats, CheckQuorum

  tick(): void {
    const core = this.core
    this.ticks++
    // Rounds older than two election timeouts can no longer extend the lease.
    if (this.roundTicks.size > 0 && this.ticks % core.opts.electionTicks === 0) {
      for (const [r, t] of this.roundTicks) if (t < this.ticks - 2 * core.opts.electionTicks) this.roundTicks.delete(r)
    }
    this.heartbeatElapsed++
    core.electionElapsed++
    if (core.electionElapsed >= core.opts.electionTicks) {
      core.electionElapsed = 0
      if (core.opts.checkQuorum) {
        if (!this.quorumActive()) {
          core.becomeFollower(core.term, null)
          return
        }
        for (const pr of this.progress.values()) pr.recentActive = false
      }
      if (this.transferee !== null) {
        core.notices.push({ type: 'transferAborted', to: this.transferee })
        this.transferee = null
      }
    }
    if (this.heartbeatElapsed >= core.opts.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat()
    }
  }

  private quorumActive(): boolean {
    const voters = this.core.config.voters
    let active = 0
    for (const v of voters) if (v === this.core.id || this.progress.get(v)?.recentActive === true) active++
    return active > voters.length / 2
  }

  private broadcastHeartbeat(): void {
    const committed = this.log.committed
    const round = ++this.round
    this.roundTicks.set(round, this.ticks)
    for (const [id, pr] of this.progress) this.core.send({ kind: 'heartbeat', to: id, commit: Math.min(pr.match, committed), context: round })
  }

  // ------------------------------------------------------------------ reads

  /** A read of this server (`from` null) or forwarded by a follower (etcd's MsgReadIndex). */
  readIndex(id: number, from: string | null): void {
    const log = this.log
    if (log.term(log.committed) !== this.core.term) {
      this.readsWaiting.push({ id, from })
      return
    }
    if (this.isSingleVoter() || (this.core.opts.leaseReads && this.leaseValid())) {
      this.confirm(id, from, log.committed)
      return
    }
    this.reads.add({ id, from, index: log.committed, round: this.round + 1, acks: new Set([this.core.id]) })
    this.broadcastHeartbeat()
  }

  /** A follower forwarded a read: only a member of the configuration may (anything else is dropped). */
  readIndexFor(from: string, context: number): void {
    if (from === this.core.id || !this.progress.has(from)) return
    this.readIndex(context, from)
  }

  private confirm(id: number, from: string | null, index: number): void {
    if (from === null) this.core.readStates.push({ id, index })
    else this.core.send({ kind: 'readIndexResponse', to: from, context: id, index })
  }

  private isSingleVoter(): boolean {
    const voters = this.core.config.voters
    return voters.length === 1 && voters[0] === this.core.id
  }

  /**
   * The leader lease: a quorum acknowledged heartbeats sent at tick ≥ S, and each of those voters
   * refuses votes for an election timeout after receiving one (CheckQuorum), so no other leader can
   * exist before S + electionTicks — on the voters' clocks. The margin allows their clocks to run up
   * to `LEASE_DRIFT` faster than ours (the documented clock assumption of lease reads).
   */
  private leaseValid(): boolean {
    const voters = this.core.config.voters
    const sent: number[] = []
    for (const v of voters) {
      if (v === this.core.id) sent.push(this.ticks)
      else sent.push(this.roundTicks.get(this.acked.get(v) ?? -1) ?? -Infinity)
    }
    sent.sort((a, b) => b - a)
    const start = sent[Math.floor(voters.length / 2)] as number
    return this.ticks < start + Math.floor(this.core.opts.electionTicks * (1 - LEASE_DRIFT))
  }

  private ackRead(from: string, round: number): void {
    const voters = this.core.config.voters
    if (!voters.includes(from)) return
    if (round > (this.acked.get(from) ?? 0)) this.acked.set(from, round)
    for (const r of this.reads.ack(from, round, voters)) this.confirm(r.id, r.from, r.index)
  }

  // ------------------------------------------------------------------ transfer

  transferLeadership(to: string): void {
    if (to === this.core.id) return
    if (!this.core.config.voters.includes(to)) throw new RaftInvalidConfigChangeError(`cannot transfer leadership to ${to}: not a voter`)
    const pr = this.progress.get(to) as Progress
    this.transferee = to
    this.core.electionElapsed = 0
    if (pr.match === this.log.lastIndex) this.core.send({ kind: 'timeoutNow', to })
    else this.sendAppend(to, pr, true)
  }

  /**
   * Leaving the leader role: pending reads end here. A transfer in progress is not reported as
   * aborted: stepping down is usually its success (the driver sees the new leader in the soft state).
   */
  stepDown(): void {
    // Forwarded reads are not answered: their followers see the leader change (or time out) and retry.
    const ids = [...this.reads.abort(), ...this.readsWaiting].filter((r) => r.from === null).map((r) => r.id)
    this.readsWaiting = []
    if (ids.length > 0) this.core.notices.push({ type: 'readsAborted', ids })
    this.transferee = null
  }
}
