import type { ActorRef, ActorSystem } from '../../runtime/index.ts'
import { childSpec, Supervisor, type SupervisorProtocol } from '../../supervision/index.ts'
import { AccountsDirectory, type AccountsDirectoryProtocol } from './AccountsDirectory.ts'
import type { AccountStore } from './AccountStore.ts'
import { Auditor, type AuditorProtocol } from './Auditor.ts'
import { BankUnavailableError } from './errors.ts'
import { MemoryStore } from './MemoryStore.ts'
import { BankNames } from './names.ts'
import { Transfers, type TransfersProtocol } from './Transfers.ts'

export interface BankOptions {
  /** Where accounts persist. Default: a MemoryStore on the system's clock. */
  readonly store?: AccountStore
  /** Timeout of each transfer step (ms). Default 1000. */
  readonly stepTimeoutMs?: number
  /** Period of the auditor's check (ms). Default 1000. */
  readonly auditIntervalMs?: number
  /** An account idle this long stops until it is needed again (ms); 0 never. Default 60 000. */
  readonly passivateAfterMs?: number
  /** Account restarts allowed within `periodMs` before the accounts' supervisor gives up. Default 5 in 1000 ms. */
  readonly accountRestarts?: { readonly intensity: number; readonly periodMs: number }
}

/** A running bank: its top supervisor and typed access to its parts. */
export interface Bank {
  readonly supervisor: ActorRef<SupervisorProtocol>
  readonly store: AccountStore
  /** The parts are looked up by registered name on each call, so a ref is never one from before a restart. */
  accounts(): ActorRef<AccountsDirectoryProtocol>
  transfers(): ActorRef<TransfersProtocol>
  auditor(): ActorRef<AuditorProtocol>
}

/**
 * Builds the bank's supervision tree on `system` and resolves once every part has started:
 *
 *     bank (Supervisor, one_for_one)
 *     ├── accounts  AccountsDirectory
 *     │   └── pool  DynamicSupervisor ── account-0, account-1, … (Account, started on demand)
 *     ├── transfers Transfers (reentrant)
 *     └── auditor   Auditor (periodic)
 *
 * The same function serves a standalone process (examples/bank/main.ts) and, later, a node that
 * loads the bank as its app module. One bank per system: its parts are registered by name.
 */
export async function startBank(system: ActorSystem, options: BankOptions = {}): Promise<Bank> {
  const store = options.store ?? new MemoryStore(system.clock)
  const stepTimeoutMs = options.stepTimeoutMs ?? 1000
  const restarts = options.accountRestarts ?? { intensity: 5, periodMs: 1000 }
  const holdTimeoutMs = 2000
  const supervisor = system.spawn(Supervisor, {
    name: 'bank',
    registerAs: BankNames.supervisor,
    args: [
      {
        strategy: 'one_for_one',
        intensity: 3,
        periodMs: 5000,
        children: [
          childSpec({
            id: 'accounts',
            actor: AccountsDirectory,
            args: [{ store, account: { passivateAfterMs: options.passivateAfterMs ?? 60_000 }, ...restarts }],
            // It stops its accounts before it stops itself; give them time to finish their writes.
            shutdown: 10_000,
            spawn: { registerAs: BankNames.accounts },
          }),
          childSpec({
            id: 'transfers',
            actor: Transfers,
            args: [{ stepTimeoutMs, compensationTimeoutMs: 5 * stepTimeoutMs, compensationAttempts: 3, holdTimeoutMs }],
            spawn: { registerAs: BankNames.transfers, reentrant: true },
          }),
          childSpec({
            id: 'auditor',
            actor: Auditor,
            args: [{ intervalMs: options.auditIntervalMs ?? 1000, holdTimeoutMs }],
            spawn: { registerAs: BankNames.auditor },
          }),
        ],
      },
    ],
  })
  try {
    // Asks wait in the mailbox until the supervisor's preStart has started every child.
    await supervisor.ask('countChildren')
  } catch (error) {
    const { reason } = await system.watch(supervisor)
    throw new BankUnavailableError('the bank failed to start', { cause: reason.kind === 'failure' ? reason.error : error })
  }
  const lookup = <P>(name: string): ActorRef<P> => {
    const ref = system.lookup<P>(name)
    if (ref === undefined) throw new BankUnavailableError(`'${name}' is not running`)
    return ref
  }
  return {
    supervisor,
    store,
    accounts: () => lookup<AccountsDirectoryProtocol>(BankNames.accounts),
    transfers: () => lookup<TransfersProtocol>(BankNames.transfers),
    auditor: () => lookup<AuditorProtocol>(BankNames.auditor),
  }
}
