/**
 * Suite `kafka` (`npm run bench -- kafka`, on demand: it builds/loads librdkafka's node binding and
 * starts librdkafka's mock cluster, or uses KAFKA_BROKERS): records/s through the bridge in
 * exactly-once and at-least-once modes (consume → ask a target → produce its answer → commit),
 * each next to raw produce of the same records measured in the same run (the baseline).
 */
import { randomUUID } from 'node:crypto'
import { ConfluentKafkaClient, spawnKafkaBridge, type BridgeMode, type OutRecord, type RecordMeta } from '../actors/index.ts'
import { Actor, ActorSystem } from '../runtime/index.ts'
import { nativeClientDir, provideKafka } from '../test/support/kafka/kafkaServices.ts'
import { check, median, note, rate, report, round, startTiming, type Rate, type Suite } from './harness.ts'

const N = Number(process.env['KAFKA_BENCH_RECORDS'] ?? 3000)
const ROUNDS = Number(process.env['KAFKA_BENCH_ROUNDS'] ?? 3)

class Copy extends Actor<{ handle(value: unknown, meta: RecordMeta): OutRecord }> {
  static handled = 0
  handle(value: unknown, meta: RecordMeta): OutRecord {
    Copy.handled++
    return { topic: `${meta.topic}-out`, key: meta.key, value: JSON.stringify(value) }
  }
}

function records(topic: string): OutRecord[] {
  return Array.from({ length: N }, (_, id) => ({ topic, key: `k${id % 16}`, value: JSON.stringify({ id }) }))
}

async function rawProduce(client: ConfluentKafkaClient): Promise<Rate> {
  const producer = client.producer({ clientId: 'bench-raw' })
  await producer.connect()
  const stop = startTiming()
  await producer.send(records(`raw-${randomUUID().slice(0, 8)}`))
  const timing = stop()
  await producer.disconnect()
  return rate(N, timing)
}

async function pipeline(client: ConfluentKafkaClient, mode: BridgeMode, scope: 'instance' | 'partition'): Promise<Rate> {
  const topic = `${mode}-${randomUUID().slice(0, 8)}`
  const feeder = client.producer({ clientId: 'bench-feeder' })
  await feeder.connect()
  await feeder.send(records(topic))
  await feeder.disconnect()
  const system = ActorSystem.create({ name: 'bench-kafka' })
  Copy.handled = 0
  const target = system.spawn(Copy)
  const stop = startTiming()
  const bridge = await spawnKafkaBridge(system, {
    consumer: { name: topic, client, groupId: topic, topics: [topic], target, method: 'handle', mode, transactionalIdScope: scope, instanceId: 'bench', batchMaxRecords: 500, batchMaxMs: 100, maxPollRecords: 500, askTimeoutMs: 5000 },
  })
  for (;;) {
    const stats = await bridge.consumer.ask('stats')
    if (stats.committedRecords >= N) break
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  const timing = stop()
  check(Copy.handled >= N, `${mode}: ${Copy.handled} of ${N} records handled`)
  await system.terminate()
  return rate(N, timing)
}

export const suite: Suite = {
  description: 'Kafka bridge: exactly-once (transactional id per instance or per partition) and at-least-once pipeline records/s vs raw produce in the same run (librdkafka mock cluster or KAFKA_BROKERS)',
  cases: ['eos', 'eos-partition', 'alo'],
  async run({ only }) {
    const moduleDir = nativeClientDir()
    const peer = await provideKafka()
    note(`Kafka from ${peer.source}: ${peer.brokers}; ${N} records × ${ROUNDS} rounds`)
    const client = new ConfluentKafkaClient({ brokers: peer.brokers, moduleDir })
    try {
      // eos-partition: one transactional producer per input partition (EOS v1) instead of one per instance.
      for (const [name, mode, scope] of [['eos', 'exactly-once', 'instance'], ['eos-partition', 'exactly-once', 'partition'], ['alo', 'at-least-once', 'instance']] as const) {
        if (only !== null && !only.has(name)) continue
        const candidate: number[] = []
        const baseline: number[] = []
        for (let r = 0; r < ROUNDS; r++) {
          baseline.push((await rawProduce(client)).perSecond)
          candidate.push((await pipeline(client, mode, scope)).perSecond)
        }
        const value = median(candidate)
        const base = median(baseline)
        report({ case: `kafka.${name}`, value: round(value), unit: 'records/s', baseline: round(base), ratio: round(value / base, 3), rounds: candidate.map((v) => round(v, 1)), baselineRounds: baseline.map((v) => round(v, 1)), baselineIs: 'raw produce of the same records (one producer, acks awaited)', records: N })
      }
    } finally {
      await peer.stop()
    }
  },
}
