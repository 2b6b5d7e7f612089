import type { TimerHandle } from '../../runtime/index.ts'
import { RaftInvalidOptionsError, RaftNotLeaderError, RaftStoppedError, RaftTransferFailedError } from './errors.ts'
import { PendingCalls } from './PendingCalls.ts'
import type { RaftMessage } from './messages.ts'
import { RaftCore } from './RaftCore.ts'
import type { Applied, ProposeResult, RaftNodeOptions, RaftNodeState } from './nodeTypes.ts'
import type { LogEntry } from './RaftStorage.ts'
import type { ConfigChange, Ready } from './types.ts'

export type { Applied, ProposeResult, RaftEvent, RaftNodeOptions, RaftNodeState } from './nodeTypes.ts'

/**
 * Runs a RaftCore over ports: storage (fsync before any message that depends on it), a transport, a
 * clock for ticks and a random source. Applies committed entries in order and reports them on the
 * `applied` stream; offers propose, linearizable reads, leadership transfer and membership changes.
 * The same driver runs in production and in the simulator.
 */
export class RaftNode {
  readonly id: string
  private readonly core: RaftCore
  private readonly opts: RaftNodeOptions
  private readonly tickMs: number
  private timer: TimerHandle | null = null
  private stopped = false
  private running = false
  private scheduled = false
  private readonly listeners: ((a: Applied) => void)[] = []
  private readonly pending: PendingCalls

  private constructor(options: RaftNodeOptions, core: RaftCore, tickMs: number) {
    this.id = options.id
    this.opts = options
    this.core = core
    this.tickMs = tickMs
    this.pending = new PendingCalls(options.id, options.clock)
    if (options.onApplied !== undefined) this.listeners.push(options.onApplied)
  }

  /** Loads durable state and starts ticking. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const heartbeatMs = options.heartbeatMs ?? 100
    const electionMs = options.electionMs ?? 1000
    const tickMs = options.tickMs ?? heartbeatMs / 10
    if (!(tickMs > 0 && heartbeatMs >= tickMs && electionMs > heartbeatMs)) throw new RaftInvalidOptionsError(`need 0 < tickMs <= heartbeatMs < electionMs, got ${tickMs}, ${heartbeatMs}, ${electionMs}`)
    const durable = await options.storage.load()
    const core = new RaftCore(
      {
        id: options.id,
        random: options.random,
        electionTicks: Math.max(2, Math.round(electionMs / tickMs)),
        heartbeatTicks: Math.max(1, Math.round(heartbeatMs / tickMs)),
        ...(options.preVote !== undefined ? { preVote: options.preVote } : {}),
        ...(options.checkQuorum !== undefined ? { checkQuorum: options.checkQuorum } : {}),
        ...(options.leaseReads !== undefined ? { leaseReads: options.leaseReads } : {}),
        ...(options.maxInflight !== undefined ? { maxInflight: options.maxInflight } : {}),
        ...(options.maxAppendBytes !== undefined ? { maxAppendBytes: options.maxAppendBytes } : {}),
        ...(options.snapshotChunkBytes !== undefined ? { snapshotChunkBytes: options.snapshotChunkBytes } : {}),
        ...(options.initialConfig !== undefined ? { initialConfig: options.initialConfig } : {}),
      },
      durable,
    )
    const node = new RaftNode(options, core, tickMs)
    options.transport.onMessage((m) => node.receive(m))
    node.armTick()
    // A restarted server replays its snapshot into the state machine before anything else.
    if (durable.snapshot !== null) node.emitApplied({ kind: 'snapshot', index: durable.snapshot.index, term: durable.snapshot.term, data: durable.snapshot.data })
    return node
  }

  // ------------------------------------------------------------------ public API

  state(): RaftNodeState {
    const c = this.core
    return { id: this.id, term: c.term, role: c.role, leaderId: c.leaderId, commitIndex: c.log.committed, lastIndex: c.log.lastIndex, appliedIndex: c.log.applied, config: c.config }
  }

  /** Read-only view of the in-memory log (tests, introspection). */
  logEntries(): { readonly snapshotIndex: number; readonly snapshotTerm: number; readonly entries: readonly LogEntry[] } {
    const log = this.core.log
    return { snapshotIndex: log.snapshot.index, snapshotTerm: log.snapshot.term, entries: log.entries }
  }

  /** Subscribes to the ordered stream of applied commands and snapshots. Returns an unsubscribe function. */
  onApplied(listener: (a: Applied) => void): () => void {
    this.listeners.push(listener)
    return () => {
      const i = this.listeners.indexOf(listener)
      if (i >= 0) this.listeners.splice(i, 1)
    }
  }

  /**
   * Appends `command` if this server leads; returns at once. `isLeader: false` means nothing was
   * taken. During a leadership transfer it throws ERR_RAFT_TRANSFER_IN_PROGRESS (retry on the new leader).
   */
  propose(command: Uint8Array): ProposeResult {
    this.checkRunning()
    try {
      const r = this.core.propose(command)
      this.schedule()
      return { index: r.index, term: r.term, isLeader: true }
    } catch (error) {
      if (error instanceof RaftNotLeaderError) return { index: 0, term: this.core.term, isLeader: false }
      throw error
    }
  }

  /**
   * A linearizable read barrier (ReadIndex): resolves with an index once the leader confirmed it still
   * leads and this server applied up to it; the state machine then reflects every write acknowledged
   * before the call. A follower forwards it to the leader (etcd's MsgReadIndex). Retriable rejections:
   * ERR_RAFT_NO_LEADER, ERR_RAFT_READ_ABORTED (leader changed), ERR_RAFT_READ_TIMEOUT (`readTimeoutMs`).
   */
  read(): Promise<number> {
    this.checkRunning()
    const id = this.pending.nextReadId()
    return new Promise<number>((resolve, reject) => {
      try {
        this.core.readIndex(id)
      } catch (error) {
        reject(error as Error)
        return
      }
      this.pending.addRead(id, this.opts.readTimeoutMs ?? 2 * (this.opts.electionMs ?? 1000), resolve, reject)
      this.schedule()
    })
  }

  /** Hands leadership to `to` (catches it up, then TimeoutNow). Resolves once `to` leads; rejects after an election timeout without it. */
  transferLeadership(to: string): Promise<void> {
    this.checkRunning()
    const under = this.pending.transferTarget
    if (under !== null) return Promise.reject(new RaftTransferFailedError(`a transfer to ${under} is under way`))
    if (to === this.id && this.core.role === 'leader') return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      try {
        this.core.transferLeadership(to)
      } catch (error) {
        reject(error as Error)
        return
      }
      // The core aborts after one election timeout; this is the backstop when leadership is lost meanwhile.
      this.pending.startTransfer(to, 3 * (this.opts.electionMs ?? 1000), resolve, reject)
      this.schedule()
    })
  }

  addLearner(id: string): Promise<{ index: number }> {
    return this.changeConfig({ type: 'addLearner', id })
  }
  promote(id: string): Promise<{ index: number }> {
    return this.changeConfig({ type: 'promote', id })
  }
  addVoter(id: string): Promise<{ index: number }> {
    return this.changeConfig({ type: 'addVoter', id })
  }
  removeServer(id: string): Promise<{ index: number }> {
    return this.changeConfig({ type: 'remove', id })
  }

  /** Starts an election now (tests; an operator forcing a campaign). */
  campaign(): void {
    this.checkRunning()
    this.core.campaign()
    this.schedule()
  }

  /**
   * Stops ticking and answering; pending calls reject with ERR_RAFT_STOPPED. A graceful stop
   * (`handOff`, the default) of a leader first transfers leadership to the most caught-up voter, so
   * the cluster does not wait an election timeout; a failed transfer does not prevent the stop.
   * Closes storage unless `closeStorage` is false.
   */
  async stop(options: { readonly handOff?: boolean; readonly closeStorage?: boolean } = {}): Promise<void> {
    if (this.stopped) return
    if ((options.handOff ?? true) && this.core.role === 'leader') {
      const to = this.core.transferCandidate()
      if (to !== null) await this.transferLeadership(to).catch(() => {})
    }
    if (this.stopped) return
    this.halt()
    if (options.closeStorage ?? true) await this.opts.storage.close()
  }

  /** Stops at once without touching storage (what a crash leaves). */
  halt(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== null) this.opts.clock.clearTimer(this.timer)
    this.timer = null
    this.opts.transport.close?.()
    this.pending.rejectAll(new RaftStoppedError(`raft node ${this.id} stopped`))
  }

  // ------------------------------------------------------------------ driving the core

  private changeConfig(change: ConfigChange): Promise<{ index: number }> {
    this.checkRunning()
    return new Promise((resolve, reject) => {
      try {
        const r = this.core.proposeConfigChange(change)
        this.pending.addConfigWaiter(r.index, r.term, resolve, reject)
        this.schedule()
      } catch (error) {
        reject(error as Error)
      }
    })
  }

  private receive(m: RaftMessage): void {
    if (this.stopped) return
    this.core.step(m)
    this.schedule()
  }

  private armTick(): void {
    this.timer = this.opts.clock.setTimer(this.tickMs, () => {
      if (this.stopped) return
      this.core.tick()
      this.armTick()
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.running || this.scheduled || this.stopped) return
    this.scheduled = true
    // One Ready per turn batches everything that arrived in it (group commit).
    void Promise.resolve().then(() => this.run())
  }

  private async run(): Promise<void> {
    this.scheduled = false
    if (this.running) return
    this.running = true
    try {
      // A Ready without disk work (commits to apply, messages at a term already durable) is handled
      // in the same turn as the next one: what an apply proposes then leaves with the commit
      // broadcast, as one frame per peer, instead of a microtask hop (and a socket write) later.
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready()
        if (this.needsDisk(rd)) await this.persist(rd)
        if (this.stopped) return
        this.finish(rd)
        if (this.snapshotDue()) await this.takeSnapshot()
      }
    } catch (error) {
      this.fail(error as Error)
    } finally {
      this.running = false
    }
  }

  private needsDisk(rd: Ready): boolean {
    return rd.snapshot !== null || rd.hardState !== null || rd.entries.length > 0
  }

  /** The durable half of a Ready: its snapshot, then hard state and entries (fsync). A leader's appends go out first. */
  private async persist(rd: Ready): Promise<void> {
    const storage = this.opts.storage
    // A leader's appends go out while its own fsync runs (the core counts it only after `persisted`).
    // They reach the socket first: dispatching the write to the disk before them would delay every
    // follower's fsync, which is on the commit path, by the leader's own dispatch (measured in
    // bench/raftNats.ts: ~10 % of commit latency over NATS).
    if (rd.sendBeforePersist) {
      this.send(rd)
      const handedOver = this.opts.transport.handedOver
      if (rd.messages.length > 0 && handedOver !== undefined) await handedOver.call(this.opts.transport)
    }
    if (rd.snapshot !== null) {
      // Raft §7 at the storage: it keeps its suffix only if that continues the snapshot.
      await storage.installSnapshot(rd.snapshot)
      await storage.compact(rd.snapshot.index)
    }
    if (rd.hardState !== null || rd.entries.length > 0) {
      await storage.persist({ ...(rd.hardState !== null ? { hardState: rd.hardState } : {}), ...(rd.entries.length > 0 ? { entries: rd.entries } : {}) })
    }
  }

  /** The rest of a Ready, once what it persists is durable: report, send, apply in order, advance. Synchronous. */
  private finish(rd: Ready): void {
    const observer = this.opts.observer
    const disk = this.needsDisk(rd)
    // Without disk work nothing waits: such a leader's messages go first, as they would before a persist.
    if (rd.sendBeforePersist && !disk) this.send(rd)
    if (disk) this.core.persisted(rd)
    // The role change happened before what this Ready persisted (a deposed leader's log is then rewritten as a follower's).
    if (rd.softState !== null) {
      observer?.({ type: 'role', node: this.id, role: rd.softState.role, term: rd.softState.term, leaderId: rd.softState.leaderId })
      if (rd.softState.leaderId !== null && rd.softState.leaderId === this.pending.transferTarget) this.pending.endTransfer(null)
    }
    if (observer !== undefined && disk) {
      observer({ type: 'persist', node: this.id, hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot })
    }
    if (!rd.sendBeforePersist) this.send(rd)
    if (rd.snapshot !== null) {
      observer?.({ type: 'applySnapshot', node: this.id, index: rd.snapshot.index, term: rd.snapshot.term })
      this.emitApplied({ kind: 'snapshot', index: rd.snapshot.index, term: rd.snapshot.term, data: rd.snapshot.data })
    }
    for (const e of rd.committed) {
      observer?.({ type: 'apply', node: this.id, entry: e })
      if (e.type === 'command') this.emitApplied({ kind: 'command', index: e.index, term: e.term, command: e.data })
      this.pending.committed(e)
    }
    this.core.advance(rd)
    this.pending.afterApply(rd, this.core.log.applied)
  }

  private send(rd: Ready): void {
    const observer = this.opts.observer
    const transport = this.opts.transport
    for (const m of rd.messages) {
      observer?.({ type: 'send', node: this.id, message: m })
      transport.send(m)
    }
  }

  private snapshotDue(): boolean {
    const every = this.opts.snapshotEvery ?? 0
    const log = this.core.log
    return every > 0 && this.opts.snapshot !== undefined && log.applied - log.snapshot.index >= every
  }

  private async takeSnapshot(): Promise<void> {
    const take = this.opts.snapshot
    const log = this.core.log
    if (take === undefined) return
    const snapshot = this.core.compact(log.applied, take(log.applied))
    if (snapshot === null) return
    await this.opts.storage.saveSnapshot(snapshot)
    await this.opts.storage.compact(snapshot.index)
    if (!this.stopped) this.opts.observer?.({ type: 'compact', node: this.id, index: snapshot.index })
  }

  private emitApplied(a: Applied): void {
    for (const l of this.listeners) l(a)
  }

  private checkRunning(): void {
    if (this.stopped) throw new RaftStoppedError(`raft node ${this.id} stopped`)
  }

  private fail(error: Error): void {
    if (this.stopped) return
    this.opts.observer?.({ type: 'failed', node: this.id, error })
    this.halt()
  }
}
