/**
 * Issue 11, row "receiver slower than sender across NATS": the receiver handles one message per
 * millisecond, the sender floods. Credit-based flow control pushes back on the sender: it gets
 * ERR_TRANSPORT_FULL at the call, nothing overflows the receiver's mailbox, every tell the sender
 * got through is processed exactly once, and what each side holds stays under the stated bounds.
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { Actor } from '../../../runtime/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { uniqueCluster } from '../../support/services.ts'

const WINDOW = 64 * 1024
const QUEUED_PER_PEER = 256 * 1024
const HIGH_WATER = 200
const MAX_BATCH = 1024
/** ~200 bytes per tell, so the bounds above hold a few thousand tells and the drain takes seconds. */
const PAYLOAD = 'x'.repeat(200)

let processed = new Uint8Array(0)

interface SlowProtocol {
  take(id: number, payload: string): Promise<void>
}
class Slow extends Actor<SlowProtocol> implements SlowProtocol {
  async take(id: number, payload: string): Promise<void> {
    if (payload.length !== PAYLOAD.length) throw new Error('payload damaged')
    processed[id] = (processed[id] as number) + 1
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

const nodes: TestNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

describe('NATS flow control', () => {
  it('a slow receiver pushes back: the sender gets ERR_TRANSPORT_FULL at the call, nothing drops at the receiver, memory stays bounded', async () => {
    const cluster = uniqueCluster('slow')
    const url = inject('natsUrl')
    let deepest = 0
    const a = await startNode(url, cluster, 'a', { transport: { maxQueuedBytesPerPeer: QUEUED_PER_PEER } })
    const b = await startNode(url, cluster, 'b', {
      system: { mailboxHooks: { posted: (_actor, depth) => void (deepest = Math.max(deepest, depth)) } },
      transport: { receiveWindowBytes: WINDOW },
      remoting: { inboundHighWater: HIGH_WATER },
    })
    nodes.push(a, b)
    const slow = a.system.refFor<SlowProtocol>(b.system.spawn(Slow, { name: 'slow' }).address)
    await waitFor(() => a.transport.members().includes('b'), { timeoutMs: 10_000 })

    const ATTEMPTS = 40_000
    processed = new Uint8Array(ATTEMPTS)
    const accepted = new Uint8Array(ATTEMPTS)
    let acceptedCount = 0
    const refusals = new Map<string, number>()
    let senderRetained = 0
    let receiverHeld = 0
    const rssBefore = process.memoryUsage().rss
    let rssPeak = rssBefore
    const sample = (): void => {
      senderRetained = Math.max(senderRetained, a.transport.stats.bytesBuffered + a.transport.stats.bytesUnacked)
      receiverHeld = Math.max(receiverHeld, b.remoting.stats.inboundHeld)
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
    }
    // Flood: as fast as the event loop lets it, far faster than 1 message per ms.
    for (let id = 0; id < ATTEMPTS; id++) {
      try {
        slow.tell('take', id, PAYLOAD)
        accepted[id] = 1
        acceptedCount++
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'unknown'
        refusals.set(code, (refusals.get(code) ?? 0) + 1)
      }
      if (id % 200 === 199) {
        sample()
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    sample()
    // Pushed back at the call, with the transport's code only.
    expect([...refusals.keys()]).toEqual(['ERR_TRANSPORT_FULL'])
    expect(acceptedCount).toBeLessThan(ATTEMPTS / 2)

    // Everything accepted is processed, exactly once; nothing overflowed or was dead-lettered on b.
    await waitFor(() => {
      sample()
      let n = 0
      for (let id = 0; id < ATTEMPTS; id++) n += processed[id] as number
      return n >= acceptedCount
    }, { timeoutMs: 45_000 })
    for (let id = 0; id < ATTEMPTS; id++) expect(processed[id]).toBe(accepted[id])
    expect(b.system.deadLetters.count).toBe(0)
    expect(a.system.deadLetters.count).toBe(0)
    expect(b.remoting.stats.inboundHolds).toBeGreaterThan(0)

    // The bounds docs/protocol.md states: the mailbox gets at most the high-water mark plus one frame,
    // the receiver holds at most one window of frames per sender (~1 KiB per 200-byte tell decoded, generously),
    // the sender retains at most its per-peer queue plus the credit in flight (plus one frame each).
    expect(deepest).toBeLessThanOrEqual(HIGH_WATER + MAX_BATCH)
    expect(receiverHeld).toBeLessThanOrEqual(Math.ceil((1024 * 1024) / 200) + MAX_BATCH)
    expect(senderRetained).toBeLessThanOrEqual(QUEUED_PER_PEER + 1024 * 1024 + 2 * 256 * 1024)
    expect(rssPeak - rssBefore).toBeLessThan(256 * 1024 * 1024)
  }, 60_000)
})
