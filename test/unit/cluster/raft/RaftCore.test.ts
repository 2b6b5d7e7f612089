import { describe, expect, test } from 'vitest'
import { RaftCore, RaftInvalidOptionsError, RaftNotLeaderError, type RaftDurableState, type RaftMessage } from '../../../../cluster/raft/index.ts'
import { SeededRandom } from '../../../../runtime/index.ts'

const empty: RaftDurableState = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] }
const config = { voters: ['a', 'b', 'c'], learners: [] }
function core(id: string, options: Partial<ConstructorParameters<typeof RaftCore>[0]> = {}, durable = empty) {
  return new RaftCore({ id, electionTicks: 10, heartbeatTicks: 1, random: new SeededRandom(7), initialConfig: config, ...options }, durable)
}
function drain(c: RaftCore): RaftMessage[] {
  const rd = c.ready()
  c.advance(rd)
  return [...rd.messages]
}

/* etcd/raft paper tests (raft_paper_test.go), written from the paper's rules. */
describe('RaftCore (paper rules)', () => {
  test('a follower campaigns after a timeout in [et, 2et) ticks, with PreVote first', () => {
    const timeouts = new Set<number>()
    for (let seed = 1; seed < 50; seed++) {
      const c = new RaftCore({ id: 'a', electionTicks: 10, heartbeatTicks: 1, random: new SeededRandom(seed), initialConfig: config }, empty)
      let ticks = 0
      while (c.role === 'follower') {
        c.tick()
        ticks++
      }
      expect(ticks).toBeGreaterThanOrEqual(10)
      expect(ticks).toBeLessThan(20)
      timeouts.add(ticks)
      expect(c.role).toBe('preCandidate')
      expect(c.term).toBe(0)
    }
    expect(timeouts.size).toBeGreaterThan(5)
  })

  test('one vote per term; a vote goes only to an up-to-date log', () => {
    const c = core('a', {}, { hardState: { term: 2, votedFor: null }, snapshot: null, entries: [{ index: 1, term: 2, type: 'noop' as const, data: new Uint8Array(0) }] })
    c.step({ kind: 'vote', from: 'b', to: 'a', term: 3, preVote: false, transfer: false, lastIndex: 1, lastTerm: 1 })
    let out = drain(c)
    expect(out).toMatchObject([{ kind: 'voteResponse', to: 'b', granted: false, term: 3 }])
    c.step({ kind: 'vote', from: 'b', to: 'a', term: 3, preVote: false, transfer: false, lastIndex: 1, lastTerm: 2 })
    out = drain(c)
    expect(out).toMatchObject([{ kind: 'voteResponse', to: 'b', granted: true }])
    c.step({ kind: 'vote', from: 'c', to: 'a', term: 3, preVote: false, transfer: false, lastIndex: 5, lastTerm: 3 })
    out = drain(c)
    expect(out).toMatchObject([{ kind: 'voteResponse', to: 'c', granted: false }])
    expect(c.votedFor).toBe('b')
  })

  test('a leader commits an old-term entry only through an entry of its own term (Figure 8)', () => {
    const c = core('a', { preVote: false }, { hardState: { term: 2, votedFor: null }, snapshot: null, entries: [{ index: 1, term: 1, type: 'command' as const, data: new Uint8Array([1]) }] })
    c.campaign()
    drain(c)
    c.step({ kind: 'voteResponse', from: 'b', to: 'a', term: 3, preVote: false, granted: true })
    expect(c.role).toBe('leader')
    drain(c)
    // b acknowledges only index 1 (term 1): not committed by counting.
    c.step({ kind: 'appendResponse', from: 'b', to: 'a', term: 3, reject: false, index: 1, hintIndex: 0, hintTerm: 0 })
    expect(c.log.committed).toBe(0)
    // b acknowledges the no-op of term 3: both commit.
    c.step({ kind: 'appendResponse', from: 'b', to: 'a', term: 3, reject: false, index: 2, hintIndex: 0, hintTerm: 0 })
    expect(c.log.committed).toBe(2)
  })

  test('a follower truncates a conflicting suffix and answers rejections with a term hint', () => {
    const entries = [1, 1, 2, 2, 2].map((term, i) => ({ index: i + 1, term, type: 'command' as const, data: new Uint8Array(0) }))
    const c = core('b', {}, { hardState: { term: 3, votedFor: null }, snapshot: null, entries })
    c.step({ kind: 'append', from: 'a', to: 'b', term: 3, prevIndex: 5, prevTerm: 3, entries: [], commit: 0 })
    expect(drain(c)).toMatchObject([{ kind: 'appendResponse', reject: true, index: 5, hintIndex: 5, hintTerm: 2 }])
    c.step({ kind: 'append', from: 'a', to: 'b', term: 3, prevIndex: 2, prevTerm: 1, entries: [{ index: 3, term: 3, type: 'command', data: new Uint8Array(0) }], commit: 3 })
    expect(drain(c)).toMatchObject([{ kind: 'appendResponse', reject: false, index: 3 }])
    expect(c.log.lastIndex).toBe(3)
    expect(c.log.committed).toBe(3)
  })

  test('proposals on a follower are refused with ERR_RAFT_NOT_LEADER; bad options with ERR_RAFT_INVALID_OPTIONS', () => {
    expect(() => core('a').propose(new Uint8Array(0))).toThrow(RaftNotLeaderError)
    expect(() => core('a', { heartbeatTicks: 10 })).toThrow(RaftInvalidOptionsError)
  })
})
