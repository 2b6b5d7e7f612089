import { Actor, Rejection, topic } from '../../runtime/index.ts'
import type { AccountsDirectoryProtocol } from './AccountsDirectory.ts'
import { BankUnavailableError } from './errors.ts'
import { BankNames } from './names.ts'
import type { TransfersProtocol } from './Transfers.ts'

export interface AuditReport {
  /** Which check this is, counting from 1 for this auditor instance. */
  readonly check: number
  readonly accounts: number
  readonly total: number
  /** What the total must be: the sum of opening balances. */
  readonly expected: number
  readonly balanced: boolean
}

export interface AuditSummary {
  readonly checks: number
  readonly imbalances: number
  /** Periodic checks skipped because part of the bank did not answer in time. */
  readonly skipped: number
  readonly last: AuditReport | null
}

/** Every audit is published here; an unbalanced one is the alarm. */
export const AuditTopic = topic<AuditReport>('bank.audit')

export interface AuditorProtocol {
  /** Sent by the periodic timer. */
  tick(): Promise<void>
  /** Runs a check now; rejects with ERR_BANK_UNAVAILABLE when the directory or transfers do not answer. */
  check(): Promise<AuditReport>
  summary(): AuditSummary
}

export interface AuditorOptions {
  readonly intervalMs: number
  /** How long a check may wait for in-flight transfers to finish. */
  readonly holdTimeoutMs: number
}

/**
 * Checks that money is conserved: every so often it holds new transfers, waits for the ones in
 * flight, adds up all balances and compares with the sum of opening balances. A snapshot taken while
 * transfers are moving would catch money in transit between a withdrawal and its deposit, hence
 * the hold. Turn-based: a timer tick that arrives during a check waits its turn.
 */
export class Auditor extends Actor<AuditorProtocol> implements AuditorProtocol {
  private readonly options: AuditorOptions
  private checks = 0
  private imbalances = 0
  private skipped = 0
  private last: AuditReport | null = null

  constructor(options: AuditorOptions) {
    super()
    this.options = options
  }

  // Timers are cancelled on restart; postRestart calls preStart, which arms them again.
  override preStart(): void {
    this.context.timers.startPeriodic('audit', this.options.intervalMs, 'tick')
  }

  async tick(): Promise<void> {
    try {
      await this.check()
    } catch (error) {
      // "Cannot audit now" is counted; anything else is a fault of the auditor.
      if (!(error instanceof Rejection)) throw error
      this.skipped++
    }
  }

  async check(): Promise<AuditReport> {
    const system = this.context.system
    const directory = system.lookup<AccountsDirectoryProtocol>(BankNames.accounts)
    const transfers = system.lookup<TransfersProtocol>(BankNames.transfers)
    if (directory === undefined || transfers === undefined) throw new BankUnavailableError('the bank is not fully running')
    const timeoutMs = this.options.holdTimeoutMs
    try {
      // A missing answer means "cannot audit now" (a refusal), not a fault of the auditor.
      await transfers.askWith({ timeoutMs }, 'hold')
      const snapshot = await directory.askWith({ timeoutMs }, 'snapshot')
      const balances = Object.values(snapshot.balances)
      const total = balances.reduce((sum, balance) => sum + balance, 0)
      const report: AuditReport = {
        check: ++this.checks,
        accounts: balances.length,
        total,
        expected: snapshot.opened,
        balanced: total === snapshot.opened,
      }
      if (!report.balanced) this.imbalances++
      this.last = report
      system.publish(AuditTopic, report)
      return report
    } catch (error) {
      throw new BankUnavailableError(`audit could not complete: ${(error as Error).message}`, { cause: error })
    } finally {
      transfers.tell('release')
    }
  }

  summary(): AuditSummary {
    return { checks: this.checks, imbalances: this.imbalances, skipped: this.skipped, last: this.last }
  }
}
