import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../runtime/index.ts'
import { ActorTestKit, findFailingSeed, forEachSeed } from '../../testing/index.ts'
import { fingerprint, type Fingerprint } from './support/fingerprint.ts'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('./support/fingerprint.ts', import.meta.url))
const SEEDS = [1, 42, 0xdeadbeef]

describe('determinism', () => {
  it('the same seed gives the same trace hash, run after run', async () => {
    for (const seed of SEEDS) {
      const first = await fingerprint(seed)
      expect(first.steps).toBeGreaterThan(500)
      expect(first.writes).toBeGreaterThan(10)
      expect(await fingerprint(seed)).toEqual(first)
    }
  })

  it('the same seed gives the same trace hash in another process', async () => {
    const here = await Promise.all(SEEDS.map((seed) => fingerprint(seed)))
    const { stdout } = await run(process.execPath, ['--import', 'tsx', SCRIPT, ...SEEDS.map(String)], { cwd: process.cwd(), timeout: 60_000 })
    const there = JSON.parse(stdout) as Fingerprint[]
    expect(there).toEqual(here)
  })

  it('different seeds give different runs', async () => {
    const hashes = new Set<string>()
    for (let seed = 100; seed < 110; seed++) hashes.add((await fingerprint(seed)).hash)
    expect(hashes.size).toBe(10)
  })
})

interface AccountProtocol {
  balance(): number
  set(value: number): void
}
class Account extends Actor<AccountProtocol> implements AccountProtocol {
  private value = 0
  balance(): number {
    return this.value
  }
  set(value: number): void {
    this.value = value
  }
}
interface DepositorProtocol {
  deposit(account: ActorRef<AccountProtocol>, amount: number): Promise<void>
}
/** Read-modify-write over two messages: correct alone, racy when two depositors interleave. */
class Depositor extends Actor<DepositorProtocol> implements DepositorProtocol {
  async deposit(account: ActorRef<AccountProtocol>, amount: number): Promise<void> {
    const balance = await account.ask('balance')
    account.tell('set', balance + amount)
  }
}

describe('interleavings', () => {
  const depositTwice = (seed: number) => async (): Promise<number> => {
    const kit = ActorTestKit.create({ seed })
    const account = kit.spawn(Account)
    const a = kit.spawn(Depositor)
    const b = kit.spawn(Depositor)
    a.tell('deposit', account, 10)
    b.tell('deposit', account, 5)
    await kit.runUntilIdle()
    return kit.ask(account, 'balance')
  }

  it('a seed search finds the lost-update race between two depositors, and the seed replays it', async () => {
    const found = await findFailingSeed({ seeds: 50 }, async (sim) => {
      const balance = await depositTwice(sim.seed)()
      if (balance !== 15) throw new Error(`balance is ${balance}, expected 15`)
    })
    expect(found).not.toBeNull()
    expect(found?.tried).toBeLessThanOrEqual(50)
    const replayed = await depositTwice(found?.seed as number)()
    expect(replayed).not.toBe(15)
    expect(await depositTwice(found?.seed as number)()).toBe(replayed)
  })

  it('some seeds see no race at all: the scheduler really explores', async () => {
    const balances = new Set<number>()
    await forEachSeed({ seeds: 30 }, async (sim) => void balances.add(await depositTwice(sim.seed)()))
    expect(balances.has(15)).toBe(true)
    expect([...balances].some((b) => b !== 15)).toBe(true)
  })
})
