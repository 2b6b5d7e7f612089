import { describe, expect, it } from 'vitest'
import { RoutedTransport, type FrameTransport, type SystemAddress } from '../../../transport/index.ts'

/** A transport that records what it is asked to send and lets the test push frames and peer-downs in. */
class Recording implements FrameTransport {
  readonly sent: [SystemAddress, Uint8Array][] = []
  full = false
  closed = false
  private frameHandler: ((frame: Uint8Array) => void) | null = null
  private readonly downHandlers: ((node: string, shard: number | null) => void)[] = []
  readonly local: SystemAddress
  constructor(local: SystemAddress) {
    this.local = local
  }
  send(to: SystemAddress, frame: Uint8Array): void {
    this.sent.push([to, frame])
  }
  isFull(): boolean {
    return this.full
  }
  onFrame(handler: (frame: Uint8Array) => void): void {
    this.frameHandler = handler
  }
  onPeerDown(handler: (node: string, shard: number | null) => void): void {
    this.downHandlers.push(handler)
  }
  async close(): Promise<void> {
    this.closed = true
  }
  arrive(frame: Uint8Array): void {
    this.frameHandler?.(frame)
  }
  down(node: string, shard: number | null): void {
    for (const handler of this.downHandlers) handler(node, shard)
  }
}

const local = { system: 'c', node: 'a', shard: 1 }
const frame = Uint8Array.of(1, 2, 3)

describe('RoutedTransport', () => {
  it('sends to this node through the rings and to other nodes through the uplink; hears both', async () => {
    const rings = new Recording(local)
    const uplink = new Recording(local)
    const routed = new RoutedTransport(rings)
    const frames: number[] = []
    const downs: string[] = []
    routed.onFrame((f) => frames.push(f[0] as number))
    routed.onPeerDown((node, shard) => downs.push(`${node}:${shard}`))

    // Before the uplink: this node only.
    routed.send({ system: 'c', node: 'a', shard: 2 }, frame)
    expect(() => routed.send({ system: 'c', node: 'b', shard: 0 }, frame)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_ACTOR' }))

    routed.attachOtherNodes(uplink)
    routed.send({ system: 'c', node: 'b', shard: 3 }, frame)
    expect(rings.sent.map(([to]) => `${to.node}:${to.shard}`)).toEqual(['a:2'])
    expect(uplink.sent.map(([to]) => `${to.node}:${to.shard}`)).toEqual(['b:3'])

    uplink.full = true
    expect(routed.isFull({ system: 'c', node: 'b', shard: 0 })).toBe(true)
    expect(routed.isFull({ system: 'c', node: 'a', shard: 0 })).toBe(false)

    // Handlers registered before the uplink was attached hear it too.
    rings.arrive(Uint8Array.of(7))
    uplink.arrive(Uint8Array.of(8))
    rings.down('a', 2)
    uplink.down('b', null)
    expect(frames).toEqual([7, 8])
    expect(downs).toEqual(['a:2', 'b:null'])

    await routed.close()
    expect(rings.closed && uplink.closed).toBe(true)
  })

  it('refuses a second uplink, or one for another address', () => {
    const routed = new RoutedTransport(new Recording(local))
    expect(() => routed.attachOtherNodes(new Recording({ ...local, shard: 0 }))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    routed.attachOtherNodes(new Recording(local))
    expect(() => routed.attachOtherNodes(new Recording(local))).toThrow(/already attached/)
  })
})
