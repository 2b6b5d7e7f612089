import { describe, expect, it } from 'vitest'
import { waitForValue } from '../../../../testing/index.ts'
import { AskingRecorder, Counter, FloodWatcher, Recorder, Sender } from './testApp.ts'
import { shardedSystems } from './support.ts'

const app = new URL('./testApp.ts', import.meta.url)

const startSharded = shardedSystems()

describe('backpressure between shards', () => {
  it('a slow consumer fills the ring instead of its mailbox, and nothing is lost or reordered', async () => {
    // A 4 KiB ring: every batch is chunked, and the ring is full most of the time. A mailbox takes
    // at most inboundHighWater + maxBatch inbound messages before the shard stops reading.
    const system = await startSharded({ name: 'bp', shards: 2, app, ringBytes: 4096, inboundHighWater: 256, maxBatch: 256 })
    const count = 20_000
    // 20 µs per message and a mailbox far smaller than the burst: without consumer-side flow
    // control the burst would overflow it into dead letters.
    const recorder = await system.spawn(Recorder, { shard: 2, args: [20], mailbox: { capacity: 1000 } })
    const sender = await system.spawn(Sender, { shard: 1 })
    expect(await sender.askWith({ timeoutMs: 30_000 }, 'blast', recorder, 1, count)).toEqual({ sent: count, errors: {} })
    const summary = await waitForValue(() => recorder.ask('summary'), (s) => s.count === count, { timeoutMs: 30_000 })
    expect(summary).toEqual({ count, inOrder: true, perSender: { '1': count } })

    const stats = await system.stats()
    const producer = stats.shards.find((s) => s.shard === 1)
    const consumer = stats.shards.find((s) => s.shard === 2)
    const ringTo2 = producer?.peers.find((p) => p.shard === 2)
    expect(ringTo2?.outbound?.fullEvents).toBeGreaterThan(0)
    expect(ringTo2?.outbound?.chunkedFrames).toBeGreaterThan(0)
    expect(producer?.transport.outboxParks).toBeGreaterThan(0)
    expect(consumer?.transport.pauses).toBeGreaterThan(0)
    expect(stats.shards.map((s) => s.deadLetters)).toEqual([0, 0, 0])
    expect(producer?.transport.queuedFrames).toBe(0)
  }, 60_000)

  it('past the outbox bound sends fail with ERR_TRANSPORT_FULL (thrown at the call, or counted dead letters), never silently', async () => {
    const system = await startSharded({ name: 'bp', shards: 2, app, ringBytes: 4096, maxOutboxBytes: 128 * 1024 })
    const count = 20_000
    const recorder = await system.spawn(Recorder, { shard: 2 })
    const blocker = await system.spawn(Counter, { shard: 2 })
    const sender = await system.spawn(Sender, { shard: 1 })
    await recorder.ask('summary')
    // Shard 2's event loop is busy for 1.5 s: its inbound ring and then shard 1's outbox fill up.
    blocker.tell('slowAdd', 1, 1500)
    const blast = await sender.askWith({ timeoutMs: 30_000 }, 'blast', recorder, 1, count)
    // While the transport is full, a tell throws ERR_TRANSPORT_FULL at the call (checked once per turn).
    const thrown = blast.errors['ERR_TRANSPORT_FULL'] ?? 0
    expect(Object.keys(blast.errors).filter((code) => code !== 'ERR_TRANSPORT_FULL')).toEqual([])
    expect(blast.sent + thrown).toBe(count)

    const stats = await waitForValue(
      () => system.stats(),
      (s) => s.shards[1]?.transport.queuedFrames === 0,
      { timeoutMs: 30_000 },
    )
    const producer = stats.shards[1]
    expect(producer?.transport.outboxFull).toBeGreaterThan(0)
    const refused = producer?.deadLetters ?? 0
    expect(refused).toBe(producer?.remoting.undeliverable)
    // Refused one way or the other, never silently.
    expect(thrown + refused).toBeGreaterThan(0)
    // Every message is accounted for: delivered, thrown at the sender, or a dead letter on the sending shard.
    const summary = await waitForValue(() => recorder.ask('summary'), (s) => s.count + refused + thrown === count, { timeoutMs: 30_000 })
    expect(summary.count).toBeGreaterThan(0)
    expect(summary.count + refused + thrown).toBe(count)
  }, 60_000)

  it('a shard that refuses tells for a full outbox still carries a watch: the watcher hears the termination', async () => {
    const system = await startSharded({ name: 'bp-watch', shards: 2, app, ringBytes: 4096, maxOutboxBytes: 16 * 1024 })
    const sink = await system.spawn(Recorder, { shard: 2, args: [100] }) // 100 µs per message: a slow consumer
    const watched = await system.spawn(FloodWatcher, { shard: 2 })
    const flooder = await system.spawn(FloodWatcher, { shard: 1 })
    expect(await flooder.askWith({ timeoutMs: 30_000 }, 'floodThenWatch', sink, watched)).toBeGreaterThan(0)
    watched.tell('quit')
    // A dropped watch would leave the watcher waiting forever. (The quit may overtake the watch,
    // which queues behind the flood: then the watch is answered with not-found.)
    const seen = await waitForValue(() => flooder.ask('seen'), (t) => t.length === 1, { timeoutMs: 30_000 })
    expect(['normal', 'not-found']).toContain(seen[0]?.reason.kind)
  }, 60_000)

  it('a congested actor waiting for a reply stuck in its own ring behind its backlog still gets it (the stall rule), and nothing is lost', async () => {
    const system = await startSharded({ name: 'bp-stall', shards: 2, app, ringBytes: 4096, inboundHighWater: 64, maxBatch: 64 })
    const count = 1000
    const sender = await system.spawn(Sender, { shard: 1 })
    // At message 10 the recorder asks the sender; the reply queues behind the rest of the blast.
    const recorder = await system.spawn(AskingRecorder, { shard: 2, args: [sender, 10], mailbox: { capacity: 100_000 } })
    expect(await sender.askWith({ timeoutMs: 30_000 }, 'blast', recorder, 1, count)).toEqual({ sent: count, errors: {} })
    const summary = await waitForValue(() => recorder.ask('summary'), (s) => s.count === count, { timeoutMs: 30_000 })
    expect(summary).toEqual({ count, inOrder: true, perSender: { '1': count } })
    const stats = await system.stats()
    const consumer = stats.shards.find((s) => s.shard === 2)
    expect(consumer?.transport.pauses).toBeGreaterThan(0)
    expect(consumer?.transport.stalls).toBeGreaterThan(0)
    expect(stats.shards.map((s) => s.deadLetters)).toEqual([0, 0, 0])
  }, 60_000)
})
