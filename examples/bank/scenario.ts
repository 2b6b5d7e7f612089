import { encodeError, LifecycleTopic, SeededRandom, type ActorSystem, type EncodedError } from '../../runtime/index.ts'
import type { Bank } from './app.ts'
import type { AuditReport, AuditSummary } from './Auditor.ts'
import type { MemoryStore } from './MemoryStore.ts'
import { money } from './money.ts'
import type { TransferReceipt, TransferRequest, TransferStats } from './Transfers.ts'

export interface ScenarioOptions {
  readonly seed: number
  /** Random transfers in phase 1. */
  readonly transfers: number
  /** How many of them are in flight at once. */
  readonly concurrency: number
  readonly log: (line: string) => void
}

export interface ScenarioResult {
  readonly opened: Readonly<Record<string, number>>
  readonly random: { readonly completed: number; readonly failures: Readonly<Record<string, number>> }
  /** Phase 2: transfers built to be refused: the Rejection each ask got, encoded. */
  readonly refused: readonly EncodedError[]
  /** Phase 3: the transfer whose deposit crashed carol, the restart, and a transfer after it. */
  readonly crash: { readonly receipt: TransferReceipt; readonly path: string; readonly restarted: boolean; readonly after: TransferReceipt }
  /** Phase 4: the transfer whose deposit timed out. */
  readonly timeout: TransferReceipt
  readonly audit: AuditReport
  readonly auditor: AuditSummary
  readonly stats: TransferStats
  readonly balances: Readonly<Record<string, number>>
  readonly deadLetters: Readonly<Record<string, number>>
}

const OPENING: Readonly<Record<string, number>> = {
  alice: 250_000,
  bob: 180_000,
  carol: 120_000,
  dave: 90_000,
  erin: 150_000,
  frank: 70_000,
  grace: 110_000,
  heidi: 30_000,
}

function describe(receipt: TransferReceipt): string {
  const head = `${receipt.from} → ${receipt.to} ${money(receipt.amount)}`
  if (receipt.status === 'completed') return `${head}: completed`
  return `${head}: failed ${receipt.error.code}${receipt.compensated ? ', compensated' : ''} (${receipt.error.message})`
}

/** The receipt, or the refusal (a rejected ask) encoded. */
async function settle(receipt: Promise<TransferReceipt>): Promise<TransferReceipt | EncodedError> {
  try {
    return await receipt
  } catch (error) {
    return encodeError(error)
  }
}

/**
 * The example's story, through the public API only: open accounts, run random transfers, show the
 * refusals, crash an account through a storage fault, time out a slow one, then audit.
 */
export async function runScenario(system: ActorSystem, bank: Bank, store: MemoryStore, options: ScenarioOptions): Promise<ScenarioResult> {
  const { log } = options
  const restarted: string[] = []
  const crashed = new Map<string, string>()
  const deadLetters: Record<string, number> = {}
  const lifecycle = system.subscribe(LifecycleTopic, (event) => {
    if (event.event === 'failed') crashed.set(event.ref.path, `${event.error?.name}: ${event.error?.message}`)
    if (event.event === 'restarted') restarted.push(event.ref.path)
  })
  const letters = system.deadLetters.subscribe((letter) => {
    deadLetters[letter.reason] = (deadLetters[letter.reason] ?? 0) + 1
  })
  const transfers = bank.transfers()
  const transfer = (request: TransferRequest): Promise<TransferReceipt> => transfers.ask('transfer', request)

  try {
    log('Opening accounts')
    const paths: Record<string, string> = {}
    for (const [id, opening] of Object.entries(OPENING)) {
      const ref = await bank.accounts().ask('open', id, opening)
      paths[id] = ref.path
      log(`  ${id.padEnd(6)} ${money(opening).padStart(9)}  ${ref.path}`)
    }
    const total = Object.values(OPENING).reduce((sum, cents) => sum + cents, 0)
    log(`  ${Object.keys(OPENING).length} accounts, ${money(total)} in total`)

    log('')
    log(`Phase 1: ${options.transfers} random transfers, ${options.concurrency} at a time`)
    const random = new SeededRandom(options.seed)
    const ids = Object.keys(OPENING)
    const pick = (): string => ids[Math.floor(random.next() * ids.length)] as string
    const requests: TransferRequest[] = []
    while (requests.length < options.transfers) {
      const from = pick()
      const to = pick()
      if (from !== to) requests.push({ from, to, amount: (1 + Math.floor(random.next() * 200)) * 100 })
    }
    const randomFailures: Record<string, number> = {}
    let completed = 0
    for (let i = 0; i < requests.length; i += options.concurrency) {
      const outcomes = await Promise.all(requests.slice(i, i + options.concurrency).map((request) => settle(transfer(request))))
      for (const outcome of outcomes) {
        const code = 'status' in outcome ? (outcome.status === 'completed' ? null : outcome.error.code) : outcome.code
        if (code === null) completed++
        else randomFailures[code] = (randomFailures[code] ?? 0) + 1
      }
    }
    const failureText = Object.entries(randomFailures).map(([code, n]) => `${code} × ${n}`).join(', ')
    log(`  completed ${completed}, failed ${requests.length - completed}${failureText === '' ? '' : ` (${failureText})`}`)

    log('')
    log('Phase 2: transfers that must be refused (nothing moves)')
    const heidi = await bank.accounts().ask('get', 'heidi')
    const heidiBalance = await heidi.ask('balance')
    const refusals: EncodedError[] = []
    for (const request of [
      { from: 'ghost', to: 'alice', amount: 1000 },
      { from: 'alice', to: 'bob', amount: -500 },
      { from: 'alice', to: 'alice', amount: 100 },
      { from: 'heidi', to: 'alice', amount: heidiBalance + 100 },
    ]) {
      const outcome = await settle(transfer(request))
      if ('status' in outcome) throw new Error(`expected a refusal, got ${describe(outcome)}`)
      refusals.push(outcome)
      log(`  ${request.from} → ${request.to} ${money(request.amount)}: refused ${outcome.code} (${outcome.message})`)
    }

    log('')
    log("Phase 3: carol's next write fails; she crashes and her supervisor restarts her")
    store.failNextSave('carol')
    const crashReceipt = await transfer({ from: 'alice', to: 'carol', amount: 10_000 })
    log(`  ${describe(crashReceipt)}`)
    const carolPath = paths['carol'] as string
    const carolRestarted = restarted.includes(carolPath)
    log(`  ${carolPath} crashed with ${crashed.get(carolPath) ?? 'nothing?'}; restarted: ${carolRestarted ? 'yes' : 'no'}`)
    const after = await transfer({ from: 'alice', to: 'carol', amount: 10_000 })
    const carol = await bank.accounts().ask('get', 'carol')
    log(`  ${describe(after)}; carol now holds ${money(await carol.ask('balance'))}`)

    log('')
    log("Phase 4: dave's next write takes 300 ms; the deposit step times out after 50 ms")
    store.delayNextSave('dave', 300)
    const timeoutReceipt = await transfer({ from: 'erin', to: 'dave', amount: 5_000, timeoutMs: 50 })
    log(`  ${describe(timeoutReceipt)}`)

    log('')
    log('Audit')
    const summary = await bank.auditor().ask('summary')
    log(`  periodic checks so far: ${summary.checks} (${summary.imbalances} unbalanced, ${summary.skipped} skipped)`)
    const audit = await bank.auditor().ask('check')
    const stats = await transfers.ask('stats')
    const snapshot = await bank.accounts().ask('snapshot')
    log(`  final check: ${audit.accounts} accounts hold ${money(audit.total)}, expected ${money(audit.expected)}: ${audit.balanced ? 'balanced' : 'UNBALANCED'}`)
    log(`  transfers: ${stats.completed} completed, ${stats.refused} refused, ${stats.failed} failed, ${stats.compensated} compensated, ${stats.unsettled.length} unsettled`)
    log(`  balances: ${Object.entries(snapshot.balances).map(([id, cents]) => `${id} ${money(cents)}`).join(', ')}`)
    const letterText = Object.entries(deadLetters).map(([reason, n]) => `${reason} × ${n}`).join(', ')
    log(`  dead letters: ${letterText === '' ? 'none' : letterText}`)

    return {
      opened: OPENING,
      random: { completed, failures: randomFailures },
      refused: refusals,
      crash: { receipt: crashReceipt, path: carolPath, restarted: carolRestarted, after },
      timeout: timeoutReceipt,
      audit,
      auditor: summary,
      stats,
      balances: snapshot.balances,
      deadLetters: { ...deadLetters },
    }
  } finally {
    lifecycle.unsubscribe()
    letters.unsubscribe()
  }
}
