import { describe, expect, test } from 'vitest'
import { eachSeed } from './support.ts'

/* MIT 6.5840 3B/3C, etcd/raft, hashicorp/raft fuzzy: agreement, failures, rejoin, backup, persistence, Figure 8, churn. */
describe('raft replication and persistence (3B/3C)', () => {
  test('basic agreement; each entry reaches each follower about once', async () => {
    await eachSeed({}, async (c) => {
      await c.waitForLeader()
      await c.advance(200)
      const before = c.nodes.map((n) => c.counters(n).sent.append?.count ?? 0)
      for (let i = 0; i < 5; i++) await c.one(`cmd${i}`)
      // Appends that carry entries: at most a few per entry per follower (entries + commit notice).
      let carried = 0
      for (const n of c.nodes) carried += c.counters(n).received.append?.count ?? 0
      expect(carried - before.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5 * 2 * 3)
    })
  })

  test('agreement despite a disconnected follower; no agreement without a majority; recovery', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('101')
      const f = c.nodes.find((n) => n !== leader) as string
      c.disconnect(f)
      await c.one('102', 2)
      await c.one('103', 2)
      c.connect(f)
      await c.one('104')
      // Without a majority nothing commits.
      const l = c.leader() as string
      const others = c.nodes.filter((n) => n !== l)
      for (const o of others) c.disconnect(o)
      const r = c.propose(l, 'lost?')
      await c.advance(1000)
      expect(c.state(l)?.commitIndex).toBeLessThan(r.isLeader ? r.index : Infinity)
      c.heal()
      await c.one('105')
    })
  })

  test('concurrent proposals all commit in one order everywhere', async () => {
    await eachSeed({}, async (c) => {
      const leader = await c.waitForLeader()
      const indexes = []
      for (let i = 0; i < 20; i++) indexes.push(c.propose(leader, `c${i}`).index)
      await c.waitApplied(Math.max(...indexes))
      const logs = c.nodes.map((n) => c.applied(n).map((a) => a.command).join(','))
      expect(new Set(logs).size).toBe(1)
    })
  })

  test('rejoin of a partitioned leader with a divergent suffix', async () => {
    await eachSeed({}, async (c) => {
      const l1 = await c.waitForLeader()
      await c.one('101')
      c.disconnect(l1)
      for (let i = 0; i < 3; i++) c.propose(l1, `stale${i}`)
      await c.runUntil(() => c.leaders().some((l) => l !== l1))
      await c.one('103', 2)
      const l2 = c.leaders().find((l) => l !== l1) as string
      c.disconnect(l2)
      c.connect(l1)
      await c.one('104', 2)
      c.connect(l2)
      await c.one('105')
      expect(c.applied(l1).some((a) => a.command.startsWith('stale'))).toBe(false)
    })
  })

  test('fast backup over long conflicting logs (O(terms) rejections)', async () => {
    await eachSeed({ nodes: 5 }, async (c) => {
      const leader = await c.waitForLeader()
      await c.one('start')
      const others = c.nodes.filter((n) => n !== leader)
      // Leader and one follower in a minority take 50 doomed entries.
      c.partition([leader, others[0] as string], others.slice(1))
      for (let i = 0; i < 50; i++) c.propose(leader, `doomed${i}`)
      await c.runUntil(() => c.leaders().some((l) => others.slice(1).includes(l)))
      for (let i = 0; i < 50; i++) {
        const l = c.leader()
        if (l !== null) c.propose(l, `good${i}`)
      }
      await c.advance(500)
      c.heal()
      const rejectsBefore = c.counters(leader).sent.appendResponse?.count ?? 0
      await c.one('end', 5, 20_000)
      expect(c.applied(leader).some((a) => a.command.startsWith('doomed'))).toBe(false)
      // Not one rejection per entry: hints skip whole terms.
      const rejects = (c.counters(leader).sent.appendResponse?.count ?? 0) - rejectsBefore
      expect(rejects).toBeLessThan(50)
    })
  })

  test('persistence: single crash, rolling majority crash, all crash', async () => {
    await eachSeed({}, async (c) => {
      await c.waitForLeader()
      await c.one('a')
      const l = c.leader() as string
      await c.restart(l)
      await c.one('b')
      for (const n of c.nodes) {
        await c.restart(n)
        await c.one(`roll-${n}`)
      }
      for (const n of c.nodes) c.crash(n)
      for (const n of c.nodes) await c.restart(n)
      await c.one('after-all')
      const cmds = c.applied(c.leader() as string).map((a) => a.command)
      expect(cmds).toEqual(expect.arrayContaining(['a', 'b', 'after-all']))
    })
  })

  test('Figure 8: crashes of the leader right after proposals never lose committed entries', async () => {
    await eachSeed({ nodes: 5 }, async (c) => {
      await c.waitForLeader()
      await c.one('seed')
      for (let iter = 0; iter < 8; iter++) {
        for (const n of c.nodes) if (c.state(n)?.role === 'leader') c.propose(n, `f8-${iter}`)
        const r = c.sim.random.next()
        await c.advance(r < 0.1 ? c.sim.random.next() * 500 : c.sim.random.next() * 13)
        const l = c.leader()
        if (l !== null) c.crash(l)
        const up = c.nodes.filter((n) => c.state(n) !== null)
        if (up.length < 3) {
          const down = c.nodes.filter((n) => c.state(n) === null)
          await c.restart(down[Math.floor(c.sim.random.next() * down.length)] as string)
        }
      }
      for (const n of c.nodes) if (c.state(n) === null) await c.restart(n)
      await c.one('final', 5, 20_000)
    })
  })

  test('Figure 8 unreliable: long reordering, churn of connectivity', async () => {
    await eachSeed({ nodes: 5 }, async (c) => {
      await c.waitForLeader()
      await c.one('first', 5)
      // Then the wire turns hostile: 2/3 of the frames arrive 0.2–2.2 s late, 10 % are lost.
      c.net('longReordering')
      for (let iter = 0; iter < 20; iter++) {
        const l = c.leader()
        if (l !== null) c.propose(l, `u${iter}`)
        await c.advance(c.sim.random.next() * 200)
        if (c.sim.random.next() < 0.3) c.disconnect(c.nodes[Math.floor(c.sim.random.next() * 5)] as string)
        if (c.sim.random.next() < 0.5) c.heal()
      }
      c.heal()
      c.net('reliable')
      await c.one('final', 5, 30_000)
    })
  })

  test('churn with live clients over an unreliable network (hashicorp fuzzy, 3C churn)', async () => {
    await eachSeed({ nodes: 5, profile: 'unreliable' }, async (c) => {
      await c.waitForLeader(20_000)
      for (let iter = 0; iter < 12; iter++) {
        for (let k = 0; k < 3; k++) {
          const l = c.leader()
          if (l !== null) c.propose(l, `ch${iter}-${k}`)
        }
        const victim = c.nodes[Math.floor(c.sim.random.next() * 5)] as string
        const r = c.sim.random.next()
        if (r < 0.3) c.crash(victim)
        else if (r < 0.5) c.disconnect(victim)
        else if (r < 0.6) c.pause(victim)
        await c.advance(100 + c.sim.random.next() * 300)
        for (const n of c.nodes) {
          if (c.state(n) === null && c.sim.random.next() < 0.5) await c.restart(n)
          c.resume(n)
        }
        if (c.sim.random.next() < 0.5) c.heal()
      }
      for (const n of c.nodes) if (c.state(n) === null) await c.restart(n)
      c.heal()
      c.net('reliable')
      await c.one('final', 5, 30_000)
    })
  })
})
