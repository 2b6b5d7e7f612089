import { Actor, ActorInitError } from '../../runtime/index.ts'
import type { AccountRecord, AccountStore } from './AccountStore.ts'
import { InsufficientFundsError, InvalidAmountError, TransactionVoidedError } from './errors.ts'
import { money } from './money.ts'

/**
 * Refusals (ERR_INVALID_AMOUNT, ERR_INSUFFICIENT_FUNDS, ERR_TRANSACTION_VOIDED) reject the ask with
 * a Rejection: nothing was applied and the account carries on.
 */
export interface AccountProtocol {
  /** Credits `amount` cents under transaction `txId`; replies with the new balance. Idempotent per txId. */
  deposit(txId: string, amount: number): Promise<number>
  /** Debits `amount` cents; refused with ERR_INSUFFICIENT_FUNDS when the balance is short. Idempotent per txId. */
  withdraw(txId: string, amount: number): Promise<number>
  /**
   * Undoes `txId` if it was applied; if it has not arrived yet, voids it so that it is refused when
   * it does. Idempotent. This is what a coordinator sends when it cannot tell whether a step happened.
   */
  reverse(txId: string): Promise<number>
  balance(): number
  /** Sent by the receive timeout: an idle account stops; the directory starts it again on demand. */
  passivate(): void
}

export interface AccountOptions {
  /** Stop after this long without a message. 0 keeps the account running. */
  readonly passivateAfterMs: number
}

/**
 * One bank account. Its state lives in memory and is written through the store before every reply,
 * so when a fault crashes it, its supervisor restarts it and `preStart` reloads the last
 * acknowledged state. Handlers are async and turn-based: the next operation waits until the
 * current write completes, so the balance needs no locking.
 */
export class Account extends Actor<AccountProtocol> implements AccountProtocol {
  private readonly id: string
  private readonly store: AccountStore
  private readonly options: AccountOptions
  private record: AccountRecord | null = null

  constructor(id: string, store: AccountStore, options: AccountOptions) {
    super()
    this.id = id
    this.store = store
    this.options = options
  }

  // Runs again after a restart (postRestart calls preStart): a fresh instance reloads its state.
  override async preStart(): Promise<void> {
    const record = await this.store.load(this.id)
    if (record === undefined) throw new ActorInitError(`account '${this.id}' is not in the store`)
    this.record = record
    if (this.options.passivateAfterMs > 0) this.context.setReceiveTimeout(this.options.passivateAfterMs, 'passivate')
  }

  deposit(txId: string, amount: number): Promise<number> {
    return this.apply(txId, amount)
  }

  withdraw(txId: string, amount: number): Promise<number> {
    return this.apply(txId, -amount)
  }

  async reverse(txId: string): Promise<number> {
    const record = this.state
    const applied = record.transactions[txId]
    if (applied === null) return record.balance
    // A reversal may take the balance below zero (the money was spent meanwhile); the books still balance.
    await this.commit({ ...record, balance: record.balance - (applied ?? 0), transactions: { ...record.transactions, [txId]: null } })
    return this.state.balance
  }

  balance(): number {
    return this.state.balance
  }

  passivate(): void {
    this.context.stop()
  }

  private async apply(txId: string, delta: number): Promise<number> {
    const record = this.state
    const amount = Math.abs(delta)
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      throw new InvalidAmountError(`amount must be a positive whole number of cents, got ${amount}`, { data: { amount } })
    }
    const seen = record.transactions[txId]
    if (seen === null) throw new TransactionVoidedError(`transaction ${txId} was reversed on '${this.id}'`, { data: { txId } })
    if (seen !== undefined) return record.balance // a retry of something already applied
    if (record.balance + delta < 0) {
      throw new InsufficientFundsError(`account '${this.id}' has ${money(record.balance)}, needs ${money(amount)}`, {
        data: { account: this.id, balance: record.balance, amount },
      })
    }
    await this.commit({ ...record, balance: record.balance + delta, transactions: { ...record.transactions, [txId]: delta } })
    return this.state.balance
  }

  /** Writes first, then updates memory: if the write throws, the account crashes with its old state. */
  private async commit(next: AccountRecord): Promise<void> {
    await this.store.save(next)
    this.record = next
  }

  private get state(): AccountRecord {
    // preStart always sets it before the first message is handled.
    return this.record as AccountRecord
  }
}
