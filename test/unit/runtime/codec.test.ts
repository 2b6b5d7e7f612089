import { pack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import {
  Actor,
  ActorRef,
  assertSerializable,
  Codec,
  DEFAULT_MAX_MESSAGE_BYTES,
  Envelope,
  EnvelopeKind,
  ErrorCodes,
  MailboxFullError,
  MalformedFrameError,
  MessageTooLargeError,
  NotSerializableError,
  TroupeError,
} from '../../../runtime/index.ts'
import { useSystems } from './support/helpers.ts'

const newSystem = useSystems()

interface KeeperProtocol {
  keep(value: unknown): void
  kept(): unknown[]
  mutate(value: { n: number }): void
  forward(to: ActorRef<KeeperProtocol>, value: string): void
}
class Keeper extends Actor<KeeperProtocol> implements KeeperProtocol {
  private readonly values: unknown[] = []
  keep(value: unknown): void {
    this.values.push(value)
  }
  kept(): unknown[] {
    return this.values
  }
  mutate(value: { n: number }): void {
    value.n = -1
  }
  forward(to: ActorRef<KeeperProtocol>, value: string): void {
    to.tell('keep', value)
  }
}

class Point {
  readonly x: number
  readonly y: number
  constructor(x: number, y: number) {
    this.x = x
    this.y = y
  }
}

describe('Codec', () => {
  it('round-trips an envelope; an ActorRef inside the args resolves back to the same local actor', async () => {
    const system = newSystem()
    const target = system.spawn(Keeper, { name: 'target' })
    const other = system.spawn(Keeper, { name: 'other' })
    const envelope = new Envelope(EnvelopeKind.Tell, target, other, 41, 0, { traceparent: '00-abc-def-01' }, 'forward', [other, 'hello'])
    const bytes = system.codec.encode(envelope)
    expect(bytes).toBeInstanceOf(Uint8Array)
    const decoded = system.codec.decode(bytes)
    expect(decoded).toMatchObject({ kind: EnvelopeKind.Tell, id: 41, correlationId: 0, headers: { traceparent: '00-abc-def-01' }, method: 'forward' })
    expect(decoded.target.equals(target)).toBe(true)
    expect(decoded.sender?.equals(other)).toBe(true)
    expect(decoded.local).toBeNull()
    const [ref, value] = decoded.args as [ActorRef<KeeperProtocol>, string]
    expect(ref).toBeInstanceOf(ActorRef)
    expect(ref.equals(other)).toBe(true)
    expect(value).toBe('hello')
    // The decoded ref is live: a message through it reaches the actor.
    ref.tell('keep', 'via decoded ref')
    expect(await other.ask('kept')).toEqual(['via decoded ref'])
  })

  it('keeps the payload types it supports', () => {
    const system = newSystem()
    const target = system.spawn(Keeper)
    const args = [null, true, 1.5, -7, 2n ** 70n, 'text', [1, [2]], { a: { b: 'c' } }, new Date(1_700_000_000_000), new Set([1, 2]), new Uint8Array([1, 2, 3])]
    const decoded = system.codec.decode(system.codec.encode(new Envelope(EnvelopeKind.Tell, target, null, 1, 0, null, 'keep', args)))
    expect(decoded.args).toEqual(args)
    expect(decoded.sender).toBeNull()
    expect(decoded.headers).toBeNull()
  })

  it('carries a failed reply as an encoded error and rebuilds its class from the code', () => {
    const system = newSystem()
    const target = system.spawn(Keeper)
    const error = new MailboxFullError('full', { data: { capacity: 3 } })
    const reply = new Envelope(EnvelopeKind.ReplyError, target, null, 2, 1, null, 'keep', [error])
    const decoded = system.codec.decode(system.codec.encode(reply))
    const rebuilt = decoded.args[0]
    expect(rebuilt).toBeInstanceOf(MailboxFullError)
    expect(rebuilt).toMatchObject({ code: ErrorCodes.MailboxFull, name: 'MailboxFullError', message: 'full', data: { capacity: 3 } })
    expect(decoded.correlationId).toBe(1)
  })

  it('round-trips a batch in order', () => {
    const system = newSystem()
    const target = system.spawn(Keeper)
    const envelopes = Array.from({ length: 50 }, (_, i) => new Envelope(EnvelopeKind.Ask, target, target, i + 1, 0, null, 'keep', [{ i }]))
    const decoded = system.codec.decodeBatch(system.codec.encodeBatch(envelopes))
    expect(decoded.map((e) => [e.kind, e.id, e.args[0]])).toEqual(envelopes.map((e) => [EnvelopeKind.Ask, e.id, e.args[0]]))
    expect(system.codec.decodeBatch(system.codec.encodeBatch([]))).toEqual([])
  })

  it('refuses an envelope above the size limit with MessageTooLargeError, on encode and on decode', () => {
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(1024 * 1024)
    const system = newSystem({ maxMessageBytes: 256 })
    const target = system.spawn(Keeper)
    const big = new Envelope(EnvelopeKind.Tell, target, null, 1, 0, null, 'keep', ['x'.repeat(1000)])
    let thrown: unknown
    try {
      system.codec.encode(big)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(MessageTooLargeError)
    expect(thrown).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', data: { limit: 256 } })
    expect((thrown as MessageTooLargeError).message).toMatch(/limit is 256/)
    const bigBytes = newSystem().codec.encode(new Envelope(EnvelopeKind.Tell, target, null, 1, 0, null, 'keep', ['x'.repeat(1000)]))
    expect(() => system.codec.decode(bigBytes)).toThrow(MessageTooLargeError)
    expect(() => system.codec.encodeBatch([big])).toThrow(MessageTooLargeError)
  })

  it('malformed bytes throw MalformedFrameError', () => {
    const system = newSystem()
    const target = system.spawn(Keeper)
    const valid = system.codec.encode(new Envelope(EnvelopeKind.Tell, target, null, 1, 0, null, 'keep', []))
    const cases: Uint8Array[] = [
      new Uint8Array([0xc1]), // a byte msgpack never uses
      valid.subarray(0, valid.length - 3), // truncated
      pack('just a string'),
      pack([0, 1, 2]),
      pack([99, ['s', 'n', 0, '/user/x', 1], null, 1, 0, null, 'm', []]), // unknown kind
      pack([EnvelopeKind.Timer, ['s', 'n', 0, '/user/x', 1], null, 1, 0, null, 'm', []]), // timers never cross
      pack([0, ['s', 'n'], null, 1, 0, null, 'm', []]), // bad address
      pack([0, ['s', 'n', 0, '/user/x', 1], null, 1, 0, ['not', 'a', 'map'], 'm', []]), // bad headers
      pack([0, ['s', 'n', 0, '/user/x', 1], null, 1, 0, null, 42, []]), // bad method
    ]
    for (const bytes of cases) {
      let thrown: unknown
      try {
        system.codec.decode(bytes)
      } catch (error) {
        thrown = error
      }
      expect(thrown, String(bytes)).toBeInstanceOf(MalformedFrameError)
      expect(thrown).toMatchObject({ code: 'ERR_MALFORMED_FRAME' })
    }
    expect(() => system.codec.decodeBatch(pack({ not: 'an array' }))).toThrow(MalformedFrameError)
  })

  it('a codec with no system cannot resolve addresses', () => {
    const system = newSystem()
    const target = system.spawn(Keeper)
    const bytes = system.codec.encode(new Envelope(EnvelopeKind.Tell, target, null, 1, 0, null, 'keep', []))
    expect(() => new Codec().decode(bytes)).toThrow(MalformedFrameError)
  })

  describe('serializeMessages test mode', () => {
    it.each([
      ['a function', () => 1],
      ['a class instance', new Point(1, 2)],
      ['a Map', new Map([['a', 1]])],
      ['a symbol', Symbol('s')],
      ['a nested function', { deep: [{ fn: () => 1 }] }],
    ])('tell rejects %s with ERR_NOT_SERIALIZABLE', (_what, value) => {
      const system = newSystem({ serializeMessages: true })
      const ref = system.spawn(Keeper)
      let thrown: unknown
      try {
        ref.tell('keep', value)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(NotSerializableError)
      expect(thrown).toMatchObject({ code: ErrorCodes.NotSerializable })
    })

    it('names where the bad value is', () => {
      const system = newSystem({ serializeMessages: true })
      const ref = system.spawn(Keeper)
      expect(() => ref.tell('keep', { items: [1, { fn: () => 1 }] })).toThrow(/args\[0\]\.items\[1\]\.fn/)
    })

    it('ask and offer reject instead of throwing', async () => {
      const system = newSystem({ serializeMessages: true })
      const ref = system.spawn(Keeper)
      await expect(ref.ask('keep', new Map())).rejects.toBeInstanceOf(NotSerializableError)
      await expect(ref.offer('keep', new Point(0, 0))).rejects.toMatchObject({ code: 'ERR_NOT_SERIALIZABLE' })
    })

    it('the handler gets a copy, as it would across a boundary, and refs still resolve', async () => {
      const system = newSystem({ serializeMessages: true })
      const ref = system.spawn(Keeper)
      const other = system.spawn(Keeper)
      const value = { n: 1 }
      await ref.ask('mutate', value)
      expect(value.n).toBe(1)
      ref.tell('forward', other, 'through a copied ref')
      await ref.ask('kept')
      expect(await other.ask('kept')).toEqual(['through a copied ref'])
    })

    it('plain data passes', async () => {
      const system = newSystem({ serializeMessages: true })
      const ref = system.spawn(Keeper)
      ref.tell('keep', { a: [1, 'two', null], when: new Date(0), tags: new Set(['x']) })
      expect(await ref.ask('kept')).toEqual([{ a: [1, 'two', null], when: new Date(0), tags: new Set(['x']) }])
    })

    it('is off by default: same-system delivery passes args by reference', async () => {
      const system = newSystem()
      const ref = system.spawn(Keeper)
      const value = { n: 1 }
      await ref.ask('mutate', value)
      expect(value.n).toBe(-1)
    })
  })

  it('assertSerializable rejects cycles and accepts shared (non-cyclic) references', () => {
    const cyclic: { self?: unknown } = {}
    cyclic.self = cyclic
    expect(() => assertSerializable(cyclic, 'value')).toThrow(NotSerializableError)
    const shared = { x: 1 }
    expect(() => assertSerializable([shared, shared], 'value')).not.toThrow()
    expect(() => assertSerializable(new TroupeError('E', 'errors are fine'), 'value')).not.toThrow()
  })
})
