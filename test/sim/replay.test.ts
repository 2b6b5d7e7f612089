/**
 * Replay from a decision file: a run records every scheduler decision; the file alone (it carries
 * the seed for the world's own streams) replays the run step for step, failure included.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../runtime/index.ts'
import { decodeDecisions, encodeDecisions, SimulatedCluster, Simulation } from '../../testing/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'troupe-replay-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface BankProtocol {
  deposit(account: string, amount: number): number
}
class Bank extends Actor<BankProtocol> implements BankProtocol {
  readonly balances = new Map<string, number>()
  deposit(account: string, amount: number): number {
    const next = (this.balances.get(account) ?? 0) + amount
    this.balances.set(account, next)
    return next
  }
}

class Teller extends Actor<{ run(n: number): Promise<void> }> {
  private readonly bank: ActorRef<BankProtocol>
  private readonly log: string[]
  constructor(bank: ActorRef<BankProtocol>, log: string[]) {
    super()
    this.bank = bank
    this.log = log
  }
  async run(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      try {
        const balance = await this.bank.askWith({ timeoutMs: 40 }, 'deposit', this.context.system.node, 1 + i)
        this.log.push(`${this.context.system.node}:${balance}`)
      } catch {
        this.log.push(`${this.context.system.node}:timeout`)
      }
    }
  }
}

async function scenario(sim: Simulation): Promise<string[]> {
  const log: string[] = []
  new SimulatedCluster(sim, {
    nodes: ['bank', 't1', 't2', 't3'],
    network: { latency: { minMs: 1, maxMs: 20 }, loss: 0.05, duplication: 0.05 },
    boot(system, _durable, node) {
      if (node.name === 'bank') {
        system.spawn(Bank, { name: 'bank' })
        return
      }
      const bank = node.cluster.lookup<BankProtocol>('bank', '/user/bank', node.name) as ActorRef<BankProtocol>
      system.spawn(Teller, { name: 'teller', args: [bank, log] }).tell('run', 25)
    },
  })
  await sim.runUntilIdle()
  return log
}

describe('replay from a decision file', () => {
  it('replays a recorded run exactly: same trace hash, same outcome', async () => {
    const recorded = new Simulation({ seed: 77, record: true })
    const log = await scenario(recorded)
    expect(log.length).toBe(75)
    const file = join(dir, 'run-77.json')
    writeFileSync(file, encodeDecisions(recorded.decisions()))

    const replay = decodeDecisions(readFileSync(file, 'utf8'))
    expect(replay.seed).toBe(77)
    const replayed = new Simulation({ replay })
    expect(await scenario(replayed)).toEqual(log)
    expect(replayed.traceHash).toBe(recorded.traceHash)
    expect(replayed.steps).toBe(recorded.steps)
  })

  it('replays a PCT run to the same outcome (a failure reads the same)', async () => {
    const failing = async (sim: Simulation): Promise<void> => {
      const log = await scenario(sim)
      if (log.filter((l) => l.endsWith('timeout')).length > 0) throw new Error(`timeouts: ${log.filter((l) => l.endsWith('timeout')).join(',')}`)
    }
    const recorded = new Simulation({ seed: 3, record: true, strategy: { kind: 'pct', depth: 3 } })
    const first = await failing(recorded).then(() => 'passed', (e: Error) => e.message)
    const replayed = new Simulation({ replay: decodeDecisions(encodeDecisions(recorded.decisions())) })
    expect(await failing(replayed).then(() => 'passed', (e: Error) => e.message)).toBe(first)
    expect(replayed.traceHash).toBe(recorded.traceHash)
  })
})
