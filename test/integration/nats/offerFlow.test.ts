/**
 * Issue 11, row "receiver slower than sender across NATS", the `offer` half: a sender that offers
 * faster than the receiver takes is not refused; its offers wait for credit and complete in order,
 * every message is processed exactly once and in order, and memory stays bounded (the waiting list,
 * the sender's per-peer queue, one credit window and the receiver's high-water mark).
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { Actor } from '../../../runtime/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { uniqueCluster } from '../../support/services.ts'

const WINDOW = 64 * 1024
const QUEUED_PER_PEER = 128 * 1024
const HIGH_WATER = 200
const MAX_BATCH = 1024
const PAYLOAD = 'x'.repeat(200)
const OFFERS = 4000

const order: number[] = []

interface SlowProtocol {
  take(id: number, payload: string): Promise<void>
}
class Slow extends Actor<SlowProtocol> implements SlowProtocol {
  async take(id: number, payload: string): Promise<void> {
    if (payload.length !== PAYLOAD.length) throw new Error('payload damaged')
    order.push(id)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

const nodes: TestNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

describe('NATS flow control: offer', () => {
  it('offers to a slow receiver wait for credit and complete in order; nothing is refused, lost or duplicated; memory stays bounded', async () => {
    const cluster = uniqueCluster('offer')
    const url = inject('natsUrl')
    let deepest = 0
    const a = await startNode(url, cluster, 'a', { system: { offerTimeoutMs: 60_000 }, transport: { maxQueuedBytesPerPeer: QUEUED_PER_PEER } })
    const b = await startNode(url, cluster, 'b', {
      system: { mailboxHooks: { posted: (_actor, depth) => void (deepest = Math.max(deepest, depth)) } },
      transport: { receiveWindowBytes: WINDOW },
      remoting: { inboundHighWater: HIGH_WATER },
    })
    nodes.push(a, b)
    const slow = a.system.refFor<SlowProtocol>(b.system.spawn(Slow, { name: 'slow' }).address)
    await waitFor(() => a.transport.members().includes('b'), { timeoutMs: 10_000 })
    order.length = 0

    const resolved: number[] = []
    const failures = new Map<string, number>()
    let mostWaiting = 0
    let senderRetained = 0
    const rssBefore = process.memoryUsage().rss
    let rssPeak = rssBefore
    const sample = (): void => {
      mostWaiting = Math.max(mostWaiting, a.system.offersWaiting)
      senderRetained = Math.max(senderRetained, a.transport.stats.bytesBuffered + a.transport.stats.bytesUnacked)
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
    }
    // Every offer at once: far more than the link and the receiver hold.
    const offers: Promise<void>[] = []
    for (let id = 0; id < OFFERS; id++) {
      offers.push(
        slow.offer('take', id, PAYLOAD).then(
          () => void resolved.push(id),
          (error: unknown) => {
            const code = (error as { code?: string }).code ?? 'unknown'
            failures.set(code, (failures.get(code) ?? 0) + 1)
          },
        ),
      )
      if (id % 200 === 199) {
        sample()
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    sample()
    // They wait: most of them cannot be taken until the receiver has worked through the first.
    expect(a.system.offersWaiting).toBeGreaterThan(OFFERS / 4)
    await waitFor(
      () => {
        sample()
        return resolved.length + [...failures.values()].reduce((x, y) => x + y, 0) === OFFERS && order.length === OFFERS
      },
      { timeoutMs: 45_000, message: 'offers did not all complete' },
    )
    await Promise.all(offers)

    expect([...failures]).toEqual([])
    // Completed in the order they were made, and processed once each in that order.
    expect(resolved).toEqual(Array.from({ length: OFFERS }, (_, i) => i))
    expect(order).toEqual(resolved)
    expect(a.system.offersWaiting).toBe(0)
    expect(a.system.deadLetters.count).toBe(0)
    expect(b.system.deadLetters.count).toBe(0)
    process.stderr.write(`[offer] most waiting ${mostWaiting}, deepest mailbox ${deepest}, sender retained ${senderRetained} B, rss +${Math.round((rssPeak - rssBefore) / 2 ** 20)} MiB\n`)
    // Bounds: the mailbox at most the high-water mark plus one frame; the sender retains at most its
    // per-peer queue plus the credit in flight (a frame over each); the process grows by far less than a fixed bound.
    expect(mostWaiting).toBeGreaterThan(OFFERS / 4)
    expect(deepest).toBeLessThanOrEqual(HIGH_WATER + MAX_BATCH)
    expect(senderRetained).toBeLessThanOrEqual(QUEUED_PER_PEER + 1024 * 1024 + 2 * 256 * 1024)
    expect(rssPeak - rssBefore).toBeLessThan(256 * 1024 * 1024)
  }, 60_000)
})
