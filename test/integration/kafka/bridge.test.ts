/**
 * The bridge through the real client (librdkafka, @confluentinc/kafka-javascript) against a Kafka
 * peer: the ladder's (KAFKA_BROKERS or librdkafka's mock cluster) for the plain paths, a mock of
 * the test's own for faults. What this proves: the protocol paths (groups, offsets, produce,
 * the transactional calls, errors, bounces, rebalances). What it cannot: the mock gives
 * transactions no meaning (see docs/components/kafka-bridge.md); that is the twin's job.
 */
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { ConfluentKafkaClient, type KafkaRecord } from '../../../actors/index.ts'
import { ActorSystem } from '../../../runtime/index.ts'
import { SupervisorEventTopic, type SupervisorEvent } from '../../../supervision/index.ts'
import { waitFor, waitForValue } from '../../../testing/index.ts'
import { ApiKeys, KafkaProtocolErrors, MockKafkaCluster } from '../../support/kafka/kafkaServices.ts'
import { bridge, distinct, produce, Sink, unique } from './helpers.ts'

const systems: ActorSystem[] = []
let ownMock: MockKafkaCluster | null = null
afterEach(async () => {
  for (const s of systems.splice(0)) await s.terminate()
  await ownMock?.stop()
  ownMock = null
})

describe('Kafka bridge through librdkafka', () => {
  let client: ConfluentKafkaClient
  beforeAll(() => {
    client = new ConfluentKafkaClient({ brokers: inject('kafkaBrokers'), moduleDir: inject('kafkaModuleDir'), requestTimeoutMs: 10_000 })
  })

  it('at-least-once pipeline: every record reaches the target and its answer is produced', async () => {
    const topic = unique('alo')
    await produce(client, topic, 60)
    const system = ActorSystem.create({ name: 'kafka-alo' })
    systems.push(system)
    const b = await bridge(system, client, topic, topic)
    await waitFor(() => distinct(topic) === 60, { timeoutMs: 45_000, message: `only ${distinct(topic)} of 60 records arrived` })
    const stats = await b.consumer.ask('stats')
    expect(stats.produced).toBeGreaterThanOrEqual(60)
  })

  it('exactly-once mode runs its transactional calls through the real client (the mock cannot prove the guarantee)', async () => {
    const topic = unique('eos')
    await produce(client, topic, 30)
    const system = ActorSystem.create({ name: 'kafka-eos' })
    systems.push(system)
    const b = await bridge(system, client, topic, topic, { mode: 'exactly-once', instanceId: 'i1', batchMaxRecords: 10, askTimeoutMs: 2000, transactionTimeoutMs: 10_000 })
    await waitFor(() => distinct(topic) === 30, { timeoutMs: 45_000, message: `only ${distinct(topic)} of 30 records arrived` })
    const stats = await waitForValue(() => b.consumer.ask('stats'), (s) => s.committedRecords >= 30, { timeoutMs: 20_000 })
    expect(stats.committedBatches).toBeGreaterThan(0)
  })

  it('broker errors: commits retried inside librdkafka, then refused produces that the bridge retries with backoff and escalates; the supervisor restarts it and it recovers; a bounce is ridden out', async () => {
    const topic = unique('faults')
    ownMock = await MockKafkaCluster.start({ [topic]: 3 })
    const own = new ConfluentKafkaClient({ brokers: ownMock.bootstrap, moduleDir: inject('kafkaModuleDir'), requestTimeoutMs: 5000 })
    await produce(own, topic, 40)
    // Retried by librdkafka itself, unseen by the bridge.
    await ownMock.failRequests(ApiKeys.OffsetCommit, 2, KafkaProtocolErrors.CoordinatorNotAvailable)
    const system = ActorSystem.create({ name: 'kafka-faults' })
    systems.push(system)
    const events: SupervisorEvent[] = []
    system.subscribe(SupervisorEventTopic, (e) => events.push(e))
    // Refused produces of the answers (a permanent error per request): the bridge replays the batch with backoff,
    // and after `maxAttempts` in a row escalates to its supervisor, which restarts it.
    await ownMock.failRequests(ApiKeys.Produce, 2, KafkaProtocolErrors.MessageTooLarge)
    const b = await bridge(system, own, topic, topic, { retry: { minMs: 50, maxMs: 200, maxAttempts: 2 } })
    await waitFor(() => distinct(topic) === 40, { timeoutMs: 45_000, message: `only ${distinct(topic)} of 40 records arrived` })
    // The answers to those records meet the refused produces: the bridge retries with backoff (and, when both
    // refusals hit in a row, escalates: its supervisor restarts it, and stats start again then). Waited for
    // before the bounce, so the refusals are the bridge's to meet and not the late producer's below.
    const restarted = (): boolean => events.some((e) => e.type === 'restart-scheduled' || e.type === 'child-restarted')
    await waitForValue(async () => restarted() || (await b.consumer.ask('stats')).retries > 0, (met) => met, { timeoutMs: 45_000 })
    // A bounce: the listener goes away and comes back; the clients reconnect on their own schedule.
    await ownMock.brokerDown(1)
    await ownMock.brokerUp(1)
    const more = own.producer({ clientId: 'late' })
    await more.connect()
    const late = Array.from({ length: 10 }, (_, i) => ({ topic, key: 'late', value: JSON.stringify({ id: 100 + i }) }))
    // The second refusal may still be waiting when this producer sends: it resends (distinct ids, duplicates harmless).
    await waitForValue(() => more.send(late).then(() => true, () => false), (sent) => sent, { timeoutMs: 30_000 })
    await waitFor(() => distinct(topic) === 50, { timeoutMs: 45_000, message: `only ${distinct(topic)} of 50 records arrived after the bounce` })
    await more.disconnect()
  })

  it('rebalance: a second instance joins the group; the partitions are shared and every record is processed', async () => {
    const topic = unique('rebalance')
    ownMock = await MockKafkaCluster.start({ [topic]: 4 })
    const own = new ConfluentKafkaClient({ brokers: ownMock.bootstrap, moduleDir: inject('kafkaModuleDir') })
    await produce(own, topic, 40)
    const system = ActorSystem.create({ name: 'kafka-rebalance' })
    systems.push(system)
    const first = await bridge(system, own, `${topic}-a`, topic)
    await waitFor(() => distinct(`${topic}-a`) > 0, { timeoutMs: 30_000 })
    const second = await bridge(system, own, `${topic}-b`, topic)
    await waitForValue(() => second.consumer.ask('stats'), (st) => st.assigned > 0, { timeoutMs: 30_000 })
    const late = own.producer({ clientId: 'late' })
    await late.connect()
    await late.send(Array.from({ length: 40 }, (_, i) => ({ topic, key: `k${i}`, value: JSON.stringify({ id: 40 + i }) })))
    await late.disconnect()
    const union = (): number => new Set([...(Sink.seen.get(`${topic}-a`) ?? []), ...(Sink.seen.get(`${topic}-b`) ?? [])]).size
    await waitFor(() => union() === 80, { timeoutMs: 60_000, message: `only ${union()} of 80 records arrived` })
    const [sa, sb] = [await first.consumer.ask('stats'), await second.consumer.ask('stats')]
    expect(sa.rebalances).toBeGreaterThan(1)
    expect(sa.assigned + sb.assigned).toBe(4)
  })
})

export type { KafkaRecord }
