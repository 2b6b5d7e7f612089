/**
 * Through the real client (librdkafka) against librdkafka's mock cluster: cooperative-sticky
 * rebalancing (incremental assign/unassign), and fatal errors injected into the transactional
 * protocol with `rd_kafka_mock_push_request_errors`, which librdkafka raises as fatal and the bridge
 * escalates to its supervisor.
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { ConfluentKafkaClient, type KafkaConsumerPort, type TopicPartition } from '../../../actors/index.ts'
import { ActorSystem } from '../../../runtime/index.ts'
import { SupervisorEventTopic, type SupervisorEvent } from '../../../supervision/index.ts'
import { waitFor, waitForValue } from '../../../testing/index.ts'
import { ApiKeys, KafkaProtocolErrors, MockKafkaCluster } from '../../support/kafka/kafkaServices.ts'
import { bridge, distinct, produce, Sink, unique } from './helpers.ts'

const systems: ActorSystem[] = []
const consumers: KafkaConsumerPort[] = []
let ownMock: MockKafkaCluster | null = null
afterEach(async () => {
  for (const c of consumers.splice(0)) await c.disconnect().catch(() => undefined)
  for (const s of systems.splice(0)) await s.terminate()
  await ownMock?.stop()
  ownMock = null
})

describe('cooperative-sticky through librdkafka', () => {
  it('a second member joining revokes only the partitions that move; the first keeps the rest without a pause', async () => {
    const topic = unique('coop')
    ownMock = await MockKafkaCluster.start({ [topic]: 4 })
    const own = new ConfluentKafkaClient({ brokers: ownMock.bootstrap, moduleDir: inject('kafkaModuleDir') })
    const events: string[] = []
    const listen = (who: string) => ({
      onAssign: (tps: readonly TopicPartition[]) => events.push(`${who}+${tps.map((tp) => tp.partition).sort().join(',')}`),
      onRevoke: (tps: readonly TopicPartition[]) => events.push(`${who}-${tps.map((tp) => tp.partition).sort().join(',')}`),
    })
    const make = async (who: string): Promise<KafkaConsumerPort> => {
      const c = own.consumer({ clientId: who, groupId: `${topic}-g`, isolation: 'read_committed', rebalanceProtocol: 'cooperative', sessionTimeoutMs: 6000 })
      consumers.push(c)
      await c.connect()
      await c.subscribe([topic], listen(who))
      return c
    }
    const a = await make('a')
    await waitForValue(async () => (await a.poll(10), a.assignment().length), (n) => n === 4, { timeoutMs: 30_000 })
    const b = await make('b')
    let aEmpty = false
    const settled = await waitForValue(async () => {
      await Promise.all([a.poll(10), b.poll(10)])
      if (a.assignment().length === 0) aEmpty = true
      return a.assignment().length === 2 && b.assignment().length === 2
    }, (done) => done, { timeoutMs: 45_000 }).catch(() => false)
    expect(settled, `no cooperative handover: ${events.join(' ')}`).toBe(true)
    // Incremental: a lost two partitions (never all four), b got exactly those two.
    // (librdkafka also calls back with empty incremental lists: those are no change.)
    const revokes = events.filter((e) => e.startsWith('a-') && e !== 'a-')
    expect(revokes.length).toBe(1)
    expect(revokes[0]?.split(',').length).toBe(2)
    expect(aEmpty).toBe(false)
    expect(events.filter((e) => e.startsWith('b+') && e !== 'b+').map((e) => e.slice(2))).toEqual([revokes[0]?.slice(2)])
  }, 120_000)

  it('two bridges in cooperative mode share the partitions; every record is processed', async () => {
    const topic = unique('coopbridge')
    ownMock = await MockKafkaCluster.start({ [topic]: 4 })
    const own = new ConfluentKafkaClient({ brokers: ownMock.bootstrap, moduleDir: inject('kafkaModuleDir') })
    await produce(own, topic, 40)
    const system = ActorSystem.create({ name: 'kafka-coop' })
    systems.push(system)
    const first = await bridge(system, own, `${topic}-a`, topic, { rebalanceProtocol: 'cooperative' })
    await waitFor(() => distinct(`${topic}-a`) > 0, { timeoutMs: 30_000 })
    const second = await bridge(system, own, `${topic}-b`, topic, { rebalanceProtocol: 'cooperative' })
    await waitForValue(() => second.consumer.ask('stats'), (s) => s.assigned > 0, { timeoutMs: 30_000 })
    await produce(own, topic, 40, 40)
    const union = (): number => new Set([...(Sink.seen.get(`${topic}-a`) ?? []), ...(Sink.seen.get(`${topic}-b`) ?? [])]).size
    await waitFor(() => union() === 80, { timeoutMs: 60_000, message: `only ${union()} of 80 records arrived` })
    const [sa, sb] = [await first.consumer.ask('stats'), await second.consumer.ask('stats')]
    expect(sa.assigned + sb.assigned).toBe(4)
  }, 120_000)
})

describe('transactional id per input partition through librdkafka', () => {
  it('one transactional producer per assigned partition runs init/begin/send/sendOffsets/commit against the mock (the guarantee itself is the twin\'s to prove)', async () => {
    const topic = unique('eosp')
    ownMock = await MockKafkaCluster.start({ [topic]: 3 })
    const own = new ConfluentKafkaClient({ brokers: ownMock.bootstrap, moduleDir: inject('kafkaModuleDir'), requestTimeoutMs: 10_000 })
    await produce(own, topic, 30)
    const system = ActorSystem.create({ name: 'kafka-eosp' })
    systems.push(system)
    const b = await bridge(system, own, topic, topic, { mode: 'exactly-once', transactionalIdScope: 'partition', batchMaxRecords: 10, askTimeoutMs: 2000, transactionTimeoutMs: 10_000 })
    await waitFor(() => distinct(topic) === 30, { timeoutMs: 60_000, message: `only ${distinct(topic)} of 30 records arrived` })
    const stats = await waitForValue(() => b.consumer.ask('stats'), (s) => s.committedRecords >= 30, { timeoutMs: 30_000 })
    expect(stats.assigned).toBe(3)
  }, 120_000)
})

describe('fatal errors through librdkafka', () => {
  it('EndTxn answered PRODUCER_FENCED, then TxnOffsetCommit answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED: librdkafka raises them fatal, the bridge escalates, its supervisor restarts it, and it goes on', async () => {
    const topic = unique('fatal')
    ownMock = await MockKafkaCluster.start({ [topic]: 2 })
    const own = new ConfluentKafkaClient({ brokers: ownMock.bootstrap, moduleDir: inject('kafkaModuleDir'), requestTimeoutMs: 10_000 })
    await produce(own, topic, 20)
    const system = ActorSystem.create({ name: 'kafka-fatal' })
    systems.push(system)
    const events: SupervisorEvent[] = []
    system.subscribe(SupervisorEventTopic, (e) => events.push(e))
    const restarts = (): string[] => events.flatMap((e) => (e.type === 'child-restarted' && e.childId === 'consumer' ? [String((e.reason as { code?: unknown }).code)] : []))
    await ownMock.failRequests(ApiKeys.EndTxn, 1, KafkaProtocolErrors.ProducerFenced)
    await bridge(system, own, topic, topic, { mode: 'exactly-once', instanceId: 'i1', batchMaxRecords: 5, askTimeoutMs: 2000, transactionTimeoutMs: 10_000 })
    await waitFor(() => restarts().includes('ERR_KAFKA_FENCED'), { timeoutMs: 45_000, message: `no fenced escalation: ${restarts().join(',')}` })
    await ownMock.failRequests(ApiKeys.TxnOffsetCommit, 1, KafkaProtocolErrors.TransactionalIdAuthorizationFailed)
    await produce(own, topic, 20, 20)
    await waitFor(() => restarts().includes('ERR_KAFKA_AUTH'), { timeoutMs: 45_000, message: `no auth escalation: ${restarts().join(',')}` })
    await waitFor(() => distinct(topic) === 40, { timeoutMs: 45_000, message: `only ${distinct(topic)} of 40 records arrived` })
  }, 120_000)
})
