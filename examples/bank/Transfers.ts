import { Actor, encodeError, ErrorCodes, errorCode, Rejection, type ActorRef, type EncodedError } from '../../runtime/index.ts'
import type { AccountProtocol } from './Account.ts'
import type { AccountsDirectoryProtocol } from './AccountsDirectory.ts'
import { BankUnavailableError, InvalidAmountError, InvalidTransferError } from './errors.ts'
import { money } from './money.ts'
import { BankNames } from './names.ts'

export interface TransferRequest {
  readonly from: string
  readonly to: string
  /** Cents. */
  readonly amount: number
  /** Timeout of each step (withdraw, deposit). Default: the coordinator's `stepTimeoutMs`. */
  readonly timeoutMs?: number
}

interface ReceiptBase {
  readonly txId: string
  readonly from: string
  readonly to: string
  readonly amount: number
}

export type TransferReceipt =
  | (ReceiptBase & { readonly status: 'completed' })
  | (ReceiptBase & {
      readonly status: 'failed'
      /** Why, encoded; `decodeError(receipt.error)` gives the typed error back. */
      readonly error: EncodedError
      /** True when steps that may have happened were undone; false when nothing had moved or undoing failed. */
      readonly compensated: boolean
    })

export interface TransferStats {
  readonly completed: number
  /** Refused before any money moved (the ask was rejected). */
  readonly refused: number
  /** Failed after a step may have happened (a receipt with status 'failed'). */
  readonly failed: number
  /** Refusals and failures by error code. */
  readonly failures: Readonly<Record<string, number>>
  readonly compensated: number
  /** Transactions whose compensation failed: they need a human (the auditor will disagree too). */
  readonly unsettled: readonly string[]
}

export interface TransfersProtocol {
  /**
   * Moves money between two accounts. Refused before any money moves (ERR_INVALID_TRANSFER,
   * ERR_INVALID_AMOUNT, ERR_UNKNOWN_ACCOUNT, ERR_INSUFFICIENT_FUNDS, ERR_BANK_UNAVAILABLE): the ask
   * rejects with that Rejection. Once a step may have happened, the outcome is a receipt: completed,
   * or failed with whether what happened was undone.
   */
  transfer(request: TransferRequest): Promise<TransferReceipt>
  /** Resolves once no transfer is in flight; new ones wait until `release` (or the hold expires). */
  hold(): Promise<void>
  release(): void
  stats(): TransferStats
}

export interface TransfersOptions {
  readonly stepTimeoutMs: number
  /** Timeout of each reversal; generous, since it may queue behind the slow step it undoes. */
  readonly compensationTimeoutMs: number
  readonly compensationAttempts: number
  /** A hold longer than this is released anyway (the auditor that held it may have crashed). */
  readonly holdTimeoutMs: number
}

/**
 * The transfer coordinator: withdraw from one account, deposit into the other, each an ask with a
 * timeout. When a step fails or times out it cannot know whether the step happened, so it sends
 * `reverse(txId)` to every account that may have applied it (reversal is idempotent and voids a
 * step that has not arrived yet); the books balance either way.
 *
 * It must be spawned `reentrant`: transfers run concurrently, each awaiting its own asks, and
 * `hold`/`release` must be handled while transfers wait at the gate.
 */
export class Transfers extends Actor<TransfersProtocol> implements TransfersProtocol {
  private readonly options: TransfersOptions
  /** Random per instance, so ids never repeat across restarts (accounts remember every id they saw). */
  private readonly idPrefix: string
  private sequence = 0
  private inFlight = 0
  private gate: { readonly promise: Promise<void>; readonly open: () => void } | null = null
  private drained: (() => void)[] = []
  private completed = 0
  private refused = 0
  private failed = 0
  private compensated = 0
  private readonly failures: Record<string, number> = {}
  private readonly unsettled: string[] = []

  constructor(options: TransfersOptions) {
    super()
    this.options = options
    this.idPrefix = Math.floor(this.context.system.random.next() * 36 ** 6).toString(36)
  }

  async transfer(request: TransferRequest): Promise<TransferReceipt> {
    while (this.gate !== null) await this.gate.promise
    this.inFlight++
    const txId = `${this.idPrefix}-${++this.sequence}`
    try {
      const receipt = await this.execute(txId, request)
      if (receipt.status === 'completed') this.completed++
      else {
        this.failed++
        this.failures[receipt.error.code] = (this.failures[receipt.error.code] ?? 0) + 1
        if (receipt.compensated) this.compensated++
      }
      return receipt
    } catch (error) {
      if (error instanceof Rejection) {
        this.refused++
        this.failures[error.code] = (this.failures[error.code] ?? 0) + 1
      }
      throw error
    } finally {
      this.inFlight--
      if (this.inFlight === 0) for (const resolve of this.drained.splice(0)) resolve()
    }
  }

  async hold(): Promise<void> {
    if (this.gate === null) {
      let open!: () => void
      const promise = new Promise<void>((resolve) => (open = resolve))
      this.gate = { promise, open }
      this.context.timers.startSingle('hold-expiry', this.options.holdTimeoutMs, 'release')
    }
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve))
  }

  release(): void {
    this.context.timers.cancel('hold-expiry')
    const gate = this.gate
    this.gate = null
    gate?.open()
  }

  stats(): TransferStats {
    return {
      completed: this.completed,
      refused: this.refused,
      failed: this.failed,
      failures: { ...this.failures },
      compensated: this.compensated,
      unsettled: [...this.unsettled],
    }
  }

  private async execute(txId: string, request: TransferRequest): Promise<TransferReceipt> {
    // The gateway's schema stops malformed requests from outside; this guards callers inside the cluster.
    if (typeof request !== 'object' || request === null || typeof request.from !== 'string' || typeof request.to !== 'string') {
      throw new InvalidTransferError('a transfer is {from, to, amount} with account ids as strings')
    }
    const { from, to, amount } = request
    if (!Number.isSafeInteger(amount) || amount <= 0 || from === to) {
      throw new InvalidAmountError(`cannot move ${money(amount)} from '${from}' to '${to}'`, { data: { amount } })
    }
    const base: ReceiptBase = { txId, from, to, amount }
    const failed = (error: unknown, compensated: boolean): TransferReceipt => ({
      ...base,
      status: 'failed',
      error: isEncoded(error) ? error : encodeError(error),
      compensated,
    })
    const timeoutMs = request.timeoutMs ?? this.options.stepTimeoutMs
    // Both accounts must exist before any money moves; a refusal here rejects the transfer.
    const source = await this.resolve(from, timeoutMs)
    const target = await this.resolve(to, timeoutMs)

    try {
      await this.call(from, source, (account) => account.askWith({ timeoutMs }, 'withdraw', txId, amount))
    } catch (error) {
      // Refused (insufficient funds): nothing moved, so the transfer is refused too.
      if (error instanceof Rejection) throw error
      // Timed out or the account crashed: the withdrawal may or may not have happened.
      return failed(error, await this.compensate(txId, [from]))
    }

    try {
      await this.call(to, target, (account) => account.askWith({ timeoutMs }, 'deposit', txId, amount))
    } catch (error) {
      // A refused deposit did not happen; one that timed out or crashed may have.
      return failed(error, await this.compensate(txId, error instanceof Rejection ? [from] : [to, from]))
    }
    return { ...base, status: 'completed' }
  }

  /** Reverses `txId` on each account; false if any reversal keeps failing (the transfer is unsettled). */
  private async compensate(txId: string, accounts: readonly string[]): Promise<boolean> {
    let settled = true
    for (const id of accounts) {
      let reversed = false
      for (let attempt = 0; attempt < this.options.compensationAttempts && !reversed; attempt++) {
        try {
          const account = await this.resolve(id, this.options.compensationTimeoutMs)
          await this.call(id, account, (ref) => ref.askWith({ timeoutMs: this.options.compensationTimeoutMs }, 'reverse', txId))
          reversed = true
        } catch (_error) {
          // A crash, a timeout or a directory that did not answer: try again (reversal is idempotent).
        }
      }
      if (!reversed) settled = false
    }
    if (!settled) this.unsettled.push(txId)
    return settled
  }

  /**
   * Sends one step. ERR_ACTOR_STOPPED means the account stopped before handling it (it passivated
   * after we looked it up), so sending it again to the account's next incarnation is safe.
   */
  private async call(id: string, ref: ActorRef<AccountProtocol>, send: (account: ActorRef<AccountProtocol>) => Promise<number>): Promise<number> {
    try {
      return await send(ref)
    } catch (error) {
      if (errorCode(error) !== ErrorCodes.ActorStopped) throw error
      return send(await this.resolve(id, this.options.stepTimeoutMs))
    }
  }

  /** The running account; rejects with the directory's Rejection, or ERR_BANK_UNAVAILABLE when it does not answer. */
  private async resolve(id: string, timeoutMs: number): Promise<ActorRef<AccountProtocol>> {
    const directory = this.context.system.lookup<AccountsDirectoryProtocol>(BankNames.accounts)
    if (directory === undefined) throw new BankUnavailableError('the accounts directory is not running')
    try {
      return await directory.askWith({ timeoutMs }, 'get', id)
    } catch (error) {
      if (error instanceof Rejection) throw error
      throw new BankUnavailableError(`the accounts directory did not answer: ${(error as Error).message}`, { cause: error })
    }
  }
}

function isEncoded(value: unknown): value is EncodedError {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && typeof (value as { code?: unknown }).code === 'string'
}
