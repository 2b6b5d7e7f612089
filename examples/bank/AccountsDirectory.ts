import { Actor, type ActorRef, type Terminated } from '../../runtime/index.ts'
import { DynamicSupervisor, type DynamicSupervisorProtocol } from '../../supervision/index.ts'
import { Account, type AccountOptions, type AccountProtocol } from './Account.ts'
import type { AccountStore } from './AccountStore.ts'
import { AccountExistsError, BankUnavailableError, InvalidAmountError, UnknownAccountError } from './errors.ts'

export interface AccountsDirectoryProtocol {
  /** Creates an account with an opening balance (cents) and starts it. Rejects with ERR_INVALID_AMOUNT or ERR_ACCOUNT_EXISTS. */
  open(id: string, opening: number): Promise<ActorRef<AccountProtocol>>
  /** The running account, started on demand if it exists but is not running. Rejects with ERR_UNKNOWN_ACCOUNT. */
  get(id: string): Promise<ActorRef<AccountProtocol>>
  /** Ids of the accounts running right now. */
  running(): string[]
  /** Every account's balance and the total opened; live accounts are asked, idle ones read from the store. */
  snapshot(): Promise<LedgerSnapshot>
}

export interface LedgerSnapshot {
  readonly balances: Readonly<Record<string, number>>
  /** Sum of opening balances: money can move between accounts but never appear or vanish. */
  readonly opened: number
}

export interface AccountsDirectoryOptions {
  readonly store: AccountStore
  readonly account: AccountOptions
  /** Restart budget of the accounts' supervisor. */
  readonly intensity: number
  readonly periodMs: number
}

type AccountPool = DynamicSupervisorProtocol<typeof Account>

/**
 * Knows which accounts exist (the store) and which run (a DynamicSupervisor of Account actors,
 * its child `pool`). Accounts start on demand. The directory watches each one it starts: when an
 * account stops (it passivated, or its supervisor gave up on it) the directory forgets its ref, and
 * the next `get` starts it again from the store.
 *
 * Turn-based on purpose: while `get` waits for an account to start, a second `get` for the same id
 * waits in the mailbox and then finds it running, so an account is never started twice.
 */
export class AccountsDirectory extends Actor<AccountsDirectoryProtocol> implements AccountsDirectoryProtocol {
  private readonly options: AccountsDirectoryOptions
  private readonly byId = new Map<string, ActorRef<AccountProtocol>>()
  /** Account id by the ref's full address (uid included, so an old incarnation never matches a new one). */
  private readonly byAddress = new Map<string, string>()
  private pool!: ActorRef<AccountPool>

  constructor(options: AccountsDirectoryOptions) {
    super()
    this.options = options
  }

  override preStart(): void {
    // A generic actor class loses its type argument through spawn, hence the cast to the typed pool.
    this.pool = this.context.spawn(DynamicSupervisor, {
      name: 'pool',
      args: [
        {
          // transient: a crash restarts the account in place, a normal stop (passivation) does not.
          child: { actor: Account, restart: 'transient', shutdown: 1000 },
          intensity: this.options.intensity,
          periodMs: this.options.periodMs,
        },
      ],
    }) as ActorRef<AccountPool>
  }

  async open(id: string, opening: number): Promise<ActorRef<AccountProtocol>> {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidAmountError('an account id is a non-empty string')
    if (!Number.isSafeInteger(opening) || opening < 0) {
      throw new InvalidAmountError(`opening balance must be a whole number of cents >= 0, got ${opening}`, { data: { amount: opening } })
    }
    const created = await this.options.store.create({ id, opening, balance: opening, transactions: {} })
    if (!created) throw new AccountExistsError(`account '${id}' already exists`, { data: { account: id } })
    return this.start(id)
  }

  async get(id: string): Promise<ActorRef<AccountProtocol>> {
    // Map keys and store ids are strings: anything else names no account (and must not crash the directory).
    if (typeof id !== 'string') throw new UnknownAccountError('an account id is a string')
    const running = this.byId.get(id)
    if (running !== undefined) return running
    if ((await this.options.store.load(id)) === undefined) throw new UnknownAccountError(`no account '${id}'`, { data: { account: id } })
    return this.start(id)
  }

  running(): string[] {
    return [...this.byId.keys()]
  }

  async snapshot(): Promise<LedgerSnapshot> {
    const store = this.options.store
    const ids = await store.list()
    const entries = await Promise.all(
      ids.map(async (id): Promise<[string, number, number]> => {
        const record = await store.load(id)
        const live = this.byId.get(id)
        // An account that stops meanwhile has written its last state: the store is as good.
        const balance = live === undefined ? record?.balance : await live.ask('balance').catch(() => record?.balance)
        return [id, balance ?? 0, record?.opening ?? 0]
      }),
    )
    const balances: Record<string, number> = {}
    let opened = 0
    for (const [id, balance, opening] of entries) {
      balances[id] = balance
      opened += opening
    }
    return { balances, opened }
  }

  /** Death watch: a stopped account is forgotten; `get` starts it again from the store. */
  override onTerminated(terminated: Terminated): void {
    const address = terminated.ref.toString()
    const id = this.byAddress.get(address)
    if (id === undefined) return
    this.byAddress.delete(address)
    if (this.byId.get(id)?.equals(terminated.ref) === true) this.byId.delete(id)
  }

  private async start(id: string): Promise<ActorRef<AccountProtocol>> {
    let ref: ActorRef<AccountProtocol>
    try {
      // An actor template never returns 'ignore': the ref is always there.
      ref = (await this.pool.ask('startChild', id, this.options.store, this.options.account)).ref as ActorRef<AccountProtocol>
    } catch (error) {
      // Not this directory's fault: refuse the caller rather than crash (and restart every account).
      throw new BankUnavailableError(`account '${id}' could not start: ${(error as Error).message}`, { cause: error, data: { account: id } })
    }
    this.context.watch(ref)
    this.byId.set(id, ref)
    this.byAddress.set(ref.toString(), id)
    return ref
  }
}
