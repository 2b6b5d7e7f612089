/** What an account persists: its balance and every transaction id it has seen. */
export interface AccountRecord {
  readonly id: string
  /** Balance at opening, in cents. The sum over all accounts is what the auditor expects. */
  readonly opening: number
  readonly balance: number
  /**
   * Applied transactions by id: the signed amount (deposit > 0, withdrawal < 0), or null once
   * reversed (or voided before it arrived). This is what makes every operation idempotent.
   */
  readonly transactions: Readonly<Record<string, number | null>>
}

/**
 * Durable account state. Accounts write through it before they reply, so a crashed account is
 * restarted from its last acknowledged state. An interface so a real database can stand behind it.
 */
export interface AccountStore {
  /** Stores a new record; false when the id is taken. */
  create(record: AccountRecord): Promise<boolean>
  load(id: string): Promise<AccountRecord | undefined>
  save(record: AccountRecord): Promise<void>
  /** Every account id, in opening order. */
  list(): Promise<string[]>
}
