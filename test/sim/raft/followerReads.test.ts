import { describe, expect, test } from 'vitest'
import type { RaftTestCluster } from '../../../testing/index.ts'
import { eachSeed } from './support.ts'

const RETRIABLE = ['ERR_RAFT_READ_TIMEOUT', 'ERR_RAFT_READ_ABORTED', 'ERR_RAFT_NO_LEADER']

/** Settles a read on `node`: the index it resolved with, or the error code it rejected with. */
async function readOn(c: RaftTestCluster, node: string, maxMs = 5000): Promise<{ index: number } | { code: string }> {
  try {
    return { index: await c.sim.settle(c.raft(node)!.read(), maxMs) }
  } catch (error) {
    return { code: (error as { code?: string }).code ?? String(error) }
  }
}

/** Retries a read on `node` until it is confirmed (the retry loop a client runs on the retriable codes). */
async function readUntilConfirmed(c: RaftTestCluster, node: string): Promise<number> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const r = await readOn(c, node)
    if ('index' in r) return r.index
    expect(RETRIABLE).toContain(r.code)
    await c.advance(100)
  }
  throw new Error(`no read confirmed on ${node}`)
}

/* etcd forwards a follower's ReadIndex to the leader (MsgReadIndex/MsgReadIndexResp); the follower then waits until it applied that index. */
describe('raft follower reads (forwarded ReadIndex)', () => {
  test('a read on a follower sees every write acknowledged before it, even when the follower lags', async () => {
    await eachSeed({}, async (c) => {
      await c.waitForLeader()
      const leader = c.leader() as string
      const followers = c.nodes.filter((n) => n !== leader)
      for (let i = 0; i < 4; i++) {
        const f = followers[i % followers.length] as string
        // Slow the follower's appends so its state machine lags behind the acknowledgement.
        const off = c.filter({ from: leader, to: f, kinds: ['append', 'heartbeat'], delayMs: 20 + c.sim.random.next() * 60 })
        const idx = await c.one(`w${i}`, 1)
        const read = await readUntilConfirmed(c, f)
        off()
        expect(read).toBeGreaterThanOrEqual(idx)
        expect(c.applied(f).map((a) => a.command)).toContain(`w${i}`)
      }
      expect(c.counters(followers[0] as string).sent.readIndex?.count ?? 0).toBeGreaterThan(0)
    })
  })

  test('a follower on the minority side with the old leader never returns stale data; after the heal it reads the new writes', async () => {
    await eachSeed({ nodes: 5 }, async (c) => {
      await c.waitForLeader()
      const old = c.leader() as string
      const others = c.nodes.filter((n) => n !== old)
      const f = others[0] as string
      await c.one('before', 5)
      c.partition([old, f], others.slice(1))
      // The majority elects a leader and acknowledges a write the minority never sees.
      await c.runUntil(() => c.leaders().some((l) => l !== old && c.state(l)!.term > c.state(old)!.term), 10_000)
      const fresh = c.leaders().find((l) => l !== old) as string
      let acked = 0
      for (let attempt = 0; attempt < 20 && acked === 0; attempt++) {
        const r = c.propose(fresh, 'after')
        if (r.isLeader && (await c.sim.runFor(2000, () => c.countApplied(r.index, 'after') >= 1))) acked = r.index
      }
      expect(acked).toBeGreaterThan(0)
      // The minority follower's read goes to the old leader, which cannot confirm it with a quorum.
      const r = await readOn(c, f, 3000)
      if ('index' in r) throw new Error(`minority follower ${f} confirmed a read at ${r.index} after 'after' was acknowledged at ${acked}`)
      expect(RETRIABLE).toContain(r.code)
      expect(c.applied(f).map((a) => a.command)).not.toContain('after')
      c.heal()
      await readUntilConfirmed(c, f)
      expect(c.applied(f).map((a) => a.command)).toContain('after')
    })
  })

  test('no known leader: ERR_RAFT_NO_LEADER at once; the leader drops reads forwarded by a non-member', async () => {
    await eachSeed({}, async (c) => {
      const n = c.nodes[0] as string
      await expect(c.raft(n)!.read()).rejects.toMatchObject({ code: 'ERR_RAFT_NO_LEADER' })
      await c.waitForLeader()
      const leader = c.leader() as string
      const before = c.counters(leader).sent.readIndexResponse?.count ?? 0
      c.inject({ kind: 'readIndex', from: 'intruder', to: leader, term: c.state(leader)!.term, context: 1 })
      await c.advance(200)
      expect(c.counters(leader).sent.readIndexResponse?.count ?? 0).toBe(before)
    })
  })
})
