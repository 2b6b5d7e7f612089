/**
 * At-least-once and at-most-once on the twin, backpressure from the target's mailbox, the
 * producer side on its own, and option checks.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaProducerActor, KafkaUnavailableError, resolveBridgeOptions, type KafkaBridgeOptions } from '../../../../actors/index.ts'
import { Actor } from '../../../../runtime/index.ts'
import type { ActorTestKit } from '../../../../testing/index.ts'
import { Copier, produceInputs, range, setup, startBridge } from './helpers.ts'

let kits: ActorTestKit[] = []
afterEach(async () => {
  for (const kit of kits) await kit.shutdown()
  kits = []
})

/** A tell target that works slowly: its mailbox fills up while the bridge keeps polling. */
class SlowSink extends Actor<{ handle(value: unknown): Promise<void> }> {
  static seen: number[] = []
  static maxDepth = 0
  async handle(value: unknown): Promise<void> {
    SlowSink.seen.push((value as { id: number }).id)
    await new Promise<void>((resolve) => this.context.system.clock.setTimer(5, resolve))
  }
}

describe('at-least-once and at-most-once', () => {
  it('at-least-once with ask: every record processed, answers produced before the offsets are committed', async () => {
    const { kit, twin } = setup(11)
    kits.push(kit)
    await produceInputs(twin, 25)
    const target = kit.spawn(Copier, { args: [0] })
    const bridge = await startBridge(kit, twin, target, 'p1', { mode: 'at-least-once' })
    await kit.runUntil(() => twin.read('out').length >= 25, 20_000)
    await kit.advance(200)
    expect(twin.read('out').map((r) => (JSON.parse(String(r.value)) as { id: number }).id).sort((a, b) => a - b)).toEqual(range(25))
    const consumer = twin.client('check').consumer({ groupId: 'copiers', isolation: 'read_committed' })
    const committed = await consumer.committed([0, 1, 2].map((partition) => ({ topic: 'in', partition })))
    expect(committed.reduce<number>((n, c) => n + (c ?? 0), 0)).toBe(25)
    expect(await kit.ask(bridge.consumer, 'stats')).toMatchObject({ consumed: 25, committedRecords: 25 })
  })

  it('at-least-once rides out a broker outage: it backs off and replays the batch, nothing is lost', async () => {
    const { kit, twin } = setup(12)
    kits.push(kit)
    await produceInputs(twin, 20)
    const target = kit.spawn(Copier, { args: [0] })
    const bridge = await startBridge(kit, twin, target, 'p1', { mode: 'at-least-once', maxPollRecords: 4 })
    twin.unavailable = true
    kit.sim.after(800, () => (twin.unavailable = false))
    await kit.runUntil(() => new Set(twin.read('out').map((r) => String(r.value))).size >= 20, 30_000)
    const stats = await kit.ask(bridge.consumer, 'stats')
    expect(stats.retries).toBeGreaterThan(0)
  })

  it('at-most-once with tell commits before handing over; backpressure pauses the partitions while the mailbox is deep', async () => {
    const { kit, twin } = setup(13)
    kits.push(kit)
    SlowSink.seen = []
    await produceInputs(twin, 60)
    const sink = kit.spawn(SlowSink)
    const bridge = await startBridge(kit, twin, sink as never, 'p1', { mode: 'at-most-once', delivery: 'tell', maxPollRecords: 5, highWatermark: 6, lowWatermark: 2 })
    await kit.runUntil(() => SlowSink.seen.length >= 60, 30_000)
    expect([...SlowSink.seen].sort((a, b) => a - b)).toEqual(range(60))
    const stats = await kit.ask(bridge.consumer, 'stats')
    expect(stats.pauses).toBeGreaterThan(0)
  })
})

describe('producer side', () => {
  it('produces what actors ask or tell it to, retrying transient failures', async () => {
    const { kit, twin } = setup(14)
    kits.push(kit)
    const producer = kit.spawn(KafkaProducerActor, { args: [{ name: 'outbox', client: twin.client('outbox'), retry: { minMs: 10, maxMs: 50, maxAttempts: 5 } }] })
    twin.failNext('send', new KafkaUnavailableError('injected'), 2)
    await kit.ask(producer, 'produce', [{ topic: 'events', value: 'a' }, { topic: 'events', value: 'b' }])
    producer.tell('produce', { topic: 'events', value: 'c' })
    await kit.runUntil(() => twin.read('events').length === 3, 5000)
    expect(await kit.ask(producer, 'stats')).toMatchObject({ produced: 3, retries: 2 })
  })

  it('fails the call with ERR_KAFKA_PRODUCE_FAILED after its retries', async () => {
    const { kit, twin } = setup(15)
    kits.push(kit)
    const producer = kit.spawn(KafkaProducerActor, { args: [{ name: 'outbox', client: twin.client('outbox'), retry: { minMs: 10, maxMs: 20, maxAttempts: 3 } }] })
    twin.failNext('send', new KafkaUnavailableError('injected'), 3)
    await expect(kit.ask(producer, 'produce', { topic: 'events', value: 'a' })).rejects.toMatchObject({ code: 'ERR_KAFKA_PRODUCE_FAILED', data: { attempts: 3 } })
  })
})

describe('options', () => {
  it('lists every problem in one ERR_KAFKA_INVALID_CONFIG', () => {
    const { kit, twin } = setup(16)
    kits.push(kit)
    const base = { name: 'b', client: twin.client(), groupId: 'g', topics: ['in'], target: kit.spawn(Copier, { args: [0] }), method: 'handle' } as const
    const bad: KafkaBridgeOptions = { ...base, mode: 'exactly-once', delivery: 'tell', transactionTimeoutMs: 1000 }
    let error: unknown = null
    try {
      resolveBridgeOptions(bad)
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ code: 'ERR_KAFKA_INVALID_CONFIG' })
    const problems = (error as { data: { problems: string[] } }).data.problems.join('\n')
    expect(problems).toMatch(/needs delivery ask/)
    expect(problems).toMatch(/stable instanceId/)
    expect(problems).toMatch(/transactionTimeoutMs/)
    expect(() => resolveBridgeOptions({ ...base, mode: 'at-least-once' })).not.toThrow()
  })
})
