import { ClusterStateWrites } from '../ClusterStateWrites.ts'
import type { ConsumerMessages } from '@nats-io/jetstream'
import type { Clock, TimerHandle } from '../../../runtime/index.ts'
import { decodeCommand, encodeCommand } from '../ClusterCommandCodec.ts'
import { ClusterStateMachine } from '../ClusterStateMachine.ts'
import type { ClusterState } from '../ClusterState.ts'
import { ClusterInvalidTransitionError, ClusterMalformedCommandError, ClusterNameConflictError, ClusterNoQuorumError, ClusterQuarantinedError, ClusterStoppedError, ClusterUnknownMemberError } from '../errors.ts'
import type { ApplyResult, ClusterChange, ClusterCommand, Member, Placement, RegistryEntry } from '../types.ts'
import { leaseEligible, nextDuty } from './JetStreamDuties.ts'
import type { JetStreamLog } from './JetStreamLog.ts'
import type { LeaderLease } from './LeaderLease.ts'
import type { SnapshotRecord } from './SnapshotRecord.ts'
import type { SnapshotStore } from './SnapshotStore.ts'

/** JetStream has no terms visible to clients and never rewrites its log: every entry carries term 1, so fencing tokens order by placement version. */
export const JETSTREAM_TERM = 1
/** Results kept for writers whose publish acknowledgement arrives after the entry was applied. */
const RESULTS_KEPT = 4096

const ERRORS: Record<string, new (m: string) => Error> = {
  ERR_CLUSTER_QUARANTINED: ClusterQuarantinedError,
  ERR_CLUSTER_MALFORMED_COMMAND: ClusterMalformedCommandError,
  ERR_CLUSTER_NAME_CONFLICT: ClusterNameConflictError,
  ERR_CLUSTER_UNKNOWN_MEMBER: ClusterUnknownMemberError,
  ERR_CLUSTER_INVALID_TRANSITION: ClusterInvalidTransitionError,
}

export interface JetStreamClusterStateParts {
  readonly log: JetStreamLog
  readonly snapshots: SnapshotStore
  readonly clock: Clock
  readonly self: { readonly node: string; readonly incarnation: number }
  /** Builds the lease once the replica caught up (its eligibility reads the state). */
  readonly lease: (eligible: () => boolean) => LeaderLease
  readonly writeTimeoutMs: number
  readonly dutiesMs: number
  readonly leaderDuties: boolean
  readonly snapshotEvery: number
  readonly retainEntries: number
  readonly retryMs: number
}

/** Counters for operators and tests. */
export interface JetStreamClusterStateStats {
  /** Log entries that failed to decode: refused alike on every member. */
  readonly malformedEntries: number
  readonly snapshotsRestored: number
  readonly snapshotsWritten: number
  /** Failures of the log reader (each retried after `retryMs`); the last one's message. */
  readonly readErrors: number
  readonly lastReadError: string | null
  readonly listenerErrors: number
  /** Failed leader-duty steps (retried on a later tick); the last one's message. */
  readonly dutyErrors: number
  readonly lastDutyError: string | null
}

interface SeqWaiter {
  readonly seq: number
  readonly resolve: () => void
  readonly reject: (e: Error) => void
  readonly timer: TimerHandle
}

type ChangeListener = (change: ClusterChange | { readonly type: 'reset' }) => void

/**
 * ClusterState on NATS JetStream (see docs/cluster-state-jetstream.md): the command log is a stream
 * (JetStream's Raft orders appends), every member reads it in order with an ordered consumer and
 * applies the same ClusterStateMachine; snapshots live in a KV key and let the leader compact the
 * stream; a TTL'd KV lease picks the one member that runs the leader's duties. Any member writes:
 * it appends and resolves once it applied that entry itself.
 */
export class JetStreamClusterState extends ClusterStateWrites implements ClusterState {
  private sm = new ClusterStateMachine()
  private readonly o: JetStreamClusterStateParts
  private appliedSeq = 0
  private snapshotSeq = 0
  private readonly results = new Map<number, ApplyResult>()
  private readonly seqWaiters = new Set<SeqWaiter>()
  private readonly subscribers = new Map<string, Set<(entries: readonly RegistryEntry[]) => void>>()
  private readonly changeListeners = new Set<ChangeListener>()
  private messages: ConsumerMessages | null = null
  private leaseRef: LeaderLease | null = null
  private dutiesTimer: TimerHandle | null = null
  private dutyBusy = false
  private stopped = false
  private counters = { malformedEntries: 0, snapshotsRestored: 0, snapshotsWritten: 0, readErrors: 0, listenerErrors: 0, dutyErrors: 0 }
  private lastReadError: string | null = null
  private lastDutyError: string | null = null

  constructor(parts: JetStreamClusterStateParts) {
    super()
    this.o = parts
  }

  /** Restores `initial`, reads the log up to its last sequence at start, then competes for the lease. */
  async start(initial: SnapshotRecord | null, startTimeoutMs: number): Promise<void> {
    if (initial !== null) this.restore(initial)
    const last = await this.o.log.lastSequence()
    void this.readLoop()
    await this.waitApplied(last, startTimeoutMs)
    if (this.stopped) return
    this.leaseRef = this.o.lease(() => !this.stopped && leaseEligible(this.sm, this.o.self))
    if (this.o.leaderDuties) this.armDuties()
  }

  get self(): { readonly node: string; readonly incarnation: number } {
    return this.o.self
  }
  get quarantined(): boolean {
    return this.sm.isQuarantined(this.o.self.node, this.o.self.incarnation)
  }
  /** True while this member holds a valid leader lease (and so runs the leader's duties). */
  get holdsLease(): boolean {
    return this.leaseRef?.held ?? false
  }
  stats(): JetStreamClusterStateStats {
    return { ...this.counters, lastReadError: this.lastReadError, lastDutyError: this.lastDutyError }
  }

  // ------------------------------------------------------------------ writes


  /**
   * Appends `command` to the stream and resolves with its result once applied here. Refusals reject
   * with their typed error; a JetStream failure or no local apply within `writeTimeoutMs` rejects
   * with ERR_CLUSTER_NO_QUORUM (outcome unknown; commands are idempotent, retrying is safe).
   */
  async write(command: ClusterCommand): Promise<ApplyResult> {
    if (this.stopped) throw new ClusterStoppedError('cluster state stopped')
    if (this.quarantined) throw new ClusterQuarantinedError(`${this.o.self.node}#${this.o.self.incarnation} was downed; restart with a new incarnation`)
    const deadline = this.o.clock.now() + this.o.writeTimeoutMs
    const seq = await this.o.log.append(encodeCommand(command))
    await this.waitApplied(seq, Math.max(0, deadline - this.o.clock.now()))
    const result = this.results.get(seq)
    if (result === undefined) throw new ClusterNoQuorumError(`outcome of entry ${seq} unknown here: a snapshot covered it before it was read`)
    if (result.error !== null) throw new (ERRORS[result.error.code] ?? ClusterInvalidTransitionError)(result.error.message)
    return result
  }

  // ------------------------------------------------------------------ reads

  lookupCached(key: string): RegistryEntry[] {
    return this.sm.lookup(key)
  }
  /** Linearizable on any member: the stream's last sequence (read barrier), then wait until applied here. */
  async lookup(key: string): Promise<RegistryEntry[]> {
    if (this.stopped) throw new ClusterStoppedError('cluster state stopped')
    const last = await this.o.log.lastSequence()
    await this.waitApplied(last, this.o.writeTimeoutMs)
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
  subscribe(key: string, listener: (entries: readonly RegistryEntry[]) => void): () => void {
    let set = this.subscribers.get(key)
    if (set === undefined) this.subscribers.set(key, (set = new Set()))
    set.add(listener)
    listener(this.sm.lookup(key))
    return () => set.delete(listener)
  }
  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener)
    return () => this.changeListeners.delete(listener)
  }
  leader(): { readonly node: string; readonly incarnation: number } | null {
    return this.leaseRef?.holder() ?? null
  }
  position(): { readonly epoch: number; readonly appliedIndex: number; readonly term: number } {
    return { epoch: this.sm.epoch, appliedIndex: this.appliedSeq, term: JETSTREAM_TERM }
  }
  /** The state machine's bytes (equal on members at the same position). */
  snapshot(): Uint8Array {
    return this.sm.snapshot()
  }

  /** Stops reading, renewing and duties at once. The lease is not released: it runs out on the server within its TTL. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.messages?.stop()
    this.leaseRef?.stop()
    if (this.dutiesTimer !== null) this.o.clock.clearTimer(this.dutiesTimer)
    for (const w of this.seqWaiters) {
      this.o.clock.clearTimer(w.timer)
      w.reject(new ClusterStoppedError('cluster state stopped'))
    }
    this.seqWaiters.clear()
  }

  // ------------------------------------------------------------------ reading the log

  private async readLoop(): Promise<void> {
    while (!this.stopped) {
      let messages: ConsumerMessages | null = null
      try {
        // Entries this member still needs may be compacted away (even all of them, leaving nothing to
        // reveal the gap): start from a covering snapshot then.
        const first = await this.o.log.firstSequence()
        if (first > this.appliedSeq + 1) await this.skipTo(first)
        messages = await this.o.log.read(this.appliedSeq + 1)
        this.messages = messages
        if (this.stopped) break
        for await (const m of messages) {
          if (this.stopped) break
          await this.onEntry(m.seq, m.data)
        }
      } catch (error) {
        this.counters.readErrors++
        this.lastReadError = error instanceof Error ? error.message : String(error)
      } finally {
        messages?.stop()
      }
      if (!this.stopped) await this.pause(this.o.retryMs)
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.o.clock.setTimer(ms, resolve))
  }

  private async onEntry(seq: number, data: Uint8Array): Promise<void> {
    if (seq <= this.appliedSeq) return
    if (seq > this.appliedSeq + 1) await this.skipTo(seq)
    if (seq <= this.appliedSeq) return
    this.apply(seq, data)
  }

  /** Entries before `seq` were compacted away: only a snapshot covering them lets this member go on (else the reader retries later). */
  private async skipTo(seq: number): Promise<void> {
    const snap = await this.o.snapshots.load()
    if (snap === null || snap.seq < seq - 1) throw new ClusterNoQuorumError(`log compacted before ${seq} but the stored snapshot covers only ${snap?.seq ?? 0}`)
    if (snap.seq > this.appliedSeq) this.restore(snap)
  }

  private apply(seq: number, data: Uint8Array): void {
    let result: ApplyResult
    try {
      result = this.sm.apply(decodeCommand(data), seq, JETSTREAM_TERM)
    } catch (error) {
      // Every member refuses a malformed entry alike, so states stay equal; the writer (if ours) learns why.
      if (!(error instanceof ClusterMalformedCommandError)) throw error
      this.counters.malformedEntries++
      result = { error: { code: error.code, message: error.message }, changes: [] }
    }
    this.appliedSeq = seq
    this.results.set(seq, result)
    if (this.results.size > RESULTS_KEPT) this.results.delete(this.results.keys().next().value as number)
    for (const c of result.changes) if (c.type === 'registry') this.notify(c.key)
    for (const c of result.changes) this.emit(c)
    this.wake()
  }

  private restore(snap: SnapshotRecord): void {
    // Hostile state bytes throw ERR_CLUSTER_MALFORMED_COMMAND: the reader retries later, the state is left as it was.
    this.sm = ClusterStateMachine.restore(snap.state)
    this.appliedSeq = snap.seq
    this.snapshotSeq = Math.max(this.snapshotSeq, snap.seq)
    this.counters.snapshotsRestored++
    for (const key of this.subscribers.keys()) this.notify(key)
    this.emit({ type: 'reset' })
    this.wake()
  }

  private emit(change: ClusterChange | { readonly type: 'reset' }): void {
    for (const l of this.changeListeners) {
      try {
        l(change)
      } catch {
        // A listener's failure must not stop this member applying the log; counted.
        this.counters.listenerErrors++
      }
    }
  }

  private notify(key: string): void {
    const set = this.subscribers.get(key)
    if (set === undefined) return
    const listing = this.sm.lookup(key)
    for (const l of set) {
      try {
        l(listing)
      } catch {
        this.counters.listenerErrors++
      }
    }
  }

  /** Resolves once this member applied `seq` (or a snapshot covering it); ERR_CLUSTER_NO_QUORUM after `timeoutMs`. */
  private waitApplied(seq: number, timeoutMs: number): Promise<void> {
    if (this.appliedSeq >= seq) return Promise.resolve()
    if (this.stopped) return Promise.reject(new ClusterStoppedError('cluster state stopped'))
    return new Promise<void>((resolve, reject) => {
      const w: SeqWaiter = {
        seq,
        resolve,
        reject,
        timer: this.o.clock.setTimer(timeoutMs, () => {
          this.seqWaiters.delete(w)
          reject(new ClusterNoQuorumError(`entry ${seq} not applied here within ${timeoutMs} ms (applied ${this.appliedSeq}; ${this.lastReadError ?? 'reader waiting'})`))
        }),
      }
      this.seqWaiters.add(w)
    })
  }

  private wake(): void {
    for (const w of this.seqWaiters) {
      if (w.seq > this.appliedSeq) continue
      this.seqWaiters.delete(w)
      this.o.clock.clearTimer(w.timer)
      w.resolve()
    }
  }

  // ------------------------------------------------------------------ leader duties

  private armDuties(): void {
    this.dutiesTimer = this.o.clock.setTimer(this.o.dutiesMs, () => {
      if (this.stopped) return
      this.armDuties()
      if (this.dutyBusy || !this.holdsLease) return
      const step = this.nextStep()
      if (step === null) return
      this.dutyBusy = true
      // Failures (JetStream unavailable, a lost race) are retried on a later tick.
      step()
        .catch((error: unknown) => {
          this.counters.dutyErrors++
          this.lastDutyError = error instanceof Error ? error.message : String(error)
        })
        .finally(() => {
          this.dutyBusy = false
        })
    })
  }

  private nextStep(): (() => Promise<unknown>) | null {
    const duty = nextDuty(this.sm)
    if (duty !== null) return () => this.write(duty)
    if (this.appliedSeq - this.snapshotSeq >= this.o.snapshotEvery) return () => this.compact()
    return null
  }

  /** Stores a snapshot of the state at the applied sequence, then drops log entries it covers (keeping `retainEntries`). */
  private async compact(): Promise<void> {
    const record = { seq: this.appliedSeq, state: this.sm.snapshot() }
    const saved = await this.o.snapshots.save(record)
    this.snapshotSeq = record.seq
    if (saved) this.counters.snapshotsWritten++
    const before = record.seq + 1 - this.o.retainEntries
    // Lease checked again: a holder whose lease ran out meanwhile leaves compaction to the next one.
    if (saved && before > 1 && this.holdsLease) await this.o.log.compactBefore(before)
  }
}
