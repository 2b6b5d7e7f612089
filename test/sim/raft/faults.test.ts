import { describe, expect, test } from 'vitest'
import { RaftInvalidConfigChangeError, type LogEntry } from '../../../cluster/raft/index.ts'
import { RaftTestCluster, Simulation } from '../../../testing/index.ts'
import { eachSeed } from './support.ts'

/* Slow peers, slow vote paths, economy, determinism, seeded logs, pauses, transfer edge cases. */
describe('raft under slow peers and seeded state', () => {
  test('a slow follower never delays commits: the others carry on at wire speed', async () => {
    await eachSeed({ nodes: 5 }, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('warm', 5)
      const slow = c.nodes.find((n) => n !== leader) as string
      c.filter({ kinds: ['append'], to: slow, delayMs: 3000 })
      const t0 = c.sim.now
      const r = c.propose(leader, 'fast')
      await c.runUntil(() => (c.state(leader)?.commitIndex ?? 0) >= r.index, 1000)
      // Reliable wire: 1–5 ms a hop, 1 ms fsync; a few round trips at most.
      expect(c.sim.now - t0).toBeLessThan(50)
    })
  })

  test('each entry goes to each follower about once (entries carried by appends)', async () => {
    await eachSeed({}, async (c) => {
      await c.waitForLeader()
      await c.one('warm')
      let carried = 0
      c.subscribe((ev) => {
        if (ev.type === 'send' && ev.message.kind === 'append') carried += ev.message.entries.length
      })
      const leader = c.leader() as string
      let last = 0
      for (let i = 0; i < 50; i++) {
        last = c.propose(leader, `e${i}`).index
        if (i % 10 === 9) await c.advance(3)
      }
      await c.waitApplied(last)
      // 50 entries × 2 followers; allow a little for a probe resend.
      expect(carried).toBeGreaterThanOrEqual(100)
      expect(carried).toBeLessThanOrEqual(110)
    })
  })

  test('slow vote paths: votes and vote replies of one node take 400 ms, a leader still emerges and serves', async () => {
    await eachSeed({}, async (c) => {
      c.filter({ kinds: ['vote', 'voteResponse'], from: 'n1', delayMs: 400 })
      c.filter({ kinds: ['vote', 'voteResponse'], to: 'n1', delayMs: 400 })
      await c.waitForLeader(20_000)
      await c.one('x', 3, 20_000)
    })
  })

  test('a long pause of the leader (GC, frozen VM): a new leader; the old one steps down on resume', async () => {
    await eachSeed({}, async (c) => {
      const l1 = await c.waitForLeader()
      await c.one('a')
      c.pause(l1)
      await c.runUntil(() => c.leaders().some((l) => l !== l1))
      await c.one('b', 2)
      c.resume(l1)
      await c.runUntil(() => c.state(l1)?.role === 'follower')
      await c.one('c')
    })
  })

  test('seeded durable state: only a server with every committed entry can be elected', async () => {
    await eachSeed({ start: false }, async (c) => {
      const log = (terms: number[]): LogEntry[] => terms.map((term, i) => ({ index: i + 1, term, type: 'command', data: new Uint8Array([i]) }))
      // n1 and n2 hold [1,1,2] (committed on a majority); n3 holds only [1].
      await c.seed('n1', { hardState: { term: 2, votedFor: 'n1' }, entries: log([1, 1, 2]) })
      await c.seed('n2', { hardState: { term: 2, votedFor: 'n1' }, entries: log([1, 1, 2]) })
      await c.seed('n3', { hardState: { term: 2, votedFor: 'n1' }, entries: log([1]) })
      await c.start()
      const leader = await c.waitForLeader()
      expect(leader).not.toBe('n3')
      await c.one('after')
      expect(c.log('n3')?.entries.slice(0, 3).map((e) => e.term)).toEqual([1, 1, 2])
    })
  })

  test('leadership transfer to a lagging target catches it up first; to a non-voter is refused', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      const target = c.nodes.find((n) => n !== leader) as string
      c.disconnect(target)
      let last = 0
      for (let i = 0; i < 10; i++) last = c.propose(leader, `t${i}`).index
      await c.waitApplied(last, c.nodes.filter((n) => n !== target))
      c.connect(target)
      await c.sim.settle(c.raft(leader)!.transferLeadership(target))
      await c.runUntil(() => c.leader() === target)
      expect(c.applied(target).map((a) => a.command)).toContain('t9')
      await expect(c.raft(target)!.transferLeadership('nobody')).rejects.toBeInstanceOf(RaftInvalidConfigChangeError)
    })
  })

  test('snapshot transfer survives a crash of the receiver mid-way and of the leader', async () => {
    await eachSeed({ snapshotEvery: 5, snapshotChunkBytes: 16 }, async (c) => {
      const leader = await c.waitForLeader()
      const f = c.nodes.find((n) => n !== leader) as string
      c.disconnect(f)
      let last = 0
      for (let i = 0; i < 12; i++) last = c.propose(leader, `p${i}`).index
      await c.waitApplied(last, c.nodes.filter((n) => n !== f))
      c.connect(f)
      await c.runUntil(() => (c.counters(f).received.snapshot?.count ?? 0) > 0, 5000)
      c.crash(f)
      await c.advance(50)
      await c.restart(f)
      if (c.sim.random.next() < 0.5) {
        c.crash(leader)
        await c.advance(c.sim.random.next() * 300)
        await c.restart(leader)
      }
      await c.one('end', 3, 20_000)
      expect(c.applied(f).map((a) => a.command)).toContain('p11')
    })
  })

  test('determinism: the same seed gives the same trace hash and the same logs', async () => {
    const run = async (seed: number) => {
      const sim = new Simulation({ seed })
      const c = await RaftTestCluster.create(sim, { nodes: 5, profile: 'unreliable' })
      await c.waitForLeader(20_000)
      for (let i = 0; i < 5; i++) await c.one(`d${i}`, 5, 20_000)
      c.crash(c.leader() as string)
      await c.waitForLeader(20_000)
      return { hash: c.trace(), logs: c.nodes.map((n) => JSON.stringify(c.applied(n))) }
    }
    for (const seed of [1, 2, 3, 4, 5]) {
      const a = await run(seed)
      const b = await run(seed)
      expect(b).toEqual(a)
    }
    expect((await run(1)).hash).not.toBe((await run(2)).hash)
  })
})
