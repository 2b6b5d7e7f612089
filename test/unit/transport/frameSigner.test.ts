import type { NatsConnection } from '@nats-io/nats-core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clusterKeyId, FrameSigner, HeartbeatMembership, SIGNATURE_BYTES, type HeartbeatMessage } from '../../../cluster/index.ts'
import { VirtualClock } from '../../../testing/index.ts'
import { recordingLogger } from '../../support/recordingLogger.ts'

const KEY = 'k'.repeat(32)
const OTHER = 'o'.repeat(32)
const SUBJECT = 'troupe.c.sys.b.0'

describe('FrameSigner', () => {
  it('appends key id and HMAC-SHA256 after the payload, and gives the payload back as a view', () => {
    const signer = new FrameSigner({ current: KEY })
    const payload = new Uint8Array([0xc1, 3, 0, 0, 1, 2, 3])
    const signed = signer.sign(SUBJECT, payload)
    expect(signed.byteLength).toBe(payload.byteLength + SIGNATURE_BYTES)
    expect([...signed.subarray(0, payload.byteLength)]).toEqual([...payload])
    expect(Buffer.from(signed).readUInt32LE(payload.byteLength)).toBe(clusterKeyId(KEY))
    const verified = signer.verify(SUBJECT, signed)
    expect(verified === null ? null : [...verified]).toEqual([...payload])
    expect(verified?.buffer).toBe(signed.buffer)
    // An empty payload (nothing but the trailer) is fine too.
    expect(signer.verify(SUBJECT, signer.sign(SUBJECT, new Uint8Array(0)))?.byteLength).toBe(0)
  })

  it('refuses another subject, another key, a truncated message, and any changed bit', () => {
    const signer = new FrameSigner({ current: KEY })
    const signed = signer.sign(SUBJECT, new Uint8Array([1, 2, 3, 4]))
    expect(signer.verify('troupe.c.sys.a.0', signed)).toBeNull()
    expect(new FrameSigner({ current: OTHER }).verify(SUBJECT, signed)).toBeNull()
    expect(signer.verify(SUBJECT, signed.subarray(0, SIGNATURE_BYTES - 1))).toBeNull()
    expect(signer.verify(SUBJECT, signed.subarray(1))).toBeNull()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (payload, at, bit) => {
        const bytes = new Uint8Array(signer.sign(SUBJECT, payload))
        bytes[at % bytes.byteLength] = (bytes[at % bytes.byteLength] as number) ^ (1 << bit)
        return signer.verify(SUBJECT, bytes) === null
      }),
      { numRuns: 2000 },
    )
  })

  it('rotates: signs with the current key, accepts current and previous', () => {
    const rotated = new FrameSigner({ current: OTHER, previous: KEY })
    const old = new FrameSigner({ current: KEY })
    const fresh = new FrameSigner({ current: OTHER })
    const payload = new Uint8Array([9, 9])
    expect(rotated.keyId).toBe(clusterKeyId(OTHER))
    expect(rotated.acceptedKeyIds).toEqual([clusterKeyId(OTHER), clusterKeyId(KEY)])
    expect(rotated.verify(SUBJECT, old.sign(SUBJECT, payload))).not.toBeNull()
    expect(rotated.verify(SUBJECT, fresh.sign(SUBJECT, payload))).not.toBeNull()
    expect(fresh.verify(SUBJECT, rotated.sign(SUBJECT, payload))).not.toBeNull()
    expect(old.verify(SUBJECT, rotated.sign(SUBJECT, payload))).toBeNull()
  })

  it('refuses short keys and a previous key equal to the current one', () => {
    expect(() => new FrameSigner({ current: 'short' })).toThrow(/at least 16 bytes/)
    expect(() => new FrameSigner({ current: KEY, previous: 'x' })).toThrow(/previous cluster secret must be at least 16 bytes/)
    expect(() => new FrameSigner({ current: KEY, previous: KEY })).toThrow(/must differ/)
    expect(new FrameSigner({ current: new Uint8Array(32).fill(7) }).keyId).toBe(clusterKeyId(new Uint8Array(32).fill(7)))
  })
})


describe('HeartbeatMembership with a signer', () => {
  it('signs its own heartbeats and takes only signed ones from peers', async () => {
    let callback: ((error: Error | null, msg: { data: Uint8Array }) => void) | null = null
    const published: Uint8Array[] = []
    const connection = {
      subscribe: (_subject: string, options: { callback: typeof callback }) => {
        callback = options.callback
        return { unsubscribe() {} }
      },
      flush: async () => {},
      publish: (_subject: string, data: Uint8Array) => void published.push(data),
      isClosed: () => false,
    } as unknown as NatsConnection
    const subject = 'troupe.c.hb'
    const signer = new FrameSigner({ current: KEY })
    const { logger, lines } = recordingLogger()
    const membership = new HeartbeatMembership({ connection, clock: new VirtualClock(), subject, node: 'me', incarnation: 'mine', intervalMs: 100, timeoutMs: 1000, signer, log: logger })
    const events: string[] = []
    await membership.start({ up: (node) => events.push(`up ${node}`), down: (node) => events.push(`down ${node}`) })

    // Our announce went out signed.
    const announce = signer.verify(subject, published[0] as Uint8Array)
    expect(JSON.parse(new TextDecoder().decode(announce as Uint8Array))).toMatchObject({ type: 'announce', node: 'me' })

    const beat = (message: Partial<HeartbeatMessage>): Uint8Array =>
      new TextEncoder().encode(JSON.stringify({ v: 1, node: 'peer', incarnation: 'i1', intervalMs: 100, type: 'beat', ...message }))
    const deliver = (data: Uint8Array): void => callback?.(null, { data })
    deliver(beat({ type: 'announce', node: 'ghost' }))
    deliver(new FrameSigner({ current: OTHER }).sign(subject, beat({ type: 'announce', node: 'ghost' })))
    deliver(signer.sign('troupe.other.hb', beat({ type: 'announce', node: 'ghost' })))
    expect(events).toEqual([])
    expect(membership.stats.unauthenticatedHeartbeats).toBe(3)
    expect(lines).toHaveLength(1)

    deliver(signer.sign(subject, beat({ type: 'announce' })))
    deliver(beat({ type: 'leave' }))
    expect(events).toEqual(['up peer'])
    deliver(signer.sign(subject, beat({ type: 'leave' })))
    expect(events).toEqual(['up peer', 'down peer'])
    await membership.stop()
  })
})
