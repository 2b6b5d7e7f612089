import { describe, expect, test } from 'vitest'
import { eachSeed } from './support.ts'

/* MIT 6.5840 3A, etcd/raft paper tests: elections, re-elections, vote rules, PreVote, CheckQuorum. */
describe('raft elections (3A)', () => {
  test('initial election: one leader, all agree on the term, economy ≤ 30 messages', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.runUntil(() => c.nodes.every((n) => c.state(n)?.leaderId === leader))
      const terms = new Set(c.nodes.map((n) => c.state(n)?.term))
      expect(terms.size).toBe(1)
      // Electing (pre-votes, votes, the no-op and its commit) stays small.
      expect(c.totalSent(['vote', 'voteResponse', 'append', 'appendResponse'])).toBeLessThanOrEqual(30)
      // No term churn while nothing fails.
      const term = c.state(leader)?.term
      await c.advance(2000)
      expect(c.leader()).toBe(leader)
      expect(c.state(leader)?.term).toBe(term)
    })
  })

  test('idle leadership costs ≤ 60 messages per second for 3 nodes', async () => {
    await eachSeed({}, async (c) => {
      await c.waitForLeader()
      await c.advance(500)
      const before = c.totalSent()
      await c.advance(5000)
      expect((c.totalSent() - before) / 5).toBeLessThanOrEqual(60)
    })
  })

  test('re-election after the leader disconnects; the old leader rejoins as follower', async () => {
    await eachSeed({}, async (c) => {
      const l1 = await c.waitForLeader()
      c.disconnect(l1)
      await c.runUntil(() => c.leaders().some((l) => l !== l1 && (c.state(l)?.term ?? 0) > (c.state(l1)?.term ?? 0)))
      c.connect(l1)
      const l2 = await c.waitForLeader()
      expect(l2).not.toBe(l1)
      await c.runUntil(() => c.state(l1)?.role === 'follower' && c.state(l1)?.leaderId === l2)
      // No quorum: no leader.
      const others = c.nodes.filter((n) => n !== l2)
      c.disconnect(l2)
      c.disconnect(others[0] as string)
      await c.advance(2000)
      const survivors = c.nodes.filter((n) => n !== l2 && n !== others[0])
      expect(survivors.every((n) => c.state(n)?.role !== 'leader')).toBe(true)
      c.heal()
      await c.waitForLeader()
    })
  })

  test('election timeouts are drawn in [et, 2et): spread, not lockstep', async () => {
    const firsts: number[] = []
    await eachSeed({ nodes: 5 }, async (c) => {
      await c.waitForLeader()
      firsts.push(c.sim.now)
    })
    // A leader appears after one timeout (300–600 ms) plus round trips in almost every seed.
    const within = firsts.filter((t) => t >= 300 && t < 1300).length
    expect(within / firsts.length).toBeGreaterThan(0.95)
    const distinct = new Set(firsts.map((t) => Math.floor(t / 10)))
    expect(distinct.size).toBeGreaterThan(10)
  })

  test('PreVote: a rejoining partitioned node does not raise the term or depose the leader', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.runUntil(() => c.nodes.every((n) => c.state(n)?.leaderId === leader))
      const term = c.state(leader)?.term as number
      const f = c.nodes.find((n) => n !== leader) as string
      c.disconnect(f)
      await c.advance(3000)
      expect(c.state(f)?.term).toBe(term)
      c.connect(f)
      await c.advance(1000)
      expect(c.leader()).toBe(leader)
      expect(c.state(leader)?.term).toBe(term)
    })
  })

  test('without PreVote and CheckQuorum a rejoining node disrupts (the switch works)', async () => {
    let disrupted = 0
    await eachSeed({ preVote: false, checkQuorum: false }, async (c) => {
      const leader = await c.waitForLeader()
      const term = c.state(leader)?.term as number
      const f = c.nodes.find((n) => n !== leader) as string
      c.disconnect(f)
      await c.advance(2000)
      c.connect(f)
      await c.waitForLeader()
      await c.advance(1000)
      if ((c.state(leader)?.term as number) > term) disrupted++
    }, 20)
    expect(disrupted).toBeGreaterThan(0)
  })

  test('CheckQuorum: a leader cut off from the majority steps down within an election timeout', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      c.disconnect(leader)
      const t0 = c.sim.now
      await c.runUntil(() => c.state(leader)?.role !== 'leader', 2000)
      expect(c.sim.now - t0).toBeLessThanOrEqual(2 * 600 + 50)
    })
  })

  test('one-way vote path: a node that can send but not hear does not take over', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      const f = c.nodes.find((n) => n !== leader) as string
      c.partitionOneWay(c.nodes.filter((n) => n !== f), [f])
      await c.advance(3000)
      // The others keep their leader (lease), whatever f does.
      expect(c.state(leader)?.role).toBe('leader')
      c.heal()
      await c.waitForLeader()
      await c.one('after')
    })
  })

  test('forced campaign moves leadership; stale-term and forged messages are ignored', async () => {
    await eachSeed({ checkQuorum: false }, async (c) => {
      const leader = await c.waitForLeader()
      const term = c.state(leader)?.term as number
      const f = c.nodes.find((n) => n !== leader) as string
      // A stale append from an old term, and a vote request with an out-of-date log.
      c.inject({ kind: 'append', from: f, to: leader, term: term - 1 < 0 ? 0 : term - 1, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 })
      c.inject({ kind: 'vote', from: f, to: leader, term, preVote: false, transfer: false, lastIndex: 0, lastTerm: 0 })
      c.injectBytes(f, leader, new Uint8Array([1, 0, 255, 255, 255, 255]))
      await c.advance(500)
      expect(c.leader()).toBe(leader)
      expect(c.counters(leader).malformed).toBe(1)
      c.campaign(f)
      await c.runUntil(() => c.leader() !== null && (c.state(c.leader() as string)?.term as number) > term)
      await c.one('x')
    })
  })
})
