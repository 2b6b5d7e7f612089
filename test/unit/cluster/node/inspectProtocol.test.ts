import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeRequest, encodeRequest, MAX_REQUEST_BYTES } from '../../../../cluster/node/inspectProtocol.ts'
import { FrameSigner } from '../../../../transport/nats/index.ts'

const SUBJECT = 'troupe.c.inspect.n1'
const REPLY = '_INBOX.abc'

describe('introspection requests over NATS', () => {
  it('round-trips every valid request, signed or not', () => {
    const signer = new FrameSigner({ current: 'a-secret-of-enough-bytes' })
    for (const s of [null, signer]) {
      for (const request of [{ op: 'status' }, { op: 'tree', shard: 2, max: 10 }, { op: 'actor', path: '/user/a' }, { op: 'metrics' }, { op: 'dead-letters' }] as const) {
        expect(decodeRequest(encodeRequest(request, SUBJECT, REPLY, s), SUBJECT, REPLY, s)).toEqual(request)
      }
    }
  })

  it('refuses, typed, what is not a valid request: never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX_REQUEST_BYTES + 64 }), (bytes) => {
        const out = decodeRequest(bytes, SUBJECT, REPLY, null)
        if ('refused' in out) expect(out.refused).toMatchObject({ ok: false, code: 'ERR_INSPECT_BAD_REQUEST' })
      }),
    )
    const text = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))
    for (const bad of [{ op: 'shutdown' }, { op: 'actor' }, { op: 'tree', shard: -1 }, { op: 'actor', path: 'no-slash' }, { op: 'status', extra: 1 }, { op: 'tree', max: 1e9 }, [1, 2], 'status']) {
      expect(decodeRequest(text(bad), SUBJECT, REPLY, null)).toMatchObject({ refused: { ok: false, code: 'ERR_INSPECT_BAD_REQUEST' } })
    }
    expect(decodeRequest(new Uint8Array(MAX_REQUEST_BYTES + 1), SUBJECT, REPLY, null)).toMatchObject({ refused: { code: 'ERR_INSPECT_BAD_REQUEST' } })
  })

  it('with a cluster secret: unsigned, wrongly signed, or replayed to another reply subject is ERR_INSPECT_UNAUTHENTICATED', () => {
    const signer = new FrameSigner({ current: 'a-secret-of-enough-bytes' })
    const stranger = new FrameSigner({ current: 'another-secret-of-enough-bytes' })
    const request = { op: 'status' } as const
    const unauthenticated = { refused: { ok: false, code: 'ERR_INSPECT_UNAUTHENTICATED' } }
    expect(decodeRequest(encodeRequest(request, SUBJECT, REPLY, null), SUBJECT, REPLY, signer)).toMatchObject(unauthenticated)
    expect(decodeRequest(encodeRequest(request, SUBJECT, REPLY, stranger), SUBJECT, REPLY, signer)).toMatchObject(unauthenticated)
    expect(decodeRequest(encodeRequest(request, SUBJECT, REPLY, signer), SUBJECT, '_INBOX.eavesdropper', signer)).toMatchObject(unauthenticated)
    expect(decodeRequest(encodeRequest(request, SUBJECT, REPLY, signer), 'troupe.c.inspect.n2', REPLY, signer)).toMatchObject(unauthenticated)
  })
})
