/**
 * Routers and pools, Akka's RoutingSpec cases through the public API on a virtual clock: routers are
 * refs typed with the routee protocol, distribution of round-robin and random within a χ² bound,
 * consistent hashing that remaps at most 1/N of the keys when a routee joins, load-aware logics,
 * broadcast, scatter-gather and tail-chopping under timeouts, pools that supervise their routees,
 * groups fed by a RouteeSource.
 */
import { describe, expect, it } from 'vitest'
import { Actor, DeadLetterTopic, errorCode, SeededRandom, type ActorRef, type DeadLetter } from '../../../runtime/index.ts'
import {
  broadcast,
  consistentHashing,
  powerOfTwoChoices,
  randomRouting,
  RouteeSet,
  roundRobin,
  scatterGatherFirstCompleted,
  smallestMailbox,
  spawnGroup,
  spawnPool,
  staticRoutees,
  tailChopping,
} from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { Gate, testSystem } from './helpers.ts'

interface WorkerProtocol {
  work(key: string): void
  whoAmI(): string
  /** Answers after `delayMs` of virtual time, or never when negative. */
  slow(delayMs: number): Promise<string>
  block(gate: Gate): Promise<void>
  crash(): void
  sender(): void
}

/** Records every message it handles in a shared log: `<name> <key>`. */
class Worker extends Actor<WorkerProtocol> implements WorkerProtocol {
  private readonly log: string[]
  constructor(log: string[]) {
    super()
    this.log = log
  }
  work(key: string): void {
    this.log.push(`${this.context.name} ${key}`)
  }
  whoAmI(): string {
    return this.context.name
  }
  slow(delayMs: number): Promise<string> {
    if (delayMs < 0) return new Promise(() => {})
    return new Promise((resolve) => this.context.system.clock.setTimer(delayMs, () => resolve(this.context.name)))
  }
  block(gate: Gate): Promise<void> {
    return gate.wait()
  }
  crash(): void {
    throw new Error('boom')
  }
  sender(): void {
    this.log.push(`${this.context.name} from ${this.context.sender?.path ?? 'nobody'}`)
  }
}

class Client extends Actor<{ send(to: ActorRef<WorkerProtocol>): void }> {
  send(to: ActorRef<WorkerProtocol>): void {
    to.tell('sender')
  }
}

const countBy = (log: readonly string[]) => {
  const counts = new Map<string, number>()
  for (const line of log) {
    const name = line.split(' ')[0] as string
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  return counts
}

/** Pearson's χ² of observed counts against a uniform expectation. */
function chiSquared(counts: readonly number[], total: number): number {
  const expected = total / counts.length
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0)
}
// χ² critical value for 7 degrees of freedom at p = 0.001.
const CHI2_7DF_P001 = 24.32

describe('routers as refs', () => {
  it('a pool router is a ref typed with the routee protocol: tell, ask, sender kept, messages sent before its routees start kept in order', async () => {
    const t = testSystem()
    const log: string[] = []
    const router = spawnPool(t.system, { routee: { actor: Worker, args: [log] }, size: 3, logic: roundRobin() }, { name: 'pool' })
    for (let i = 0; i < 6; i++) router.tell('work', `m${i}`) // before the routees exist
    expect(await router.ask('whoAmI')).toMatch(/^routee-\d$/)
    await waitFor(() => log.length === 6)
    // Each exactly once, round-robin, and in send order at each routee.
    expect(log.map((l) => l.split(' ')[1]).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5'])
    const byRoutee = new Map<string, string[]>()
    for (const [name, key] of log.map((l) => l.split(' ') as [string, string])) byRoutee.set(name, [...(byRoutee.get(name) ?? []), key])
    expect([...byRoutee.values()].sort()).toEqual([['m0', 'm3'], ['m1', 'm4'], ['m2', 'm5']])
    expect(router.routees).toHaveLength(3)
    expect(router.path).toBe('/user/pool')
    const client = t.system.spawn(Client, { name: 'client' })
    client.tell('send', router)
    await waitFor(() => log.some((l) => l.includes(' from ')))
    expect(log.find((l) => l.includes(' from '))).toMatch(/from \/user\/client$/)
    expect(await router.control.ask('$routees')).toHaveLength(3)
  })

  it('a pool supervises its routees: a crashed one restarts in place, one that stops comes back as a new routee', async () => {
    const t = testSystem()
    const log: string[] = []
    const router = spawnPool(t.system, { routee: { actor: Worker, args: [log] }, size: 2, logic: roundRobin(), intensity: 5 })
    await waitFor(() => router.routees.length === 2)
    const [first] = router.routees
    ;(first as ActorRef<WorkerProtocol>).tell('crash')
    await t.waitForEvents('child-restarted', 1)
    expect(router.routees[0]?.equals(first)).toBe(true)
    t.system.stop(first as ActorRef<WorkerProtocol>) // an exit it did not choose: permanent, started anew
    await t.waitForEvents('child-restarted', 2)
    await waitFor(() => router.routees.length === 2 && !router.routees.some((r) => r.equals(first)))
    expect(await router.ask('whoAmI')).toMatch(/^routee-/)
  })

  it('a group router routes to existing refs, leaves out one that stopped, and follows its RouteeSet', async () => {
    const t = testSystem()
    const log: string[] = []
    const a = t.system.spawn(Worker, { name: 'a', args: [log] })
    const b = t.system.spawn(Worker, { name: 'b', args: [log] })
    const set = new RouteeSet([a, b])
    const router = spawnGroup(t.system, { routees: set, logic: roundRobin() })
    expect([await router.ask('whoAmI'), await router.ask('whoAmI')].sort()).toEqual(['a', 'b'])
    await t.system.stop(a)
    await waitFor(() => router.routees.length === 1)
    expect(await router.ask('whoAmI')).toBe('b')
    const c = t.system.spawn(Worker, { name: 'c', args: [log] })
    set.add(c)
    expect(router.routees.map((r) => r.path)).toEqual(['/user/b', '/user/c'])
  })

  it('no routees: an ask rejects with ERR_NO_ROUTEES, a tell becomes a dead letter', async () => {
    const t = testSystem()
    const dead: DeadLetter[] = []
    t.system.subscribe(DeadLetterTopic, (d) => dead.push(d))
    const router = spawnGroup<WorkerProtocol>(t.system, { routees: staticRoutees([]), logic: roundRobin() })
    expect(errorCode(await router.ask('whoAmI').catch((e: unknown) => e))).toBe('ERR_NO_ROUTEES')
    router.tell('work', 'x')
    expect(dead.map((d) => [d.reason, d.envelope.method])).toEqual([['undeliverable', 'work']])
  })
})

describe('distribution', () => {
  function group(seed: number) {
    const t = testSystem({ random: new SeededRandom(seed) })
    const log: string[] = []
    const workers = Array.from({ length: 8 }, (_, i) => t.system.spawn(Worker, { name: `w${i}`, args: [log] }))
    return { ...t, log, workers }
  }

  it('round-robin: exactly even, χ² = 0', async () => {
    const { system, log, workers } = group(1)
    const router = spawnGroup(system, { routees: staticRoutees(workers), logic: roundRobin() })
    for (let i = 0; i < 8000; i++) router.tell('work', String(i))
    await waitFor(() => log.length === 8000)
    const counts = [...countBy(log).values()]
    expect(counts).toEqual(Array(8).fill(1000))
    expect(chiSquared(counts, 8000)).toBe(0)
  })

  it('random: uniform within the χ² bound (7 df, p = 0.001), drawn from the injected Random', async () => {
    for (const seed of [1, 2, 3]) {
      const { system, log, workers } = group(seed)
      const router = spawnGroup(system, { routees: staticRoutees(workers), logic: randomRouting() })
      for (let i = 0; i < 8000; i++) router.tell('work', String(i))
      await waitFor(() => log.length === 8000)
      const counts = [...countBy(log).values()]
      expect(counts).toHaveLength(8)
      expect(chiSquared(counts, 8000)).toBeLessThan(CHI2_7DF_P001)
    }
  })

  it('consistent hashing: same key, same routee; adding a routee remaps at most 1/N of the keys, all to it; removing one moves only its keys', () => {
    const { system, workers } = group(1)
    const logic = consistentHashing({ key: (_method, args) => args[0] as string })
    const random = new SeededRandom(0)
    const keys = Array.from({ length: 10_000 }, (_, i) => `key-${i}`)
    const five = workers.slice(0, 5)
    const six = workers.slice(0, 6)
    const before = keys.map((k) => logic.select('work', [k], five, random))
    expect(keys.map((k) => logic.select('work', [k], five, random))).toEqual(before)
    const after = keys.map((k) => logic.select('work', [k], six, random))
    const moved = keys.filter((_, i) => !after[i]?.equals(before[i]))
    expect(moved.length / keys.length).toBeLessThanOrEqual(1 / five.length)
    expect(moved.length).toBeGreaterThan(0)
    expect(keys.every((_, i) => after[i]?.equals(before[i]) || after[i]?.equals(six[5]))).toBe(true)
    // Removing w2: only the keys it owned move.
    const without = [...six.slice(0, 2), ...six.slice(3)]
    const removed = keys.map((k) => logic.select('work', [k], without, random))
    expect(keys.every((_, i) => removed[i]?.equals(after[i]) || after[i]?.equals(six[2]))).toBe(true)
    void system
  })

  it('smallest mailbox and power of two choices prefer the routee with the shorter queue', async () => {
    for (const logic of [smallestMailbox(), powerOfTwoChoices()]) {
      const { system, log, workers } = group(7)
      const [busy, idle] = workers as [ActorRef<WorkerProtocol>, ActorRef<WorkerProtocol>]
      const gate = new Gate()
      busy.tell('block', gate)
      for (let i = 0; i < 5; i++) busy.tell('work', 'queued')
      const router = spawnGroup(system, { routees: staticRoutees([busy, idle]), logic })
      for (let i = 0; i < 4; i++) router.tell('work', `r${i}`)
      await waitFor(() => log.filter((l) => l.startsWith('w1 ')).length === 4)
      gate.open()
      await waitFor(() => log.length === 9)
      expect(log.filter((l) => l.startsWith('w0 r'))).toEqual([])
    }
  })

  it('broadcast: every routee gets every message', async () => {
    const { system, log, workers } = group(1)
    const router = spawnGroup(system, { routees: staticRoutees(workers.slice(0, 3)), logic: broadcast() })
    router.tell('work', 'all')
    await waitFor(() => log.length === 3)
    expect(log.sort()).toEqual(['w0 all', 'w1 all', 'w2 all'])
  })
})

describe('asking many routees', () => {
  it('scatter-gather under timeouts: first completed within withinMs, AskTimeoutError when none answers in time', async () => {
    const t = testSystem()
    const log: string[] = []
    const delays = new Map([['w0', 300], ['w1', 100], ['w2', -1]])
    class Delayed extends Worker {
      override slow(): Promise<string> {
        return super.slow(delays.get(this.context.name) as number)
      }
    }
    const workers = ['w0', 'w1', 'w2'].map((name) => t.system.spawn(Delayed, { name, args: [log] }))
    const router = spawnGroup(t.system, { routees: staticRoutees(workers), logic: scatterGatherFirstCompleted({ withinMs: 500 }) })
    let result: unknown = null
    void router.ask('slow', 0).then((v) => (result = v))
    await settle()
    t.clock.advance(100)
    await waitFor(() => result !== null)
    expect(result).toBe('w1')
    t.clock.advance(1000) // w0's late reply is dropped
    await settle()
    expect(result).toBe('w1')

    delays.set('w0', -1).set('w1', -1).set('w2', 800)
    let error: unknown = null
    void router.ask('slow', 0).catch((e: unknown) => (error = e))
    await settle()
    t.clock.advance(500)
    await waitFor(() => error !== null)
    expect(errorCode(error)).toBe('ERR_ASK_TIMEOUT')
  })

  it('tail-chopping: asks one routee, then another every interval, until one answers', async () => {
    const t = testSystem({ random: new SeededRandom(5) })
    const asked: string[] = []
    class Chopped extends Worker {
      override slow(): Promise<string> {
        asked.push(this.context.name)
        // Only the last one asked ever answers.
        return super.slow(asked.length === 3 ? 10 : -1)
      }
    }
    const workers = ['w0', 'w1', 'w2'].map((name) => t.system.spawn(Chopped, { name, args: [[]] }))
    const router = spawnGroup(t.system, { routees: staticRoutees(workers), logic: tailChopping({ withinMs: 1000, intervalMs: 100 }) })
    let result: unknown = null
    void router.ask('slow', 0).then((v) => (result = v))
    await waitFor(() => asked.length === 1)
    t.clock.advance(100)
    await waitFor(() => asked.length === 2)
    t.clock.advance(100)
    await waitFor(() => asked.length === 3)
    t.clock.advance(10)
    await waitFor(() => result !== null)
    expect(result).toBe(asked[2])
    expect(new Set(asked).size).toBe(3)
  })
})
