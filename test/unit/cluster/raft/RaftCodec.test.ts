import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { RaftCodec, RaftMalformedMessageError, type RaftMessage } from '../../../../cluster/raft/index.ts'

const codec = new RaftCodec()
const entry = (index: number, term: number) => ({ index, term, type: 'command' as const, data: new Uint8Array([index & 255]) })

const samples: RaftMessage[] = [
  { kind: 'append', from: 'a', to: 'b', term: 3, prevIndex: 4, prevTerm: 2, commit: 4, entries: [entry(5, 2), entry(6, 3)] },
  { kind: 'appendResponse', from: 'b', to: 'a', term: 3, reject: true, index: 4, hintIndex: 2, hintTerm: 1 },
  { kind: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 7, context: 2 },
  { kind: 'heartbeatResponse', from: 'b', to: 'a', term: 3, context: 2 },
  { kind: 'vote', from: 'c', to: 'a', term: 4, preVote: true, transfer: false, lastIndex: 9, lastTerm: 3 },
  { kind: 'voteResponse', from: 'a', to: 'c', term: 4, preVote: true, granted: true },
  { kind: 'snapshot', from: 'a', to: 'b', term: 3, index: 10, snapshotTerm: 2, config: { voters: ['a', 'b'], learners: ['c'] }, offset: 0, total: 3, data: new Uint8Array([1, 2, 3]) },
  { kind: 'snapshotResponse', from: 'b', to: 'a', term: 3, index: 10, next: 3 },
  { kind: 'timeoutNow', from: 'a', to: 'b', term: 3 },
]

describe('RaftCodec', () => {
  test('round-trips every message kind', () => {
    for (const m of samples) expect(codec.decode(codec.encode(m))).toEqual(m)
    for (const m of samples) expect(RaftCodec.kindOf(codec.encode(m))).toBe(m.kind)
  })

  test('every truncation of a valid message is refused with ERR_RAFT_MALFORMED_MESSAGE', () => {
    for (const m of samples) {
      const bytes = codec.encode(m)
      for (let n = 0; n < bytes.length; n++) expect(() => codec.decode(bytes.subarray(0, n))).toThrow(RaftMalformedMessageError)
      const longer = new Uint8Array(bytes.length + 1)
      longer.set(bytes)
      expect(() => codec.decode(longer)).toThrow(RaftMalformedMessageError)
    }
  })

  test('random bytes and random corruption never crash the decoder: a message or a typed error', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: samples.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.uint8Array({ maxLength: 64 }), (i, flips, junk) => {
        const bytes = codec.encode(samples[i] as RaftMessage)
        for (const [at, v] of flips) bytes[at % bytes.length] = v
        for (const input of [bytes, junk]) {
          try {
            codec.decode(input)
          } catch (error) {
            expect(error).toBeInstanceOf(RaftMalformedMessageError)
            expect((error as RaftMalformedMessageError).code).toBe('ERR_RAFT_MALFORMED_MESSAGE')
          }
        }
      }),
      { numRuns: 2000 },
    )
  })

  test('refuses impossible fields: terms above the message term, huge counts, bad configs', () => {
    const bad: RaftMessage[] = [
      { kind: 'append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 2, commit: 0, entries: [] },
      { kind: 'append', from: 'a', to: 'b', term: 3, prevIndex: 0, prevTerm: 0, commit: 0, entries: [entry(1, 3), entry(2, 2)] },
      { kind: 'vote', from: 'a', to: 'b', term: 1, preVote: false, transfer: false, lastIndex: 1, lastTerm: 5 },
      { kind: 'snapshot', from: 'a', to: 'b', term: 3, index: 1, snapshotTerm: 1, config: { voters: ['a', 'a'], learners: [] }, offset: 0, total: 1, data: new Uint8Array(1) },
      { kind: 'snapshot', from: 'a', to: 'b', term: 3, index: 1, snapshotTerm: 1, config: { voters: ['a'], learners: [] }, offset: 5, total: 1, data: new Uint8Array(1) },
    ]
    for (const m of bad) expect(() => codec.decode(codec.encode(m))).toThrow(RaftMalformedMessageError)
    // An entry count far beyond what the bytes can hold is refused before allocating.
    const m = codec.encode({ kind: 'append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [] })
    const view = new DataView(m.buffer, m.byteOffset)
    view.setUint32(m.length - 4, 60_000, true)
    expect(() => codec.decode(m)).toThrow(/cannot fit/)
  })
})
