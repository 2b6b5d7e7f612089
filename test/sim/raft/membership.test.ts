import { describe, expect, test } from 'vitest'
import { RaftConfigChangePendingError, RaftTransferInProgressError } from '../../../cluster/raft/index.ts'
import { eachSeed } from './support.ts'

/* 3D snapshots, membership changes (thesis ch. 4, hashicorp), leadership transfer (etcd), ReadIndex. */
describe('raft snapshots, membership, transfer, reads (3D)', () => {
  test('snapshots: a lagging follower catches up by chunked InstallSnapshot, across crashes', async () => {
    await eachSeed({ snapshotEvery: 10, snapshotChunkBytes: 64 }, async (c) => {
      const leader = await c.waitForLeader()
      const f = c.nodes.find((n) => n !== leader) as string
      c.disconnect(f)
      let last = 0
      for (let i = 0; i < 25; i++) last = c.propose(leader, `s${i}`).index
      await c.waitApplied(last, c.nodes.filter((n) => n !== f))
      expect(c.log(leader)?.snapshotIndex).toBeGreaterThan(0)
      c.crash(f)
      await c.restart(f)
      c.connect(f)
      const idx = await c.one('after', 3)
      await c.waitApplied(idx)
      expect(c.applied(f).map((a) => a.command)).toEqual(c.applied(c.leader() as string).map((a) => a.command))
      expect(c.counters(f).received.snapshot?.count ?? 0).toBeGreaterThan(1)
      // A restarted node rebuilds its state machine from its own snapshot.
      await c.restart(f)
      await c.waitApplied(idx, [f])
      expect(c.applied(f).map((a) => a.command)).toContain('s24')
    })
  })

  test('add a learner, catch it up, promote it; remove a follower under load', async () => {
    await eachSeed({}, async (c) => {
      let leader = await c.waitForLeader()
      await c.one('x')
      await c.addNode('n4')
      await c.sim.settle(c.raft(leader)!.addLearner('n4'))
      for (let i = 0; i < 5; i++) c.propose(leader, `load${i}`)
      await c.runUntil(() => (c.state('n4')?.appliedIndex ?? 0) >= (c.state(leader)?.commitIndex ?? 1))
      // Learners do not vote: the quorum is still 2 of 3.
      expect(c.state(leader)?.config.learners).toEqual(['n4'])
      // Promotion is refused (retriable) until the leader has seen the learner catch up.
      for (;;) {
        try {
          await c.sim.settle(c.raft(leader)!.promote('n4'))
          break
        } catch (error) {
          if (!(error instanceof RaftConfigChangePendingError)) throw error
          await c.advance(50)
        }
      }
      leader = await c.waitForLeader()
      expect(c.state(leader)?.config.voters).toContain('n4')
      const victim = c.nodes.find((n) => n !== leader && n !== 'n4') as string
      await c.sim.settle(c.raft(leader)!.removeServer(victim))
      expect(c.state(leader)?.config.voters).not.toContain(victim)
      await c.one('after-remove', 3)
    })
  })

  test('one change at a time; a change waits for the first commit of the term', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('x')
      await c.addNode('n4')
      await c.addNode('n5')
      const first = c.raft(leader)!.addLearner('n4')
      await expect(c.raft(leader)!.addLearner('n5')).rejects.toBeInstanceOf(RaftConfigChangePendingError)
      await c.sim.settle(first)
      await c.sim.settle(c.raft(leader)!.addLearner('n5'))
    })
  })

  test('removing the leader: it commits the change, then steps down; a new leader carries on', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('x')
      await c.sim.settle(c.raft(leader)!.removeServer(leader))
      await c.runUntil(() => c.leaders().some((l) => l !== leader))
      const rest = c.nodes.filter((n) => n !== leader)
      await c.one('after', 2)
      expect(c.state(c.leader() as string)?.config.voters.slice().sort()).toEqual(rest.sort())
      // The removed server, cut off, cannot disrupt the rest.
      c.disconnect(leader)
      await c.advance(3000)
      c.connect(leader)
      const l = c.leader() as string
      const term = c.state(l)?.term
      await c.advance(2000)
      expect(c.state(l)?.term).toBe(term)
    })
  })

  test('leadership transfer: catches the target up, moves leadership, proposals meanwhile are retriable errors', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('x')
      const target = c.nodes.find((n) => n !== leader) as string
      const done = c.raft(leader)!.transferLeadership(target)
      expect(() => c.propose(leader, 'during')).toThrow(RaftTransferInProgressError)
      await c.sim.settle(done)
      await c.runUntil(() => c.leader() === target)
      await c.one('y')
    })
  })

  test('leadership transfer to an unreachable target aborts after an election timeout', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('x')
      const target = c.nodes.find((n) => n !== leader) as string
      c.disconnect(target)
      const done = c.raft(leader)!.transferLeadership(target)
      await expect(c.sim.settle(done)).rejects.toThrow(/did not take over/)
      expect(c.state(leader)?.role).toBe('leader')
      c.connect(target)
      await c.one('y')
    })
  })

  test('ReadIndex: reads on the leader see every acknowledged write; a deposed leader cannot serve', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      const idx = await c.one('w1')
      const read = await c.sim.settle(c.raft(leader)!.read())
      expect(read).toBeGreaterThanOrEqual(idx)
      expect(c.applied(leader).map((a) => a.command)).toContain('w1')
      // Cut off: the read cannot be confirmed, and fails once leadership is lost.
      c.disconnect(leader)
      const stale = c.raft(leader)!.read()
      await expect(c.sim.settle(stale, 5000)).rejects.toThrow()
      c.connect(leader)
      await c.waitForLeader()
    })
  })

  test('lease reads (option): no heartbeat round while the lease holds; a cut-off leader never answers after another leader exists', async () => {
    await eachSeed({ leaseReads: true }, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('w')
      await c.advance(150)
      const before = c.totalSent(['heartbeat'])
      const t0 = c.sim.now
      await c.sim.settle(c.raft(leader)!.read())
      // Answered at once, without a heartbeat round.
      expect(c.sim.now).toBe(t0)
      expect(c.totalSent(['heartbeat'])).toBe(before)
      let elected = Infinity
      c.subscribe((e) => {
        if (e.type === 'role' && e.role === 'leader' && e.node !== leader && elected === Infinity) elected = e.at
      })
      c.disconnect(leader)
      const answered: number[] = []
      for (let i = 0; i < 25 && c.state(leader)?.role === 'leader'; i++) {
        c.raft(leader)!.read().then(() => answered.push(c.sim.now), () => {})
        await c.advance(25)
      }
      await c.runUntil(() => elected < Infinity, 5000)
      for (const t of answered) expect(t).toBeLessThan(elected)
      c.connect(leader)
      await c.one('after')
    })
  })

  test('graceful stop of the leader hands leadership over: a new leader well within an election timeout', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('x')
      const term = c.state(leader)?.term as number
      const t0 = c.sim.now
      const stopping = c.raft(leader)!.stop({ closeStorage: false })
      await c.runUntil(() => c.leaders().some((l) => l !== leader), 2000)
      expect(c.sim.now - t0).toBeLessThan(300)
      const next = c.leaders().find((l) => l !== leader) as string
      expect(c.state(next)?.term).toBe(term + 1)
      await c.sim.settle(stopping)
      await c.one('after', 2)
    })
  })
})
