import { describe, expect, test } from 'vitest'
import type { LogEntry } from '../../../cluster/raft/index.ts'
import type { RaftTestCluster } from '../../../testing/index.ts'
import { eachSeed } from './support.ts'

const enc = new TextEncoder()

/**
 * Raft §7: a follower that receives a snapshot whose last entry (index, term) is in its log keeps the
 * entries after it and drops only the prefix; otherwise it drops the whole log. The leader here never
 * sends such a snapshot on its own (it snapshots only followers that lack its snapshot's index), so
 * the scenario is a late InstallSnapshot: the follower has meanwhile stored a longer log but not yet
 * learned that it is committed (the leader's commit-carrying messages to it are lost).
 */
async function lateSnapshot(c: RaftTestCluster): Promise<void> {
  await c.waitForLeader()
  const leader = c.leader() as string
  const f = c.nodes.find((n) => n !== leader) as string
  const base = await c.one('start', 3)
  await c.waitApplied(base)
  // f stores new entries but never hears that they are committed.
  const off = c.filter({ from: leader, to: f, kinds: ['append', 'heartbeat'], when: (m) => (m.kind === 'append' || m.kind === 'heartbeat') && m.commit > base })
  let last = 0
  for (let i = 0; i < 12; i++) last = c.propose(leader, `a${i}`).index
  await c.runUntil(() => c.state(leader)!.appliedIndex >= last && c.state(f)!.lastIndex >= last, 5000).catch((e) => { console.log(JSON.stringify({ base, last, l: c.state(leader), f: c.state(f) })); throw e })
  // Somewhere strictly inside f's log, so that a suffix follows it.
  const at = base + 1 + Math.floor(c.sim.random.next() * (last - base - 1))
  const log = c.log(leader)!
  const entry = log.entries.find((e: LogEntry) => e.index === at) as LogEntry
  const snapshotTerm = entry.term
  const data = enc.encode(JSON.stringify(c.applied(leader).filter((a) => a.index <= at)))
  let seen: { first: number | undefined; last: number } | null = null
  const unsubscribe = c.subscribe((e) => {
    if (e.type !== 'applySnapshot' || e.node !== f || e.index !== at) return
    const l = c.log(f)!
    seen = { first: l.entries[0]?.index, last: l.snapshotIndex + l.entries.length }
  })
  const term = c.state(leader)!.term
  c.inject({ kind: 'snapshot', from: leader, to: f, term, index: at, snapshotTerm, config: { voters: c.nodes, learners: [] }, offset: 0, total: data.length, data })
  await c.runUntil(() => seen !== null, 2000)
  unsubscribe()
  const s = seen as unknown as { first: number | undefined; last: number }
  expect(s.first).toBe(at + 1)
  expect(s.last).toBe(last)
  // A crash right after the install (or during the writes that follow) must load a consistent state.
  if (c.sim.random.next() < 0.5) {
    await c.advance(c.sim.random.next() * 3)
    c.crash(f)
    await c.restart(f)
  }
  off()
  const end = await c.one('end', 3, 20_000)
  await c.waitApplied(end)
  expect(c.applied(f).map((a) => a.command)).toEqual(c.applied(c.leader() as string).map((a) => a.command))
}

describe('raft InstallSnapshot keeps a matching suffix (Raft §7)', () => {
  test('a late snapshot inside a longer follower log: the suffix after it stays, the prefix goes', async () => {
    await eachSeed({}, (c) => lateSnapshot(c))
  })
})
