import { KafkaFencedError, KafkaInvalidConfigError, KafkaInvalidStateError, KafkaRebalanceError, KafkaTransactionTimedOutError } from '../errors.ts'
import { tpKey, type GroupMetadata, type TopicPartitionOffset } from '../KafkaPort.ts'
import type { PartitionLog, TxnMark } from './TwinLog.ts'

/** An open transaction: the partitions it wrote to and the offsets it will commit for each group. */
export interface OpenTxn extends TxnMark {
  readonly startedAt: number
  readonly partitions: Set<PartitionLog>
  /** groupId → tpKey → offset (applied to the group only if the transaction commits). */
  readonly offsets: Map<string, Map<string, TopicPartitionOffset>>
  /** Aborted by the coordinator on timeout: the producer learns it on its next call. */
  timedOut: boolean
}

/** The coordinator's record of one transactional id. */
export interface TxnIdState {
  readonly transactionalId: string
  readonly producerId: number
  epoch: number
  timeoutMs: number
  txn: OpenTxn | null
}

/** What a producer holds: its id's state and the epoch it was given; an older epoch is a zombie. */
export interface TxnHandle {
  readonly state: TxnIdState
  readonly epoch: number
}

/** The group side the coordinator needs: the current generation and members, to fence old ones (KIP-447). */
export interface GroupView {
  isCurrent(group: GroupMetadata): boolean
  commit(groupId: string, offsets: Iterable<TopicPartitionOffset>): void
}

/**
 * The transaction coordinator of the twin: producer ids and epochs (initTransactions bumps the
 * epoch and aborts what the previous epoch left open, so the older producer is fenced), markers on
 * commit/abort, offsets stored only on commit, and the broker-side timeout that aborts a
 * transaction left open too long (checked lazily by `sweep`, so the twin needs no timers).
 */
export class TwinCoordinator {
  private readonly ids = new Map<string, TxnIdState>()
  private nextProducerId = 1000
  private readonly maxTimeoutMs: number
  private readonly now: () => number
  private readonly groups: GroupView

  constructor(now: () => number, maxTimeoutMs: number, groups: GroupView) {
    this.now = now
    this.maxTimeoutMs = maxTimeoutMs
    this.groups = groups
  }

  init(transactionalId: string, timeoutMs: number): TxnHandle {
    if (!(timeoutMs > 0 && timeoutMs <= this.maxTimeoutMs)) {
      throw new KafkaInvalidConfigError(`transaction timeout ${timeoutMs} ms is not in (0, ${this.maxTimeoutMs}] (the broker's transaction.max.timeout.ms)`, { data: { problems: ['transactionTimeoutMs'] } })
    }
    let state = this.ids.get(transactionalId)
    if (state === undefined) {
      state = { transactionalId, producerId: this.nextProducerId++, epoch: 0, timeoutMs, txn: null }
      this.ids.set(transactionalId, state)
    } else {
      if (state.txn !== null) this.end(state.txn, 'abort')
      state.txn = null
      state.epoch++
      state.timeoutMs = timeoutMs
    }
    return { state, epoch: state.epoch }
  }

  /** Throws when `handle` is a zombie or its transaction was aborted by the timeout. */
  check(handle: TxnHandle, allowTimedOut = false): TxnIdState {
    const state = handle.state
    if (handle.epoch !== state.epoch) {
      throw new KafkaFencedError(`producer '${state.transactionalId}' epoch ${handle.epoch} was fenced by epoch ${state.epoch}`, { data: { transactionalId: state.transactionalId, epoch: handle.epoch, current: state.epoch } })
    }
    if (!allowTimedOut && state.txn?.timedOut === true) {
      throw new KafkaTransactionTimedOutError(`transaction of '${state.transactionalId}' was aborted by the coordinator after ${state.timeoutMs} ms`, { data: { transactionalId: state.transactionalId, timeoutMs: state.timeoutMs } })
    }
    return state
  }

  begin(handle: TxnHandle): void {
    const state = this.check(handle)
    if (state.txn !== null) throw new KafkaInvalidStateError(`'${state.transactionalId}' already has an open transaction`)
    state.txn = { state: 'open', startedAt: this.now(), partitions: new Set(), offsets: new Map(), timedOut: false }
  }

  /** The open transaction a send or sendOffsets joins. */
  current(handle: TxnHandle): OpenTxn {
    const state = this.check(handle)
    if (state.txn === null) throw new KafkaInvalidStateError(`'${state.transactionalId}' has no open transaction`)
    return state.txn
  }

  addOffsets(handle: TxnHandle, offsets: readonly TopicPartitionOffset[], group: GroupMetadata): void {
    const txn = this.current(handle)
    if (!this.groups.isCurrent(group)) {
      throw new KafkaRebalanceError(`offsets of group '${group.groupId}' sent with generation ${group.generationId}, which is no longer current`, { data: { groupId: group.groupId, generationId: group.generationId } })
    }
    let byTp = txn.offsets.get(group.groupId)
    if (byTp === undefined) txn.offsets.set(group.groupId, (byTp = new Map()))
    for (const o of offsets) byTp.set(tpKey(o.topic, o.partition), o)
  }

  commit(handle: TxnHandle): void {
    const txn = this.current(handle)
    this.end(txn, 'commit')
    handle.state.txn = null
  }

  abort(handle: TxnHandle): void {
    const state = this.check(handle, true)
    if (state.txn === null) throw new KafkaInvalidStateError(`'${state.transactionalId}' has no open transaction to abort`)
    if (state.txn.state === 'open') this.end(state.txn, 'abort')
    state.txn = null
  }

  /** Whether an open transaction holds offsets for this group and partition (KIP-447: the new owner waits). */
  hasPendingOffsets(groupId: string, key: string): boolean {
    for (const state of this.ids.values()) if (state.txn?.state === 'open' && state.txn.offsets.get(groupId)?.has(key) === true) return true
    return false
  }

  /** Aborts every transaction open longer than its timeout (the coordinator's own timer, run lazily). */
  sweep(): void {
    const now = this.now()
    for (const state of this.ids.values()) {
      const txn = state.txn
      if (txn !== null && txn.state === 'open' && now - txn.startedAt >= state.timeoutMs) {
        this.end(txn, 'abort')
        txn.timedOut = true
      }
    }
  }

  private end(txn: OpenTxn, how: 'commit' | 'abort'): void {
    txn.state = how === 'commit' ? 'committed' : 'aborted'
    const at = this.now()
    for (const log of txn.partitions) log.mark(txn, how, at)
    if (how === 'commit') for (const [groupId, byTp] of txn.offsets) this.groups.commit(groupId, byTp.values())
  }
}
