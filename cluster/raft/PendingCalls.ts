import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { RaftNotLeaderError, RaftReadAbortedError, RaftReadTimeoutError, RaftTransferFailedError } from './errors.ts'
import type { LogEntry } from './RaftStorage.ts'
import type { Ready } from './types.ts'

interface PendingRead {
  readonly id: number
  index: number
  readonly resolve: (index: number) => void
  readonly reject: (error: Error) => void
  timer: TimerHandle | null
}

interface PendingTransfer {
  readonly to: string
  readonly resolve: () => void
  readonly reject: (e: Error) => void
  readonly timer: TimerHandle
}

interface ConfigWaiter {
  readonly term: number
  readonly resolve: (r: { index: number }) => void
  readonly reject: (e: Error) => void
}

/**
 * The calls a RaftNode owes an answer: linearizable reads (waiting for the leader's confirmation,
 * then for the apply), the leadership transfer under way, and membership changes waiting for their
 * entry to commit. Each ends exactly once: answered from a Ready, timed out, or rejected at stop.
 */
export class PendingCalls {
  private readonly node: string
  private readonly clock: Clock
  private readSeq = 0
  private readonly reads = new Map<number, PendingRead>()
  private readonly confirmedReads: PendingRead[] = []
  private transfer: PendingTransfer | null = null
  private readonly configWaiters = new Map<number, ConfigWaiter>()

  constructor(node: string, clock: Clock) {
    this.node = node
    this.clock = clock
  }

  nextReadId(): number {
    return ++this.readSeq
  }

  /** Waits for read `id` to be confirmed and applied; rejects after `timeoutMs`. */
  addRead(id: number, timeoutMs: number, resolve: (index: number) => void, reject: (error: Error) => void): void {
    const pending: PendingRead = { id, index: 0, resolve, reject, timer: null }
    pending.timer = this.clock.setTimer(timeoutMs, () => this.timeOutRead(pending, timeoutMs))
    this.reads.set(id, pending)
  }

  /** The transfer under way, if any. */
  get transferTarget(): string | null {
    return this.transfer === null ? null : this.transfer.to
  }

  /** Waits for `to` to lead; rejects after `backstopMs` (the core aborts sooner; this covers a lost leadership). */
  startTransfer(to: string, backstopMs: number, resolve: () => void, reject: (e: Error) => void): void {
    const timer = this.clock.setTimer(backstopMs, () => this.endTransfer(new RaftTransferFailedError(`${to} did not take over in time`)))
    this.transfer = { to, resolve, reject, timer }
  }

  /** Ends the transfer under way: resolved with null, else rejected with `error`. */
  endTransfer(error: Error | null): void {
    const t = this.transfer
    if (t === null) return
    this.transfer = null
    this.clock.clearTimer(t.timer)
    if (error === null) t.resolve()
    else t.reject(error)
  }

  /** Waits for the configuration change proposed at `index` in `term` to commit. */
  addConfigWaiter(index: number, term: number, resolve: (r: { index: number }) => void, reject: (e: Error) => void): void {
    this.configWaiters.set(index, { term, resolve, reject })
  }

  /** A committed entry answers the configuration change waiting at its index (if its term still matches). */
  committed(e: LogEntry): void {
    const waiter = this.configWaiters.get(e.index)
    if (waiter === undefined) return
    this.configWaiters.delete(e.index)
    if (waiter.term === e.term) waiter.resolve({ index: e.index })
    else waiter.reject(new RaftNotLeaderError(`the configuration change at ${e.index} was overwritten by a later leader`))
  }

  /** After a Ready is applied: confirmed reads wait for the apply, aborted ones reject, applied ones resolve. */
  afterApply(rd: Ready, applied: number): void {
    for (const rs of rd.readStates) {
      const pending = this.reads.get(rs.id)
      if (pending === undefined) continue
      this.reads.delete(rs.id)
      pending.index = rs.index
      this.confirmedReads.push(pending)
    }
    for (const n of rd.notices) {
      if (n.type === 'readsAborted') {
        for (const id of n.ids) {
          const pending = this.reads.get(id)
          if (pending === undefined) continue
          this.reads.delete(id)
          this.endRead(pending)
          pending.reject(new RaftReadAbortedError(`read ${id} lost its leader before it was confirmed; retry`))
        }
      } else if (n.type === 'transferAborted' && this.transfer !== null && this.transfer.to === n.to) {
        this.endTransfer(new RaftTransferFailedError(`${n.to} did not take over within an election timeout`))
      }
    }
    if (this.confirmedReads.length > 0) {
      let kept = 0
      for (const r of this.confirmedReads) {
        if (r.index <= applied) {
          this.endRead(r)
          r.resolve(r.index)
        } else this.confirmedReads[kept++] = r
      }
      this.confirmedReads.length = kept
    }
  }

  /** The node stopped: every pending call rejects with `err`. */
  rejectAll(err: Error): void {
    for (const r of [...this.reads.values(), ...this.confirmedReads]) {
      this.endRead(r)
      r.reject(err)
    }
    this.reads.clear()
    this.confirmedReads.length = 0
    for (const w of this.configWaiters.values()) w.reject(err)
    this.configWaiters.clear()
    this.endTransfer(err)
  }

  private timeOutRead(pending: PendingRead, timeoutMs: number): void {
    pending.timer = null
    this.reads.delete(pending.id)
    const i = this.confirmedReads.indexOf(pending)
    if (i >= 0) this.confirmedReads.splice(i, 1)
    pending.reject(new RaftReadTimeoutError(`read ${pending.id} on ${this.node} was not confirmed within ${timeoutMs} ms; retry`))
  }

  private endRead(pending: PendingRead): void {
    if (pending.timer !== null) this.clock.clearTimer(pending.timer)
  }
}
