import type { NatsConnection } from '@nats-io/nats-core'
import { describe, expect, it } from 'vitest'
import { EnvelopeKind } from '../../../runtime/index.ts'
import type { Membership, MembershipListener } from '../../../transport/nats/Membership.ts'
import { NatsTransport } from '../../../transport/nats/NatsTransport.ts'
import { FakeBus, settle, type FakeConnection } from './support/fakeBus.ts'

/** A membership the test drives: it says when to hold, and tells the transport what it decided. */
class ScriptedMembership implements Membership {
  listener: MembershipListener | null = null
  hold = false
  start(listener: MembershipListener): Promise<void> {
    this.listener = listener
    return Promise.resolve()
  }
  linkChanged(): void {}
  announceLeaving(): void {}
  holding(): boolean {
    return this.hold
  }
  members(): string[] {
    return []
  }
  stop(): Promise<void> {
    return Promise.resolve()
  }
}

interface Side {
  transport: NatsTransport
  membership: ScriptedMembership
  connection: FakeConnection
  received: number[]
  returned: [number, string][]
  downs: [string, string | undefined][]
}

/** A codec-shaped frame of one envelope of `kind` (docs/protocol.md, node frames): byte 8 is its kind, byte 9 a tag. */
function frame(kind: number, tag: number): Uint8Array {
  const bytes = new Uint8Array(8 + 24)
  new DataView(bytes.buffer).setUint32(4, 1, true)
  bytes[8] = kind
  bytes[9] = tag
  return bytes
}

async function side(bus: FakeBus, node: string): Promise<Side> {
  const connection = bus.connect()
  const nats = connection.asNats() as unknown as Record<string, unknown>
  // No status events on this bus: the link never drops.
  nats.status = () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }), stop: () => {} })
  const membership = new ScriptedMembership()
  let seed = node.charCodeAt(0)
  const transport = await NatsTransport.start({
    connection: nats as unknown as NatsConnection,
    system: { name: 's', node, shard: 0, clock: bus.world, random: { next: () => ((seed = (seed * 9301 + 49297) % 233280) / 233280) } },
    membership,
    ackDelayMs: 5,
    ackTimeoutMs: 100,
  })
  const s: Side = { transport, membership, connection, received: [], returned: [], downs: [] }
  transport.onFrame((bytes) => {
    s.received.push(bytes[9] as number)
  })
  transport.onUndelivered((_to, bytes, error) => s.returned.push([bytes[9] as number, (error as { code?: string }).code ?? '']))
  transport.onPeerDown((peer, _shard, cause) => s.downs.push([peer, (cause as { code?: string } | undefined)?.code]))
  return s
}

const framesPublished = (s: Side): number => s.connection.published.filter((m) => m.subject.includes('.sys.')).length
const acksPublished = (s: Side): number => s.connection.published.filter((m) => m.subject.includes('.ack.')).length
/** Closes both on virtual time (a close waits up to 2 s for acks). */
async function closeAll(bus: FakeBus, ...sides: Side[]): Promise<void> {
  const closing = Promise.all(sides.map((s) => s.transport.close()))
  await bus.run(2500, 100)
  await closing
}
const at = (node: string) => ({ system: 's', node, shard: 0 })

describe('the NATS link under the membership: holding, quarantine, leaving', () => {
  it('while holding publishes nothing and acknowledges nothing it holds (senders keep those frames); on resume both go, once, in order', async () => {
    const bus = new FakeBus()
    const a = await side(bus, 'a')
    const b = await side(bus, 'b')
    a.membership.hold = true
    for (let i = 1; i <= 3; i++) a.transport.send(at('b'), frame(EnvelopeKind.Tell, i))
    for (let i = 1; i <= 3; i++) b.transport.send(at('a'), frame(EnvelopeKind.Tell, 10 + i))
    await bus.run(350) // past several ack timeouts: b resends what a holds
    expect(framesPublished(a)).toBe(0)
    expect(a.transport.stats.framesBuffered).toBe(3)
    expect(acksPublished(a)).toBe(0)
    expect(a.received).toEqual([])
    expect(a.transport.stats.framesHeldIn).toBeGreaterThanOrEqual(3)
    expect(b.transport.stats.framesUnacked).toBe(3)

    a.membership.hold = false
    a.membership.listener?.resumed?.()
    await bus.run(50)
    expect(a.received).toEqual([11, 12, 13])
    expect(b.received).toEqual([1, 2, 3])
    expect(a.transport.stats.framesBuffered + a.transport.stats.framesUnacked).toBe(0)
    expect(b.transport.stats.framesUnacked).toBe(0)
    await closeAll(bus, a, b)
  })

  it('once quarantined gives every retained frame back with ERR_QUARANTINED, never resends it, refuses sends and drops what arrives', async () => {
    const bus = new FakeBus()
    const a = await side(bus, 'a')
    const b = await side(bus, 'b')
    a.membership.listener?.up('b')
    b.membership.hold = true // b acknowledges nothing: a's frames stay retained, published and unacknowledged
    for (let i = 1; i <= 3; i++) a.transport.send(at('b'), frame(EnvelopeKind.Tell, i))
    await bus.run(20)
    expect(a.transport.stats.framesUnacked).toBe(3)
    const published = framesPublished(a)

    a.membership.listener?.quarantined?.('b')
    expect(a.returned).toEqual([
      [1, 'ERR_QUARANTINED'],
      [2, 'ERR_QUARANTINED'],
      [3, 'ERR_QUARANTINED'],
    ])
    expect(a.downs).toEqual([['b', 'ERR_QUARANTINED']])
    expect(a.transport.stats.framesUnacked + a.transport.stats.framesBuffered).toBe(0)
    expect(() => a.transport.send(at('b'), frame(EnvelopeKind.ReplyOk, 9))).toThrow(expect.objectContaining({ code: 'ERR_QUARANTINED' }))

    // b resumes and acknowledges what it held; b's frames to a are dropped there, and a resends nothing.
    b.membership.hold = false
    b.membership.listener?.resumed?.()
    b.transport.send(at('a'), frame(EnvelopeKind.Tell, 20))
    await bus.run(500)
    expect(framesPublished(a)).toBe(published)
    expect(acksPublished(a)).toBe(0)
    expect(a.received).toEqual([])
    expect(a.transport.stats.framesDroppedIn).toBeGreaterThan(0)
    expect(a.returned).toHaveLength(3)
    await closeAll(bus, a, b)
  })

  it('refuses new work to a leaving peer at the call (ERR_PEER_LEAVING) and still sends it replies', async () => {
    const bus = new FakeBus()
    const a = await side(bus, 'a')
    const b = await side(bus, 'b')
    a.membership.listener?.up('b')
    a.membership.listener?.leaving?.('b')
    expect(() => a.transport.send(at('b'), frame(EnvelopeKind.Tell, 1))).toThrow(expect.objectContaining({ code: 'ERR_PEER_LEAVING' }))
    expect(() => a.transport.send(at('b'), frame(EnvelopeKind.Ask, 2))).toThrow(expect.objectContaining({ code: 'ERR_PEER_LEAVING' }))
    a.transport.send(at('b'), frame(EnvelopeKind.ReplyOk, 3))
    await bus.run(20)
    await settle()
    expect(b.received).toEqual([3])
    expect(a.transport.stats.framesUnacked).toBe(0)
    expect(a.returned).toEqual([])
    await closeAll(bus, a, b)
  })
})
