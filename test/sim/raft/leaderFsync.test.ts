import { describe, expect, test } from 'vitest'
import { eachSeed } from './support.ts'

/*
 * The leader's own fsync runs in parallel with replication (Raft thesis §10.2.1): it sends appends
 * first and counts itself toward the quorum only once its write is durable. The invariant checker
 * (apply only after a majority fsynced; acknowledged ⇒ durable; no message ahead of the fsynced term)
 * runs after every step.
 */
describe('raft: leader appends overlap its own fsync', () => {
  test('a slow leader disk does not delay commit while two followers store the entry', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('warm')
      c.slowDisk(leader, 200)
      const t0 = c.sim.now
      const r = c.propose(leader, 'fast')
      await c.runUntil(() => (c.state(leader)?.commitIndex ?? 0) >= r.index, 1000)
      // Reliable wire (1–5 ms a hop) and 1 ms follower fsyncs: committed long before the leader's 200 ms write.
      expect(c.sim.now - t0).toBeLessThan(100)
      await c.waitApplied(r.index)
    })
  })

  test('with one follower cut off, commit waits for the leader\'s own fsync', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('warm')
      const [f1] = c.nodes.filter((n) => n !== leader) as [string, string]
      c.filter({ kinds: ['append'], to: f1, delayMs: 5000 })
      c.slowDisk(leader, 200)
      const t0 = c.sim.now
      const r = c.propose(leader, 'needs-leader-disk')
      await c.runUntil(() => (c.state(leader)?.commitIndex ?? 0) >= r.index, 2000)
      // Only the leader and one follower hold it: a majority exists only once the leader's write is durable.
      expect(c.sim.now - t0).toBeGreaterThanOrEqual(200)
      expect(c.invariants.checked.applies).toBeGreaterThan(0)
    })
  })

  test('crashing a leader with a slow disk mid-write loses nothing committed', async () => {
    await eachSeed({ profile: 'unreliable' }, async (c) => {
      let leader = await c.waitForLeader()
      await c.one('warm')
      c.slowDisk(leader, 40)
      for (let i = 0; i < 10; i++) c.propose(leader, `w${i}`)
      await c.advance(Math.floor(c.sim.random.next() * 60))
      c.crash(leader)
      await c.advance(1000)
      await c.restart(leader)
      leader = await c.waitForLeader()
      await c.one('after')
    })
  })
})
