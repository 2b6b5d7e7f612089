import { afterEach, describe, expect, it } from 'vitest'
import { FaultsCluster, eventually, logLines } from './faultsSupport.ts'

let cluster: FaultsCluster | null = null
afterEach(async () => {
  await cluster?.close()
  cluster = null
})

/** Most the node's RSS may grow while the sender is pushed back (rings 1 MiB, outbox bound 16 MiB per peer). */
const RSS_GROWTH_BOUND = 200 * 1024 * 1024

describe('slow receiver across shards (real node)', () => {
  it('keeps backpressure: the sender gets ERR_TRANSPORT_FULL at the call, nothing is dropped at the receiver, memory stays bounded', async () => {
    const faults = (cluster = new FaultsCluster())
    const node = faults.start('ring', ['--shards', '2'])
    await node.waitForLog((line) => line['msg'] === 'node started')
    const control = await faults.control('ring')
    // 5 ms per message (async handler) with the default mailbox bound (10 000): the old stall check
    // let 1024 messages through every 2 ms and overflowed it at the receiver.
    const ledger = await control.ask('spawnLedger', 2, 5, 10_000)
    const rssBefore = await control.ask('rss')
    // Shard 1 offers 100 000 tells a second, 500 times what shard 2 can take.
    await control.ask('startSender', 1, ledger, 0, 1000, 0)
    let rssMax = rssBefore
    let mailboxMax = 0
    const started = Date.now()
    // Pushed back for 6 s: the rings and the outbox fill within the first second.
    await eventually(
      async () => {
        const [state, report, rss] = await Promise.all([control.ask('ledger', 2), control.ask('senderReport', 1), control.ask('rss')])
        rssMax = Math.max(rssMax, rss)
        mailboxMax = Math.max(mailboxMax, state.mailbox)
        return { state, report }
      },
      ({ state, report }) => {
        expect(state.deadLetters).toBe(0)
        return Date.now() - started > 6000 && (report.thrown['ERR_TRANSPORT_FULL'] ?? 0) > 0
      },
      30_000,
    )
    await control.ask('stopSender', 1)
    const state = await control.ask('ledger', 2)
    const report = await control.ask('senderReport', 1)
    process.stderr.write(`[ring] ledger ${JSON.stringify(state)} mailbox max ${mailboxMax}; rss ${Math.round(rssBefore / 2 ** 20)} -> max ${Math.round(rssMax / 2 ** 20)} MiB; sender ${JSON.stringify(report)}\n`)
    // Refused at the call, typed; nothing else went wrong at the sender.
    expect(report.thrown['ERR_TRANSPORT_FULL']).toBeGreaterThan(0)
    expect(Object.keys(report.thrown).filter((code) => code !== 'ERR_TRANSPORT_FULL')).toEqual([])
    // Nothing dropped at the receiver: no dead letters there, and its mailbox stayed near the
    // high-water mark (2048 + one frame of 1024), far from its 10 000 bound.
    expect(state.deadLetters).toBe(0)
    expect(state.duplicates).toBe(0)
    expect(mailboxMax).toBeLessThanOrEqual(2048 + 1024)
    expect(logLines(node).filter((line) => line['msg'] === 'dead letter' && line['shard'] === 2)).toEqual([])
    expect(rssMax - rssBefore).toBeLessThan(RSS_GROWTH_BOUND)
  }, 60_000)
})
