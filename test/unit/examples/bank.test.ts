import { fc, test as propertyTest } from '@fast-check/vitest'
import { afterEach, describe, expect, it } from 'vitest'
import { ActorSystem, decodeError, ErrorCodes, LifecycleTopic, Rejection, SeededRandom, type LifecycleEvent } from '../../../runtime/index.ts'
import { SupervisorEventTopic, type SupervisorEvent } from '../../../supervision/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { startBank, type Bank, type BankOptions } from '../../../examples/bank/app.ts'
import { BankErrorCodes, InsufficientFundsError, UnknownAccountError } from '../../../examples/bank/errors.ts'
import { MemoryStore } from '../../../examples/bank/MemoryStore.ts'
import { runScenario } from '../../../examples/bank/scenario.ts'
import type { TransferReceipt } from '../../../examples/bank/Transfers.ts'

const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((system) => system.terminate()))
})

async function bankOn(options: Omit<BankOptions, 'store'> = {}, seed = 1): Promise<{ system: ActorSystem; bank: Bank; store: MemoryStore }> {
  const system = ActorSystem.create({ name: 'bank-test', random: new SeededRandom(seed) })
  systems.push(system)
  const store = new MemoryStore(system.clock)
  const bank = await startBank(system, { ...options, store })
  return { system, bank, store }
}

function failure(receipt: TransferReceipt): { code: string; compensated: boolean } {
  if (receipt.status !== 'failed') throw new Error(`expected a failed transfer, got ${JSON.stringify(receipt)}`)
  return { code: receipt.error.code, compensated: receipt.compensated }
}

describe('bank example', () => {
  it('runs the scripted scenario: money is conserved, failures are typed, the crashed account is restarted', async () => {
    const { system, bank, store } = await bankOn({ auditIntervalMs: 10 })
    const supervision: SupervisorEvent[] = []
    system.subscribe(SupervisorEventTopic, (event) => supervision.push(event))

    const result = await runScenario(system, bank, store, { seed: 7, transfers: 300, concurrency: 10, log: () => {} })

    // Conservation: every check balanced, the final one included, and nothing is left unsettled.
    const opened = Object.values(result.opened).reduce((sum, cents) => sum + cents, 0)
    expect(result.audit).toMatchObject({ balanced: true, total: opened, expected: opened, accounts: 8 })
    expect(Object.values(result.balances).reduce((sum, cents) => sum + cents, 0)).toBe(opened)
    expect(result.auditor.checks).toBeGreaterThan(0)
    expect(result.auditor.imbalances).toBe(0)
    expect(result.stats.unsettled).toEqual([])

    // Random transfers only ever fail for want of funds.
    const randomFailed = Object.values(result.random.failures).reduce((sum, n) => sum + n, 0)
    expect(result.random.completed + randomFailed).toBe(300)
    expect(Object.keys(result.random.failures)).toEqual(randomFailed === 0 ? [] : [BankErrorCodes.InsufficientFunds])

    // Refusals reject the ask with stable codes, move nothing, and rebuild into their typed Rejections.
    expect(result.refused.map((refusal) => refusal.code)).toEqual([
      BankErrorCodes.UnknownAccount,
      BankErrorCodes.InvalidAmount,
      BankErrorCodes.InvalidAmount,
      BankErrorCodes.InsufficientFunds,
    ])
    const [unknown, , , insufficient] = result.refused
    expect(unknown && decodeError(unknown)).toBeInstanceOf(UnknownAccountError)
    expect(insufficient && decodeError(insufficient)).toBeInstanceOf(InsufficientFundsError)
    expect(insufficient && decodeError(insufficient)).toBeInstanceOf(Rejection)
    expect(result.stats.refused).toBeGreaterThanOrEqual(4)

    // The storage fault crashed carol mid-transfer: compensated, restarted in place, usable again.
    expect(failure(result.crash.receipt)).toEqual({ code: BankErrorCodes.StorageFailure, compensated: true })
    expect(result.crash.restarted).toBe(true)
    expect(supervision).toContainEqual(expect.objectContaining({ type: 'child-restarted', childId: result.crash.path.split('/').pop() }))
    expect(result.crash.after.status).toBe('completed')

    // The slow deposit timed out; both sides were reversed (the deposit once it finally landed).
    expect(failure(result.timeout)).toEqual({ code: ErrorCodes.AskTimeout, compensated: true })

    // The only dead letters: the message that crashed carol, and dave's reply after the timeout.
    // Refusals crash nothing.
    expect(result.deadLetters).toEqual({ failed: 1, 'late-reply': 1 })

    await system.terminate()
    expect(system.failure).toBeNull()
  })

  it('an idle account passivates; the directory forgets it (death watch) and restarts it on demand with its balance', async () => {
    const { system, bank } = await bankOn({ passivateAfterMs: 20, auditIntervalMs: 60_000 })
    const stopped: LifecycleEvent[] = []
    system.subscribe(LifecycleTopic, (event) => {
      if (event.event === 'stopped') stopped.push(event)
    })
    const accounts = bank.accounts()
    const first = await accounts.ask('open', 'ann', 5_000)
    await accounts.ask('open', 'ben', 0)
    expect(await bank.transfers().ask('transfer', { from: 'ann', to: 'ben', amount: 1_200 })).toMatchObject({ status: 'completed' })

    await waitFor(() => stopped.some((event) => event.ref.equals(first)), { message: 'ann passivates' })
    expect(await accounts.ask('running')).not.toContain('ann')

    const second = await accounts.ask('get', 'ann')
    expect(second.equals(first)).toBe(false)
    expect(await second.ask('balance')).toBe(3_800)
    // A transfer to a passivated account starts it again too.
    expect(await bank.transfers().ask('transfer', { from: 'ann', to: 'ben', amount: 800 })).toMatchObject({ status: 'completed' })
    expect((await accounts.ask('snapshot')).balances).toEqual({ ann: 3_000, ben: 2_000 })
  })

  it('a reversal that arrives before its step voids it, so the late step is refused', async () => {
    const { bank } = await bankOn()
    const account = await bank.accounts().ask('open', 'cy', 1_000)
    expect(await account.ask('reverse', 'tx-late')).toBe(1_000)
    await expect(account.ask('withdraw', 'tx-late', 500)).rejects.toMatchObject({ code: BankErrorCodes.TransactionVoided })
    // Retrying an applied step is a no-op (idempotent by transaction id).
    expect(await account.ask('deposit', 'tx-1', 250)).toBe(1_250)
    expect(await account.ask('deposit', 'tx-1', 250)).toBe(1_250)
  })

  it('opening an account twice is refused with ERR_ACCOUNT_EXISTS', async () => {
    const { bank } = await bankOn()
    await bank.accounts().ask('open', 'dee', 100)
    await expect(bank.accounts().ask('open', 'dee', 100)).rejects.toMatchObject({ code: BankErrorCodes.AccountExists })
  })

  const ids = ['a', 'b', 'c', 'd'] as const
  const request = fc.record({
    from: fc.constantFrom(...ids, 'nobody'),
    to: fc.constantFrom(...ids),
    amount: fc.oneof(fc.integer({ min: 1, max: 3_000 }), fc.constant(0)),
  })

  propertyTest.prop([fc.array(request, { maxLength: 40 }), fc.uniqueArray(fc.constantFrom(...ids), { maxLength: 2 })], { numRuns: 15 })(
    'whatever fails (refusals, storage crashes), balances are the openings plus the completed transfers',
    async (requests, faulty) => {
      const { system, bank, store } = await bankOn({ auditIntervalMs: 60_000 })
      const expected: Record<string, number> = {}
      for (const id of ids) {
        await bank.accounts().ask('open', id, 2_000)
        expected[id] = 2_000
      }
      for (const id of faulty) store.failNextSave(id)
      // A refused transfer rejects its ask; only completed receipts moved money.
      const receipts = await Promise.all(requests.map((r) => bank.transfers().ask('transfer', r).catch(() => null)))
      for (const receipt of receipts) {
        if (receipt?.status !== 'completed') continue
        expected[receipt.from] = (expected[receipt.from] ?? 0) - receipt.amount
        expected[receipt.to] = (expected[receipt.to] ?? 0) + receipt.amount
      }
      expect((await bank.accounts().ask('snapshot')).balances).toEqual(expected)
      expect((await bank.auditor().ask('check')).balanced).toBe(true)
      expect((await bank.transfers().ask('stats')).unsettled).toEqual([])
      await system.terminate()
    },
  )
})
