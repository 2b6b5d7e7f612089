/**
 * Issue 11, row "receiver 5 ms/message across shards", the `offer` half (real node, real worker
 * threads): offers to a slow actor on another shard are not refused with ERR_TRANSPORT_FULL once the
 * ring and its outbox are full; they wait for room and complete in order, every message is processed
 * once and in order, nothing becomes a dead letter, and the node's memory stays bounded.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { FaultsCluster, eventually, logLines } from './faultsSupport.ts'

let cluster: FaultsCluster | null = null
afterEach(async () => {
  await cluster?.close()
  cluster = null
})

/** Most the node's RSS may grow: rings 1 MiB, the outbox bound 16 MiB, the waiting offers and the receiver's mailbox (8 KiB messages). */
const RSS_GROWTH_BOUND = 200 * 1024 * 1024
const OFFERS = 10_000
/**
 * 8 KiB a message: the ring and the 16 MiB outbox hold ~2 100 of them and the receiver's
 * mailbox its high-water mark plus a frame (~3 000) before its ring pauses; the producer offers all in
 * one turn, so the rest must wait (at least 1 000 of them, asserted).
 */
const PAD = 8 * 1024

describe('slow receiver across shards (real node): offer', () => {
  it('offers wait for the ring and its outbox, then complete in order; nothing refused, lost, duplicated or dead-lettered', async () => {
    const faults = (cluster = new FaultsCluster())
    const node = faults.start('ringoffer', ['--shards', '2'])
    await node.waitForLog((line) => line['msg'] === 'node started')
    const control = await faults.control('ringoffer')
    // An async handler with 50 µs of busy work per message: several times slower than a producer
    // that offers everything in one turn (~5–15 µs an offer), so the ring and outbox fill while it
    // offers. Without the busy work the receiving thread could keep pace and nothing waited in some
    // runs (most waiting 0 of 10 000). (With a timer turn per message instead, on this shared machine,
    // the ~4 000 messages ahead of the last offers took longer than the node's default offer timeout
    // of 5 s, which its CLI cannot change: they timed out, typed and never sent, which the assertions
    // below allow only as a suffix.)
    const ledger = await control.ask('spawnLedger', 2, -1, 10_000, 0.05)
    const rssBefore = await control.ask('rss')
    let rssMax = rssBefore
    await control.ask('startOfferer', 1, ledger, OFFERS, PAD)
    const done = await eventually(
      async () => {
        const [state, report, rss] = await Promise.all([control.ask('ledger', 2), control.ask('offererReport', 1), control.ask('rss')])
        rssMax = Math.max(rssMax, rss)
        if (process.env['DEBUG_RINGOFFER']) process.stderr.write(`${JSON.stringify({ state, report })}\n`)
        return { state, report }
      },
      ({ state, report }) => report.resolved + Object.values(report.failures).reduce((a, b) => a + b, 0) === OFFERS && state.tells === report.resolved,
      60_000,
    )
    const { state, report } = done
    process.stderr.write(`[ringoffer] ledger ${JSON.stringify(state)}; offerer ${JSON.stringify(report)}; rss ${Math.round(rssBefore / 2 ** 20)} -> max ${Math.round(rssMax / 2 ** 20)} MiB\n`)
    // Nothing refused for room. An offer may only time out (5 s, the node's default ask timeout, on a
    // loaded machine): then it was never sent, and since all were made at once, those that time out are the last ones.
    expect(Object.keys(report.failures).filter((code) => code !== 'ERR_OFFER_TIMEOUT')).toEqual([])
    if (report.firstFailedSeq > 0) expect(report.firstFailedSeq).toBeGreaterThan(report.lastResolvedSeq)
    expect(report.resolved).toBeGreaterThan(OFFERS / 2)
    expect(report.resolvedOutOfOrder).toBe(0)
    // They did wait: far more were offered than the ring and the outbox hold.
    expect(report.mostWaiting).toBeGreaterThan(1000)
    expect(state.tells).toBe(report.resolved)
    expect(state.duplicates).toBe(0)
    expect(state.outOfOrder).toBe(0)
    expect(state.deadLetters).toBe(0)
    expect(logLines(node).filter((line) => line['msg'] === 'dead letter')).toEqual([])
    expect(rssMax - rssBefore).toBeLessThan(RSS_GROWTH_BOUND)
  }, 90_000)
})
