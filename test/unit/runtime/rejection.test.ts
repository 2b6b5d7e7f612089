import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, decodeError, defineRejection, encodeError, LifecycleTopic, Rejection, type DeadLetter, type LifecycleEvent } from '../../../runtime/index.ts'

const InsufficientFunds = defineRejection('ERR_TEST_INSUFFICIENT_FUNDS', 'InsufficientFunds')

interface WalletProtocol {
  withdraw(amount: number): number
  withdrawLater(amount: number): Promise<number>
  balance(): number
}
class Wallet extends Actor<WalletProtocol> implements WalletProtocol {
  private cents = 100
  withdraw(amount: number) {
    if (amount > this.cents) throw new InsufficientFunds(`cannot withdraw ${amount}`, { data: { balance: this.cents } })
    this.cents -= amount
    return this.cents
  }
  async withdrawLater(amount: number) {
    await Promise.resolve()
    return this.withdraw(amount)
  }
  balance() {
    return this.cents
  }
}

const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})

describe('Rejection', () => {
  it('rejects the ask and leaves the actor running with its state (sync and async handlers)', async () => {
    const system = ActorSystem.create({ name: 'reject' })
    systems.push(system)
    const lifecycle: LifecycleEvent[] = []
    system.subscribe(LifecycleTopic, (e) => lifecycle.push(e))
    const wallet = system.spawn(Wallet)
    expect(await wallet.ask('withdraw', 30)).toBe(70)
    await expect(wallet.ask('withdraw', 500)).rejects.toMatchObject({ code: 'ERR_TEST_INSUFFICIENT_FUNDS', data: { balance: 70 } })
    await expect(wallet.ask('withdrawLater', 500)).rejects.toBeInstanceOf(InsufficientFunds)
    expect(await wallet.ask('balance')).toBe(70)
    expect(lifecycle.filter((e) => e.event === 'failed' || e.event === 'restarted')).toEqual([])
  })

  it('a rejected tell becomes a dead letter with reason rejected, not a failure', async () => {
    const system = ActorSystem.create({ name: 'reject-tell' })
    systems.push(system)
    const dead: DeadLetter[] = []
    system.deadLetters.subscribe((d) => dead.push(d))
    const wallet = system.spawn(Wallet)
    wallet.tell('withdraw', 1000)
    expect(await wallet.ask('balance')).toBe(100)
    expect(dead.map((d) => [d.reason, d.error?.name])).toEqual([['rejected', 'InsufficientFunds']])
  })

  it('is rebuilt from its code after crossing a boundary', () => {
    const decoded = decodeError(encodeError(new InsufficientFunds('no', { data: { balance: 1 } })))
    expect(decoded).toBeInstanceOf(InsufficientFunds)
    expect(decoded).toBeInstanceOf(Rejection)
    expect(decoded.data).toEqual({ balance: 1 })
  })
})
