import { describe, expect, test } from 'vitest'
import type { LogEntry, RaftEvent } from '../../../cluster/raft/index.ts'
import { RaftInvariants, type DurableView, type InvariantWorld } from '../../../testing/index.ts'

/* The checker is only worth something if it catches violations: feed it broken histories. */
const e = (index: number, term: number, byte = 0): LogEntry => ({ index, term, type: 'command', data: new Uint8Array([byte]) })

function world(durable: Record<string, DurableView> = {}, logs: Record<string, LogEntry[]> = {}, commits: Record<string, number> = {}): InvariantWorld {
  const empty: DurableView = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] }
  return {
    log: (n) => ({ snapshotIndex: 0, snapshotTerm: 0, entries: logs[n] ?? [] }),
    durable: (n) => durable[n] ?? empty,
    voters: () => ['a', 'b', 'c'],
    nodes: () => ['a', 'b', 'c'],
    commitIndex: (n) => commits[n] ?? 0,
  }
}

function feed(w: InvariantWorld, events: RaftEvent[]): string | null {
  const inv = new RaftInvariants(w)
  for (const ev of events) inv.on(ev)
  return inv.violation
}

describe('RaftInvariants catches broken histories', () => {
  test('two leaders in one term', () => {
    expect(feed(world(), [
      { type: 'role', node: 'a', role: 'leader', term: 2, leaderId: 'a' },
      { type: 'role', node: 'b', role: 'leader', term: 2, leaderId: 'b' },
    ])).toMatch(/election safety/)
  })

  test('two votes in one term, and a term going backwards', () => {
    expect(feed(world(), [
      { type: 'persist', node: 'a', hardState: { term: 3, votedFor: 'b' }, entries: [], snapshot: null },
      { type: 'persist', node: 'a', hardState: { term: 3, votedFor: 'c' }, entries: [], snapshot: null },
    ])).toMatch(/voted for b and then c/)
    expect(feed(world(), [
      { type: 'persist', node: 'a', hardState: { term: 3, votedFor: null }, entries: [], snapshot: null },
      { type: 'persist', node: 'a', hardState: { term: 2, votedFor: null }, entries: [], snapshot: null },
    ])).toMatch(/persisted term 2 after term 3/)
  })

  test('different entries applied at one index; a gap in applying', () => {
    const d: DurableView = { hardState: { term: 1, votedFor: null }, snapshot: null, entries: [e(1, 1), e(2, 1)] }
    const w = world({ a: d, b: d, c: d })
    expect(feed(w, [
      { type: 'apply', node: 'a', entry: e(1, 1, 7) },
      { type: 'apply', node: 'b', entry: e(1, 1, 8) },
    ])).toMatch(/state machine safety/)
    expect(feed(w, [{ type: 'apply', node: 'a', entry: e(2, 1) }])).toMatch(/applied 2 after 0/)
  })

  test('applying an entry only one of three fsynced', () => {
    const w = world({ a: { hardState: { term: 1, votedFor: null }, snapshot: null, entries: [e(1, 1)] } })
    expect(feed(w, [{ type: 'apply', node: 'a', entry: e(1, 1) }])).toMatch(/stored on only 1 of 3/)
  })

  test('a commit index only the leader\'s memory and one follower hold (leader counted its unfsynced write)', () => {
    const d: DurableView = { hardState: { term: 1, votedFor: null }, snapshot: null, entries: [e(1, 1)] }
    const inv = new RaftInvariants(world({ b: d }, { a: [e(1, 1)] }, { a: 1 }))
    inv.checkCommits()
    expect(inv.violation).toMatch(/commit index 1 \(term 1\) stored on only 1 of 3/)
    const ok = new RaftInvariants(world({ a: d, b: d }, { a: [e(1, 1)] }, { a: 1 }))
    ok.checkCommits()
    expect(ok.violation).toBeNull()
  })

  test('an append sent at a term not yet fsynced', () => {
    const d: DurableView = { hardState: { term: 2, votedFor: 'a' }, snapshot: null, entries: [] }
    expect(feed(world({ a: d }), [{ type: 'send', node: 'a', message: { kind: 'append', from: 'a', to: 'b', term: 3, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 } }])).toMatch(/append at term 3 before fsyncing that term/)
    expect(feed(world({ a: d }), [{ type: 'send', node: 'a', message: { kind: 'vote', from: 'a', to: 'b', term: 3, preVote: true, transfer: false, lastIndex: 0, lastTerm: 0 } }])).toBeNull()
  })

  test('a vote granted before it was fsynced', () => {
    expect(feed(world(), [{ type: 'send', node: 'a', message: { kind: 'voteResponse', from: 'a', to: 'b', term: 4, preVote: false, granted: true } }])).toMatch(/before fsyncing/)
  })

  test('a leader missing a committed entry; a leader rewriting its log; log matching', () => {
    const d: DurableView = { hardState: { term: 1, votedFor: null }, snapshot: null, entries: [e(1, 1)] }
    expect(feed(world({ a: d, b: d, c: d }, { a: [e(1, 1)], b: [] }), [
      { type: 'apply', node: 'a', entry: e(1, 1) },
      { type: 'role', node: 'b', role: 'leader', term: 2, leaderId: 'b' },
    ])).toMatch(/leader completeness/)
    expect(feed(world({}, { a: [e(1, 2), e(2, 2)] }), [
      { type: 'role', node: 'a', role: 'leader', term: 2, leaderId: 'a' },
      { type: 'persist', node: 'a', hardState: null, entries: [e(1, 2), e(2, 2)], snapshot: null },
      { type: 'persist', node: 'a', hardState: null, entries: [e(2, 2, 9)], snapshot: null },
    ])).toMatch(/rewrote its log/)
    expect(feed(world({}, { a: [e(1, 1), e(2, 2)], b: [e(1, 2), e(2, 2)] }), [
      { type: 'persist', node: 'a', hardState: null, entries: [e(2, 2)], snapshot: null },
      { type: 'persist', node: 'b', hardState: null, entries: [e(2, 2)], snapshot: null },
    ])).toMatch(/log matching/)
  })
})
