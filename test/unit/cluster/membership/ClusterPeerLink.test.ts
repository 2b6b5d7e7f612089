import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ClusterMalformedCommandError, decodePeerMessage, encodePeerMessage, type PeerMessage } from '../../../../cluster/membership/index.ts'

describe('peer messages (forwarding to the leader): hostile frames', () => {
  test('round trips', () => {
    const ms: PeerMessage[] = [
      { kind: 'forward', from: 'n1#1', id: 7, command: { type: 'up', node: 'n2', incarnation: 1 } },
      { kind: 'probe', from: 'n3#2', id: 1 },
      { kind: 'outcome', from: 'n1#1', id: 7, code: null, message: '', leader: 'n1#1' },
      { kind: 'outcome', from: 'n1#1', id: 8, code: 'ERR_CLUSTER_NAME_CONFLICT', message: 'taken', leader: null },
    ]
    for (const m of ms) expect(decodePeerMessage(encodePeerMessage(m))).toEqual(m)
  })

  test('every truncation, junk and bad fields: ERR_CLUSTER_MALFORMED_COMMAND', () => {
    const ok = encodePeerMessage({ kind: 'forward', from: 'n1#1', id: 7, command: { type: 'up', node: 'n2', incarnation: 1 } })
    for (let i = 0; i < ok.length - 1; i++) expect(() => decodePeerMessage(ok.subarray(0, i))).toThrow(ClusterMalformedCommandError)
    const e = new TextEncoder()
    for (const body of ['{"kind":"forward","from":"a","id":0,"command":{}}', '{"kind":"forward","from":"a","id":1,"command":{"type":"up"}}', '{"kind":"x","from":"a","id":1}', '{"kind":"probe","from":"","id":1}', '{"kind":"outcome","from":"a","id":1,"code":5,"message":"","leader":null}'])
      expect(() => decodePeerMessage(new Uint8Array([1, ...e.encode(body)]))).toThrow(ClusterMalformedCommandError)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => {
        try {
          decodePeerMessage(junk)
        } catch (error) {
          expect(error).toBeInstanceOf(ClusterMalformedCommandError)
        }
      }),
    )
  })
})
