/**
 * Issue 11: a remote `offer` waits for the transport's room (credit) instead of failing with
 * ERR_TRANSPORT_FULL: a per-target FIFO woken by the transport's room signal, with a timeout, a bound,
 * and cancellation on peer down and shutdown. Driven through the public API over a gated loopback.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { ActorSystem, type ActorRef } from '../../../runtime/index.ts'
import { Remoting, TransportClosedError, TransportFullError, type FrameTransport, type SystemAddress } from '../../../transport/index.ts'
import { LoopbackNetwork, settle, waitForValue } from '../../../testing/index.ts'
import { Echo, type EchoProtocol } from '../../support/remoteActors.ts'

/**
 * A loopback endpoint whose room the test controls: `full` is what `isFull` reports (Remoting then
 * refuses at the call, as with the NATS credit queue and the ring outbox), `open` signals room as a
 * real transport does. Frames already admitted are taken, as a real transport takes them below its hard bound.
 */
class GatedTransport implements FrameTransport {
  readonly local: SystemAddress
  full = false
  /** What a full transport refuses with when it is not about room (the link is down, say), when set. */
  refuseWith: Error | null = null
  closed = false
  framesSent = 0
  private readonly inner: FrameTransport
  private roomHandler: ((to: SystemAddress | null) => void) | null = null
  private peerDown: ((node: string, shard: number | null, cause?: Error) => void)[] = []
  constructor(inner: FrameTransport) {
    this.inner = inner
    this.local = inner.local
  }
  send(to: SystemAddress, frame: Uint8Array, mustTake?: boolean): void {
    if (this.closed) throw new TransportClosedError('closed')
    this.framesSent++
    this.inner.send(to, frame, mustTake)
  }
  isFull(): boolean {
    return this.full || this.closed
  }
  fullError(to: SystemAddress): Error {
    if (this.closed) return new TransportClosedError('closed')
    return this.refuseWith ?? new TransportFullError(`full toward ${to.node}`, { data: { node: to.node, shard: to.shard } })
  }
  onRoom(handler: (to: SystemAddress | null) => void): void {
    this.roomHandler = handler
  }
  /** Room again toward `node`, and the signal a transport gives with it. */
  open(node: string, signal = true): void {
    this.full = false
    if (signal) this.roomHandler?.({ system: 'cluster', node, shard: 0 })
  }
  signal(to: SystemAddress | null): void {
    this.roomHandler?.(to)
  }
  down(node: string): void {
    for (const handler of this.peerDown) handler(node, null)
  }
  onFrame(handler: (frame: Uint8Array, credited?: boolean) => unknown): void {
    this.inner.onFrame(handler)
  }
  onPeerDown(handler: (node: string, shard: number | null, cause?: Error) => void): void {
    this.peerDown.push(handler)
    this.inner.onPeerDown(handler)
  }
  async close(): Promise<void> {
    this.closed = true
    this.roomHandler?.(null)
    await this.inner.close()
  }
}

const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})

function pair(options: { offerTimeoutMs?: number; maxWaitingOffers?: number } = {}) {
  const network = new LoopbackNetwork()
  const a = ActorSystem.create({ name: 'cluster', node: 'a', ...options })
  const gate = new GatedTransport(network.attach({ system: 'cluster', node: 'a', shard: 0 }))
  new Remoting(a, gate)
  const b = ActorSystem.create({ name: 'cluster', node: 'b' })
  new Remoting(b, network.attach({ system: 'cluster', node: 'b', shard: 0 }))
  systems.push(a, b)
  const echo = b.spawn(Echo, { name: 'echo' })
  const remote = a.refFor<EchoProtocol>(echo.address)
  return { a, b, gate, echo, remote }
}

/** Offers `values` in turn and records the order their promises settle in. */
function offerAll(remote: ActorRef<EchoProtocol>, values: readonly string[], settled: string[]): Promise<void>[] {
  return values.map((v) =>
    remote.offer('remember', v).then(
      () => void settled.push(v),
      (error: unknown) => {
        settled.push(`${v}:${(error as { code?: string }).code}`)
        throw error
      },
    ),
  )
}

describe('remote offer waits for the transport', () => {
  it('goes at once while there is room', async () => {
    const { remote, echo } = pair()
    await remote.offer('remember', 'now')
    expect(await waitForValue(() => echo.ask('recall'), (seen) => seen.length === 1)).toEqual(['now'])
  })

  it('waits while the way is full and completes in order when room is signalled (FIFO)', async () => {
    const { a, gate, remote, echo } = pair()
    gate.full = true
    const settled: string[] = []
    const offers = offerAll(remote, ['1', '2', '3', '4', '5'], settled)
    await settle()
    expect(settled).toEqual([])
    expect(a.offersWaiting).toBe(5)
    expect(gate.framesSent).toBe(0)
    gate.open('b')
    await Promise.all(offers)
    expect(settled).toEqual(['1', '2', '3', '4', '5'])
    expect(a.offersWaiting).toBe(0)
    expect(await waitForValue(() => echo.ask('recall'), (seen) => seen.length === 5)).toEqual(['1', '2', '3', '4', '5'])
  })

  it('a later offer never overtakes a waiting one, even when the transport took room without a signal yet', async () => {
    const { gate, remote, echo } = pair()
    gate.full = true
    const settled: string[] = []
    const first = offerAll(remote, ['1', '2'], settled)
    await settle()
    gate.open('b', false)
    const later = offerAll(remote, ['3'], settled)
    await settle()
    expect(settled).toEqual([])
    gate.signal({ system: 'cluster', node: 'b', shard: 0 })
    await Promise.all([...first, ...later])
    expect(settled).toEqual(['1', '2', '3'])
    expect(await waitForValue(() => echo.ask('recall'), (seen) => seen.length === 3)).toEqual(['1', '2', '3'])
  })

  it('a room signal while still full keeps the offers waiting (no send, no loss)', async () => {
    const { a, gate, remote } = pair()
    gate.full = true
    const offers = offerAll(remote, ['1', '2'], [])
    await settle()
    gate.signal(null)
    await settle()
    expect(a.offersWaiting).toBe(2)
    expect(gate.framesSent).toBe(0)
    gate.open('b')
    await Promise.all(offers)
  })

  it('fails with ERR_OFFER_TIMEOUT after its timeout, and that message is never sent', async () => {
    const { a, gate, remote, echo } = pair({ offerTimeoutMs: 30 })
    gate.full = true
    const timedOut = remote.offer('remember', 'late')
    await expect(timedOut).rejects.toMatchObject({ code: 'ERR_OFFER_TIMEOUT', data: { node: 'b', shard: 0, method: 'remember', timeoutMs: 30 } })
    expect(a.offersWaiting).toBe(0)
    gate.open('b')
    await remote.offer('remember', 'after')
    expect(await waitForValue(() => echo.ask('recall'), (seen) => seen.length === 1)).toEqual(['after'])
  })

  it('past maxWaitingOffers an offer is refused at the call with ERR_TRANSPORT_FULL; the waiting ones still go', async () => {
    const { a, gate, remote, echo } = pair({ maxWaitingOffers: 3 })
    gate.full = true
    const offers = offerAll(remote, ['1', '2', '3'], [])
    const refused = remote.offer('remember', 'x')
    await expect(refused).rejects.toBeInstanceOf(TransportFullError)
    await expect(refused).rejects.toMatchObject({ code: 'ERR_TRANSPORT_FULL', data: { waitingOffers: 3, limit: 3 } })
    expect(a.offersWaiting).toBe(3)
    gate.open('b')
    await Promise.all(offers)
    expect(await waitForValue(() => echo.ask('recall'), (seen) => seen.length === 3)).toEqual(['1', '2', '3'])
  })

  it('fails waiting offers with ERR_NODE_DOWN when their node goes down', async () => {
    const { a, gate, remote } = pair()
    gate.full = true
    const offers = offerAll(remote, ['1', '2'], [])
    await settle()
    gate.down('b')
    for (const offer of offers) await expect(offer).rejects.toMatchObject({ code: 'ERR_NODE_DOWN', data: { node: 'b' } })
    expect(a.offersWaiting).toBe(0)
  })

  it('fails waiting offers with ERR_SYSTEM_TERMINATED when the system terminates', async () => {
    const { a, gate, remote } = pair()
    gate.full = true
    const offers = offerAll(remote, ['1', '2'], [])
    await settle()
    await a.terminate()
    for (const offer of offers) await expect(offer).rejects.toMatchObject({ code: 'ERR_SYSTEM_TERMINATED' })
  })

  it('fails waiting offers with the transport error once it closes', async () => {
    const { gate, remote } = pair()
    gate.full = true
    const offers = offerAll(remote, ['1'], [])
    await settle()
    await gate.close()
    for (const offer of offers) await expect(offer).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' })
  })

  it('a refusal that is not about room (the link is down) fails the offer at once instead of waiting', async () => {
    const { a, gate, remote } = pair()
    gate.full = true
    gate.refuseWith = Object.assign(new Error('link down'), { code: 'ERR_NATS_DOWN' })
    await expect(remote.offer('remember', 'x')).rejects.toMatchObject({ code: 'ERR_NATS_DOWN' })
    expect(a.offersWaiting).toBe(0)
  })

  it('property: whatever the pattern of full, room and signals, every offer settles once and those sent arrive once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('offer', 'offer', 'offer', 'full', 'open', 'openSilently', 'signal', 'turn'), { minLength: 1, maxLength: 60 }), async (steps) => {
        const { a, gate, remote, echo } = pair({ maxWaitingOffers: 8 })
        const outcomes = new Map<number, string[]>()
        const promises: Promise<void>[] = []
        let next = 0
        for (const step of steps) {
          if (step === 'offer') {
            const id = next++
            outcomes.set(id, [])
            promises.push(
              remote.offer('remember', String(id)).then(
                () => void outcomes.get(id)?.push('ok'),
                (error: unknown) => void outcomes.get(id)?.push((error as { code: string }).code),
              ),
            )
          } else if (step === 'full') gate.full = true
          else if (step === 'open') gate.open('b')
          else if (step === 'openSilently') gate.open('b', false)
          else if (step === 'signal') gate.signal(null)
          else await settle(1)
        }
        gate.open('b')
        await Promise.all(promises)
        const sent = [...outcomes].filter(([, o]) => o[0] === 'ok').map(([id]) => String(id))
        for (const [, o] of outcomes) {
          expect(o).toHaveLength(1)
          expect(['ok', 'ERR_TRANSPORT_FULL']).toContain(o[0])
        }
        expect(await waitForValue(() => echo.ask('recall'), (seen) => seen.length >= sent.length)).toEqual(sent)
        expect(a.offersWaiting).toBe(0)
        await Promise.all(systems.splice(0).map((s) => s.terminate()))
      }),
      { numRuns: 40 },
    )
  })
})
