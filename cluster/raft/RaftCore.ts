import { decodeConfig } from './configCodec.ts'
import { RaftInvalidOptionsError, RaftNoLeaderError, RaftNotLeaderError, RaftTransferInProgressError } from './errors.ts'
import { handleVote, handleVoteResponse, hup, transferCandidate } from './elections.ts'
import type { LeaderState } from './LeaderState.ts'
import type { AppendMessage, HeartbeatMessage, RaftMessage, SnapshotMessage } from './messages.ts'
import { RaftLog } from './RaftLog.ts'
import { SnapshotReceiver } from './SnapshotReceiver.ts'
import type { HardState, LogEntry, RaftConfiguration, RaftDurableState, Snapshot } from './RaftStorage.ts'
import type { ConfigChange, CoreNotice, RaftCoreOptions, RaftRole, Ready, ReadState, SoftState } from './types.ts'

const EMPTY_CONFIG: RaftConfiguration = { voters: [], learners: [] }

/** Distributes a message without its header fields (the core fills them in). */
export type Outgoing = RaftMessage extends infer M ? (M extends RaftMessage ? Omit<M, 'from' | 'term'> & { term?: number } : never) : never

/**
 * The Raft protocol as a pure state machine (etcd/raft is the anchor): `step`, `tick`, `propose`
 * and friends change state; `ready()` hands out what to persist, send and apply; `advance` says it
 * was done. No I/O, no clock, no randomness but the injected `Random`. Raft Figure 2, with PreVote,
 * CheckQuorum, fast backtracking, pipelined replication, snapshots, single-server membership
 * changes, leadership transfer and ReadIndex.
 *
 * Leader-side bookkeeping (progress, replication, reads, transfer, config changes) lives in
 * `LeaderState`; this class holds the per-server state and the rules every role follows.
 */
export class RaftCore {
  readonly id: string
  readonly log: RaftLog
  term: number
  votedFor: string | null
  role: RaftRole = 'follower'
  leaderId: string | null = null
  config: RaftConfiguration
  readonly opts: Required<Omit<RaftCoreOptions, 'initialConfig' | 'random'>> & Pick<RaftCoreOptions, 'random'>
  /** Leader-only state; null otherwise. */
  leader: LeaderState | null = null
  electionElapsed = 0
  randomizedTimeout = 0
  /** Votes received in the current (pre-)campaign. */
  readonly votes = new Map<string, boolean>()
  private readonly receiver = new SnapshotReceiver()
  /** Reads this follower forwarded, by id → the leader asked; aborted when the known leader changes. */
  private readonly forwarded = new Map<number, string>()

  // ---- outputs accumulated until the next ready()
  messages: RaftMessage[] = []
  readStates: ReadState[] = []
  notices: CoreNotice[] = []
  private pendingSnapshot: Snapshot | null = null
  private persistedHard: HardState
  private lastSoft: SoftState
  /** Highest index handed out for applying (≥ log.applied while the driver applies). */
  private handedApplied: number

  constructor(options: RaftCoreOptions, durable: RaftDurableState) {
    const et = options.electionTicks
    const hb = options.heartbeatTicks
    if (!(Number.isInteger(et) && et >= 2)) throw new RaftInvalidOptionsError(`electionTicks must be an integer >= 2, got ${et}`)
    if (!(Number.isInteger(hb) && hb >= 1 && hb < et)) throw new RaftInvalidOptionsError(`heartbeatTicks must be an integer in [1, electionTicks), got ${hb}`)
    if (typeof options.id !== 'string' || options.id.length === 0) throw new RaftInvalidOptionsError('id must be a non-empty string')
    this.id = options.id
    this.opts = {
      id: options.id,
      electionTicks: et,
      heartbeatTicks: hb,
      random: options.random,
      preVote: options.preVote ?? true,
      checkQuorum: options.checkQuorum ?? true,
      maxInflight: options.maxInflight ?? 256,
      maxAppendBytes: options.maxAppendBytes ?? 1 << 20,
      snapshotChunkBytes: options.snapshotChunkBytes ?? 1 << 20,
      leaseReads: options.leaseReads ?? false,
    }
    if (this.opts.leaseReads && !this.opts.checkQuorum) throw new RaftInvalidOptionsError('leaseReads needs checkQuorum (the lease is what CheckQuorum maintains)')
    const snap: Snapshot = durable.snapshot ?? { index: 0, term: 0, config: options.initialConfig ?? EMPTY_CONFIG, data: new Uint8Array(0) }
    let entries = durable.entries
    // Entries must continue the snapshot; anything else is a storage bug, refused loudly.
    for (let i = 0; i < entries.length; i++) {
      if ((entries[i] as LogEntry).index !== snap.index + 1 + i) throw new RaftInvalidOptionsError(`durable log is not contiguous after the snapshot at ${snap.index} (entry ${i} has index ${(entries[i] as LogEntry).index})`)
    }
    // A suffix older than the snapshot's term cannot continue it (it is what a restore left behind).
    if (entries.length > 0 && (entries[0] as LogEntry).term < snap.term) entries = []
    this.log = new RaftLog(snap, entries)
    this.term = durable.hardState.term
    this.votedFor = durable.hardState.votedFor
    this.persistedHard = durable.hardState
    this.handedApplied = snap.index
    this.config = this.log.configAt(this.log.lastIndex, decodeConfig)
    this.lastSoft = { role: 'follower', leaderId: null, term: this.term }
    this.resetRandomizedTimeout()
  }

  // ------------------------------------------------------------------ inputs

  /** One logical clock tick. */
  tick(): void {
    if (this.role === 'leader') {
      ;(this.leader as LeaderState).tick()
      return
    }
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedTimeout) {
      this.electionElapsed = 0
      hup(this, false)
    }
  }

  /**
   * Starts an election now, skipping PreVote and voters' leader lease (as TimeoutNow does): a forced
   * campaign. A pre-vote would usually lose to the live leader's next heartbeat.
   */
  campaign(): void {
    hup(this, true)
  }

  /** Appends a command; throws when this server cannot take it (not leader, transfer under way). */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.requireLeader().propose('command', data)
  }

  proposeConfigChange(change: ConfigChange): { index: number; term: number } {
    return this.requireLeader().proposeConfigChange(change)
  }

  /**
   * Registers a linearizable read; it comes back in a Ready's readStates (or a readsAborted notice).
   * A follower forwards it to the leader it knows (etcd's MsgReadIndex) and gets back the index the
   * leader confirmed with a quorum; with no known leader it throws ERR_RAFT_NO_LEADER.
   */
  readIndex(id: number): void {
    if (this.leader !== null) {
      this.requireLeader().readIndex(id, null)
      return
    }
    const lead = this.leaderId
    if (lead === null || lead === this.id) throw new RaftNoLeaderError(`${this.id} knows no leader to confirm a read; retry later`)
    this.forwarded.set(id, lead)
    this.send({ kind: 'readIndex', to: lead, context: id })
  }

  transferLeadership(to: string): void {
    this.requireLeader().transferLeadership(to)
  }

  /** The voter a leader would hand over to (the most caught-up other voter), or null. */
  transferCandidate(): string | null {
    return transferCandidate(this)
  }

  /** Local compaction after the state machine took a snapshot at `index` (≤ applied). */
  compact(index: number, data: Uint8Array): Snapshot | null {
    if (index <= this.log.snapshot.index || index > this.log.applied) return null
    const term = this.log.term(index) as number
    const snapshot: Snapshot = { index, term, config: this.log.configAt(index, decodeConfig), data }
    this.log.compact(snapshot)
    return snapshot
  }

  step(m: RaftMessage): void {
    if (m.to !== this.id) return
    if (m.term > this.term) {
      if (m.kind === 'vote') {
        const inLease = this.opts.checkQuorum && this.leaderId !== null && this.electionElapsed < this.opts.electionTicks
        // In touch with a leader: a disruptive candidate (a rejoining or removed server) is ignored.
        if (!m.transfer && inLease) return
      }
      if (m.kind === 'vote' && m.preVote) {
        // A pre-vote never changes our term.
      } else if (m.kind === 'voteResponse' && m.preVote && m.granted) {
        // Granted pre-votes carry the term we would campaign at.
      } else {
        const lead = m.kind === 'append' || m.kind === 'heartbeat' || m.kind === 'snapshot' ? m.from : null
        this.becomeFollower(m.term, lead)
      }
    } else if (m.term < this.term) {
      if ((this.opts.checkQuorum || this.opts.preVote) && (m.kind === 'append' || m.kind === 'heartbeat')) {
        // A stale leader (cut off, then back) learns the new term and steps down.
        this.send({ kind: 'appendResponse', to: m.from, reject: false, index: 0, hintIndex: 0, hintTerm: 0 })
      } else if (m.kind === 'vote' && m.preVote) {
        this.send({ kind: 'voteResponse', to: m.from, preVote: true, granted: false })
      }
      return
    }
    switch (m.kind) {
      case 'vote':
        handleVote(this, m)
        return
      case 'voteResponse':
        handleVoteResponse(this, m)
        return
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        if (this.role === 'leader') return // another leader in our term cannot exist (election safety)
        if (this.role !== 'follower') this.becomeFollower(this.term, m.from)
        this.leaderId = m.from
        this.electionElapsed = 0
        if (m.kind === 'append') this.handleAppend(m)
        else if (m.kind === 'heartbeat') this.handleHeartbeat(m)
        else this.handleSnapshot(m)
        return
      case 'timeoutNow':
        if (this.role !== 'leader' && this.promotable()) hup(this, true)
        return
      case 'appendResponse':
      case 'heartbeatResponse':
      case 'snapshotResponse':
        if (this.role === 'leader') (this.leader as LeaderState).step(m)
        return
      case 'readIndex':
        // A follower's forwarded read; anyone else drops it and the follower's read times out.
        if (this.role === 'leader') (this.leader as LeaderState).readIndexFor(m.from, m.context)
        return
      case 'readIndexResponse':
        if (this.forwarded.get(m.context) === m.from && this.leaderId === m.from) {
          this.forwarded.delete(m.context)
          this.readStates.push({ id: m.context, index: m.index })
        }
        return
    }
  }

  // ------------------------------------------------------------------ outputs

  hasReady(): boolean {
    if (this.leader !== null) this.leader.flush()
    this.abortStaleForwards()
    const soft = this.lastSoft
    return (
      this.messages.length > 0 ||
      this.pendingSnapshot !== null ||
      this.log.unstableFrom <= this.log.lastIndex ||
      this.term !== this.persistedHard.term ||
      this.votedFor !== this.persistedHard.votedFor ||
      Math.min(this.log.committed, this.log.lastIndex) > this.handedApplied ||
      this.readStates.length > 0 ||
      this.notices.length > 0 ||
      soft.role !== this.role ||
      soft.leaderId !== this.leaderId ||
      soft.term !== this.term
    )
  }

  /** Hands out everything accumulated since the last call. Call `advance(ready)` once it is done. */
  ready(): Ready {
    if (this.leader !== null) this.leader.flush()
    this.abortStaleForwards()
    const log = this.log
    const soft = this.lastSoft
    const softChanged = soft.role !== this.role || soft.leaderId !== this.leaderId || soft.term !== this.term
    const softState = softChanged ? { role: this.role, leaderId: this.leaderId, term: this.term } : null
    if (softState !== null) this.lastSoft = softState
    const hardChanged = this.term !== this.persistedHard.term || this.votedFor !== this.persistedHard.votedFor
    const hardState = hardChanged ? { term: this.term, votedFor: this.votedFor } : null
    if (hardState !== null) this.persistedHard = hardState
    const entries = log.unstableFrom <= log.lastIndex ? log.slice(log.unstableFrom, log.lastIndex + 1) : []
    log.unstableFrom = log.lastIndex + 1
    const snapshot = this.pendingSnapshot
    this.pendingSnapshot = null
    if (snapshot !== null && this.handedApplied < snapshot.index) this.handedApplied = snapshot.index
    const commitTo = Math.min(log.committed, log.lastIndex)
    const from = Math.max(this.handedApplied + 1, log.firstIndex)
    const committed = commitTo >= from ? log.slice(from, commitTo + 1) : []
    if (commitTo > this.handedApplied) this.handedApplied = commitTo
    // A leader's messages at a term already fsynced (appends, heartbeats, TimeoutNow, refusals) do not
    // depend on this Ready's entries being durable: the leader only counts itself toward commit once
    // they are (`persisted`). Anything after a term or vote change, or a snapshot, waits for the persist.
    const sendBeforePersist = this.role === 'leader' && hardState === null && snapshot === null
    const rd: Ready = { softState, hardState, entries, snapshot, messages: this.messages, sendBeforePersist, committed, readStates: this.readStates, notices: this.notices }
    this.messages = []
    this.readStates = []
    this.notices = []
    return rd
  }

  /**
   * The driver's persist of `rd` resolved: its entries are durable here. A leader may now count
   * itself for them (which can commit). Idempotent; `advance` implies it.
   */
  persisted(rd: Ready): void {
    const last = rd.entries[rd.entries.length - 1]
    if (last === undefined) return
    this.log.stableTo(last.index, last.term)
    if (this.leader !== null) this.leader.maybeCommit()
  }

  /** The driver persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    this.persisted(rd)
    const last = rd.committed[rd.committed.length - 1]
    if (rd.snapshot !== null && rd.snapshot.index > this.log.applied) this.log.applied = rd.snapshot.index
    if (last !== undefined && last.index > this.log.applied) this.log.applied = last.index
  }

  // ------------------------------------------------------------------ shared helpers

  /** Forwarded reads whose leader is no longer ours will not be answered by it: abort them (retriable). */
  private abortStaleForwards(): void {
    if (this.forwarded.size === 0) return
    let ids: number[] | null = null
    for (const [id, lead] of this.forwarded) {
      if (lead === this.leaderId && this.role === 'follower') continue
      ;(ids ??= []).push(id)
      this.forwarded.delete(id)
    }
    if (ids !== null) this.notices.push({ type: 'readsAborted', ids })
  }

  /** Queues a message from this server at the current term (or the one given). */
  send(m: Outgoing): void {
    this.messages.push({ ...m, from: this.id, term: m.term ?? this.term } as RaftMessage)
  }

  promotable(): boolean {
    return this.config.voters.includes(this.id)
  }

  /** Recomputes the configuration from the log (it takes effect when appended, §4.1 of the thesis). */
  refreshConfig(): void {
    this.config = this.log.configAt(this.log.lastIndex, decodeConfig)
    if (this.leader !== null) this.leader.syncProgress()
  }

  becomeFollower(term: number, leaderId: string | null): void {
    if (this.leader !== null) this.leader.stepDown()
    this.leader = null
    if (term !== this.term) {
      this.term = term
      this.votedFor = null
    }
    this.role = 'follower'
    this.leaderId = leaderId
    this.electionElapsed = 0
    this.votes.clear()
    this.resetRandomizedTimeout()
  }

  resetRandomizedTimeout(): void {
    const et = this.opts.electionTicks
    this.randomizedTimeout = et + Math.floor(this.opts.random.next() * et)
  }

  private requireLeader(): LeaderState {
    if (this.leader === null) throw new RaftNotLeaderError(`${this.id} is not the leader (leader: ${this.leaderId ?? 'unknown'})`, { data: { leaderId: this.leaderId } } as ErrorOptions)
    if (this.leader.transferee !== null) throw new RaftTransferInProgressError(`leadership is moving to ${this.leader.transferee}; retry on the new leader`, { data: { to: this.leader.transferee } } as ErrorOptions)
    return this.leader
  }

  // ------------------------------------------------------------------ follower handlers

  private handleAppend(m: AppendMessage): void {
    const log = this.log
    if (m.prevIndex < log.committed) {
      this.send({ kind: 'appendResponse', to: m.from, reject: false, index: log.committed, hintIndex: 0, hintTerm: 0 })
      return
    }
    const result = log.maybeAppend(m.prevIndex, m.prevTerm, m.entries)
    if (result !== null) {
      if (result.truncatedFrom > 0 || m.entries.some((e) => e.type === 'config')) this.refreshConfig()
      log.commitTo(Math.min(m.commit, result.last))
      this.send({ kind: 'appendResponse', to: m.from, reject: false, index: result.last, hintIndex: 0, hintTerm: 0 })
      return
    }
    const hint = log.findConflictByTerm(Math.min(m.prevIndex, log.lastIndex), m.prevTerm)
    this.send({ kind: 'appendResponse', to: m.from, reject: true, index: m.prevIndex, hintIndex: hint.index, hintTerm: hint.term })
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit)
    this.send({ kind: 'heartbeatResponse', to: m.from, context: m.context })
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const log = this.log
    if (m.index <= log.committed) {
      // Already have it: tell the leader how far we are, so it moves on.
      this.receiver.reset()
      this.send({ kind: 'snapshotResponse', to: m.from, index: m.index, next: m.total })
      this.send({ kind: 'appendResponse', to: m.from, reject: false, index: log.committed, hintIndex: 0, hintTerm: 0 })
      return
    }
    const { next, snapshot } = this.receiver.accept(m)
    this.send({ kind: 'snapshotResponse', to: m.from, index: m.index, next })
    if (snapshot === null) return
    // Raft §7: a log holding the snapshot's last entry keeps what follows it; any other log is discarded.
    log.restore(snapshot, log.matchTerm(snapshot.index, snapshot.term))
    this.pendingSnapshot = snapshot
    this.refreshConfig()
    // Only the snapshot is known to match the leader: a kept suffix is checked by the next append.
    this.send({ kind: 'appendResponse', to: m.from, reject: false, index: snapshot.index, hintIndex: 0, hintTerm: 0 })
  }
}
