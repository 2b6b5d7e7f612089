/**
 * The bridge's `troupe_kafka_*` metrics, read through the caller's prom-client registry.
 */
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaProducerActor, KafkaRebalanceError, KafkaUnavailableError } from '../../../../actors/index.ts'
import { Actor } from '../../../../runtime/index.ts'
import type { ActorTestKit } from '../../../../testing/index.ts'
import { Copier, produceInputs, setup, startBridge } from './helpers.ts'

let kits: ActorTestKit[] = []
afterEach(async () => {
  for (const kit of kits) await kit.shutdown()
  kits = []
})

/** The value of one series in the exposition text (0 when absent). */
function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

class SlowSink extends Actor<{ handle(value: unknown): Promise<void> }> {
  async handle(): Promise<void> {
    await new Promise<void>((resolve) => this.context.system.clock.setTimer(5, resolve))
  }
}

describe('Kafka bridge metrics', () => {
  it('counts records, transactions, DLQ records, retries and rebalances; batch histograms; lag per assigned partition', async () => {
    const { kit, twin } = setup(41)
    kits.push(kit)
    const registry = new Registry()
    await produceInputs(twin, 30, [{ topic: 'in', key: 'bad', value: '{"id": ' }, { topic: 'in', key: 'bad', value: JSON.stringify({ id: -1 }) }])
    twin.failNext('send', new KafkaUnavailableError('injected'))
    twin.failNext('sendOffsets', new KafkaRebalanceError('injected'))
    const target = kit.spawn(Copier, { args: [5] })
    await startBridge(kit, twin, target, 'p1', { registry, maxPollRecords: 4 })
    await kit.advance(30)
    // Mid-way: the partitions still hold records this bridge has not reached.
    const early = await registry.metrics()
    const lagEarly = [0, 1, 2].map((p) => value(early, `troupe_kafka_consumer_lag{bridge="copy",topic="in",partition="${p}"}`))
    expect(lagEarly.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    await kit.runUntil(() => twin.read('out').length === 30 && twin.read('in.dlq').length === 2, 30_000)
    await kit.advance(200)
    const text = await registry.metrics()
    const b = 'bridge="copy"'
    // Retried batches are consumed (and handed over) again: at least the 32 records.
    expect(value(text, `troupe_kafka_records_consumed_total{${b}}`)).toBeGreaterThanOrEqual(32)
    expect(value(text, `troupe_kafka_dlq_records_total{${b}}`)).toBeGreaterThanOrEqual(2)
    expect(value(text, `troupe_kafka_records_produced_total{${b}}`)).toBeGreaterThanOrEqual(32)
    expect(value(text, `troupe_kafka_transactions_total{${b},outcome="committed"}`)).toBeGreaterThanOrEqual(1)
    expect(value(text, `troupe_kafka_transactions_total{${b},outcome="aborted"}`)).toBeGreaterThanOrEqual(2)
    expect(value(text, `troupe_kafka_retries_total{${b}}`)).toBeGreaterThanOrEqual(1)
    expect(value(text, `troupe_kafka_rebalances_total{${b},kind="assign"}`)).toBe(1)
    // Every committed record was in exactly one committed batch.
    expect(value(text, `troupe_kafka_batch_records_sum{${b}}`)).toBe(32)
    expect(value(text, `troupe_kafka_batch_duration_seconds_count{${b}}`)).toBe(value(text, `troupe_kafka_batch_records_count{${b}}`))
    for (const p of [0, 1, 2]) expect(text).toContain(`troupe_kafka_consumer_lag{${b},topic="in",partition="${p}"} 0`)
    expect(text).toContain(`troupe_kafka_paused_partitions{${b}} 0`)
  })

  it('reports paused partitions while the target is backed up, and the producer actor counts what it produced', async () => {
    const { kit, twin } = setup(42)
    kits.push(kit)
    const registry = new Registry()
    await produceInputs(twin, 60)
    const sink = kit.spawn(SlowSink)
    await startBridge(kit, twin, sink as never, 'p1', { registry, mode: 'at-least-once', delivery: 'tell', maxPollRecords: 10, highWatermark: 6, lowWatermark: 2 })
    let pausedSeen = 0
    for (let i = 0; i < 100 && pausedSeen === 0; i++) {
      await kit.advance(2)
      pausedSeen = value(await registry.metrics(), 'troupe_kafka_paused_partitions{bridge="copy"}')
    }
    expect(pausedSeen).toBe(3)
    const producer = kit.spawn(KafkaProducerActor, { args: [{ name: 'outbox', client: twin.client('outbox'), registry }] })
    await kit.ask(producer, 'produce', [{ topic: 'events', value: 'a' }, { topic: 'events', value: 'b' }])
    expect(value(await registry.metrics(), 'troupe_kafka_records_produced_total{bridge="outbox"}')).toBe(2)
  })
})
