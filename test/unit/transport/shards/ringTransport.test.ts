import { describe, expect, it } from 'vitest'
import { RealScheduler, SystemClock } from '../../../../runtime/index.ts'
import { RingMesh } from '../../../../transport/shards/RingMesh.ts'
import { RingTransport } from '../../../../transport/shards/RingTransport.ts'

const local = { system: 's', node: 'n', shard: 0 }
const to = { system: 's', node: 'n', shard: 1 }

/** Shard 0's transport on a mesh whose shard 1 never reads: its ring and then its outbox fill up. */
function stalledPeer(maxOutboxBytes: number): RingTransport {
  const mesh = new RingMesh(2, 1024)
  return new RingTransport({ local, links: mesh.linksOf(0), scheduler: new RealScheduler(), clock: new SystemClock(), maxOutboxBytes, spinMs: 0 })
}

describe('RingTransport outbox bound', () => {
  it('refuses frames past the bound, and keeps refusing at the call until half of it is free', async () => {
    const transport = stalledPeer(4096)
    const frame = new Uint8Array(512)
    let refused: unknown = null
    for (let i = 0; i < 100 && refused === null; i++) {
      try {
        transport.send(to, frame)
      } catch (error) {
        refused = error
      }
    }
    expect(refused).toMatchObject({ code: 'ERR_TRANSPORT_FULL' })
    // One frame was refused: the peer counts as full for callers even if a smaller frame would fit.
    expect(transport.isFull(to)).toBe(true)
    await transport.close()
  })

  it('takes a death-watch frame past the bound (mustTake), in order behind what waits', async () => {
    const transport = stalledPeer(4096)
    const frame = new Uint8Array(512)
    for (;;) {
      try {
        transport.send(to, frame)
      } catch {
        break
      }
    }
    const queued = transport.stats().transport.queuedFrames
    expect(() => transport.send(to, new Uint8Array(64))).toThrow(expect.objectContaining({ code: 'ERR_TRANSPORT_FULL' }))
    transport.send(to, new Uint8Array(64), true)
    expect(transport.stats().transport.queuedFrames).toBe(queued + 1)
    await transport.close()
  })

  it('death-watch frames stop at a second bound as large again', async () => {
    const transport = stalledPeer(4096)
    let taken = 0
    expect(() => {
      for (let i = 0; i < 100; i++) {
        transport.send(to, new Uint8Array(512), true)
        taken++
      }
    }).toThrow(expect.objectContaining({ code: 'ERR_TRANSPORT_FULL' }))
    // The 1 KiB ring holds one 512-byte frame (with its header); the rest wait up to 8 KiB.
    expect(transport.stats().transport.queuedBytes).toBeLessThanOrEqual(2 * 4096)
    expect(taken).toBeGreaterThan(8)
    await transport.close()
  })

  it('a refused frame with nothing waiting behind it does not leave the peer refusing', async () => {
    // Frames larger than the outbox bound: once the ring is full, each is refused with nothing queued.
    const transport = stalledPeer(256)
    expect(() => {
      for (let i = 0; i < 10; i++) transport.send(to, new Uint8Array(600))
    }).toThrow(expect.objectContaining({ code: 'ERR_TRANSPORT_FULL' }))
    // Nothing is queued, so nothing would ever clear a "refusing" state: callers are not told it is full,
    // not even once a small frame waits (far below the bound).
    expect(transport.stats().transport.queuedFrames).toBe(0)
    expect(transport.isFull(to)).toBe(false)
    transport.send(to, new Uint8Array(16))
    expect(transport.stats().transport.queuedFrames).toBe(1)
    expect(transport.isFull(to)).toBe(false)
    await transport.close()
  })
})
