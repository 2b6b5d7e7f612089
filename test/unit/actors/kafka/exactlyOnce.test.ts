/**
 * The bridge's exactly-once mode against the Kafka twin, on the simulator's virtual time: output =
 * input exactly once (read_committed) through random aborts, fencing, a killed instance, a zombie
 * whose transaction times out, and a rebalance mid-transaction.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaFencedError, KafkaRebalanceError, KafkaTimeoutError, KafkaTransactionTimedOutError, KafkaUnavailableError, type TwinOperation } from '../../../../actors/index.ts'
import { SupervisorEventTopic, type SupervisorEvent } from '../../../../supervision/index.ts'
import type { ActorTestKit } from '../../../../testing/index.ts'
import { Copier, keyOrderKept, outputIds, produceInputs, range, setup, startBridge } from './helpers.ts'

let kits: ActorTestKit[] = []
afterEach(async () => {
  for (const kit of kits) await kit.shutdown()
  kits = []
})

const RUNS = Number(process.env['KAFKA_PROPERTY_RUNS'] ?? 12)

describe('exactly-once pipeline on the twin', () => {
  it('copies every record once; hostile bytes and refused records go to the DLQ in the same transactions', async () => {
    const { kit, twin } = setup(1)
    kits.push(kit)
    await produceInputs(twin, 30, [
      { topic: 'in', key: 'bad', value: Buffer.from([0xff, 0xfe, 0x00]) },
      { topic: 'in', key: 'bad', value: '{"id": ' },
      { topic: 'in', key: 'bad', value: JSON.stringify({ id: -1 }) },
    ])
    const target = kit.spawn(Copier, { args: [0] })
    const bridge = await startBridge(kit, twin, target, 'p1')
    await kit.runUntil(() => twin.read('out').length === 30 && twin.read('in.dlq').length === 3, 30_000)
    await kit.advance(500)
    expect(outputIds(twin).sort((a, b) => a - b)).toEqual(range(30))
    expect(keyOrderKept(twin)).toBe(true)
    const codes = twin.read('in.dlq').map((r) => r.headers['troupe-dlq-code']).sort()
    expect(codes).toEqual(['ERR_KAFKA_DECODE', 'ERR_KAFKA_DECODE', 'ERR_TEST_BAD_ORDER'])
    const stats = await kit.ask(bridge.consumer, 'stats')
    expect(stats).toMatchObject({ consumed: 33, dlq: 3, committedRecords: 33 })
  })

  it('output = input exactly once through random faults (transient, abortable, fenced) and rebalances, with a transactional id per instance or per partition, eager or cooperative', async () => {
    const ops: TwinOperation[] = ['send', 'sendOffsets', 'commitTransaction', 'beginTransaction', 'poll', 'abortTransaction', 'initTransactions']
    const fault = fc.record({ op: fc.constantFrom(...ops), kind: fc.constantFrom('unavailable', 'timeout', 'timed-out', 'rebalanced', 'fenced'), atMs: fc.integer({ min: 0, max: 400 }) })
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fault, { maxLength: 8 }), fc.option(fc.integer({ min: 0, max: 400 })), fc.constantFrom('instance' as const, 'partition' as const), fc.constantFrom('eager' as const, 'cooperative' as const), async (seed, faults, joinAt, scope, protocol) => {
        const { kit, twin } = setup(seed)
        kits.push(kit)
        await produceInputs(twin, 40)
        const target = kit.spawn(Copier, { args: [1] })
        await startBridge(kit, twin, target, 'p1', { transactionalIdScope: scope, rebalanceProtocol: protocol })
        for (const f of faults) {
          kit.sim.after(f.atMs, () => {
            const error =
              f.kind === 'unavailable' ? new KafkaUnavailableError('injected')
              : f.kind === 'timeout' ? new KafkaTimeoutError('injected')
              : f.kind === 'timed-out' ? new KafkaTransactionTimedOutError('injected')
              : f.kind === 'rebalanced' ? new KafkaRebalanceError('injected')
              : new KafkaFencedError('injected')
            twin.failNext(f.op, error)
          })
        }
        // Another member comes and goes: two rebalances while transactions are open.
        if (joinAt !== null) {
          kit.sim.after(joinAt, () => {
            const visitor = twin.client('visitor').consumer({ groupId: 'copiers', isolation: 'read_committed', rebalanceProtocol: protocol })
            void visitor.subscribe(['in'], { onAssign: () => {}, onRevoke: () => {} }).then(() => kit.sim.after(30, () => void visitor.disconnect()))
          })
        }
        await kit.runUntil(() => twin.read('out').length >= 40, 60_000)
        await kit.advance(1000)
        expect(outputIds(twin).sort((a, b) => a - b)).toEqual(range(40))
        expect(keyOrderKept(twin)).toBe(true)
        await kit.shutdown()
        kits = kits.filter((k) => k !== kit)
      }),
      // Found by CI: opening the transaction failed once and the polled records were never seen again.
      // Shrunk from a 200-run failure: a partition's producer failed to init after a poll, and that poll's records were lost.
      { numRuns: RUNS, examples: [[1, [{ op: 'beginTransaction', kind: 'unavailable', atMs: 0 }], 0, 'instance', 'eager'], [1, [{ op: 'initTransactions', kind: 'unavailable', atMs: 0 }], 0, 'partition', 'cooperative']] },
    )
  })

  it('a fatal error (fenced) escalates: the supervisor restarts the consumer, which fences its old self and goes on', async () => {
    const { kit, twin } = setup(2)
    kits.push(kit)
    const events: SupervisorEvent[] = []
    kit.system.subscribe(SupervisorEventTopic, (e) => events.push(e))
    await produceInputs(twin, 20)
    const target = kit.spawn(Copier, { args: [0] })
    await startBridge(kit, twin, target, 'p1')
    twin.failNext('commitTransaction', new KafkaFencedError('injected'))
    await kit.runUntil(() => twin.read('out').length >= 20, 30_000)
    await kit.advance(500)
    expect(outputIds(twin).sort((a, b) => a - b)).toEqual(range(20))
    expect(events.some((e) => e.type === 'child-restarted' || e.type === 'restart-scheduled')).toBe(true)
  })

  it('a bridge killed mid-transaction: its successor with the same instance id fences it; no duplicates, no loss', async () => {
    const { kit, twin } = setup(3)
    kits.push(kit)
    await produceInputs(twin, 30)
    const slow = kit.spawn(Copier, { args: [20] })
    const a = await startBridge(kit, twin, slow, 'proc-a', { instanceId: 'i1', batchMaxRecords: 1000, batchMaxMs: 400, maxPollRecords: 3 })
    await kit.runUntil(() => twin.read('out', 'read_uncommitted').length >= 5, 10_000)
    expect(twin.read('out')).toEqual([])
    twin.isolate('proc-a') // the process dies: nothing it does reaches the cluster any more
    const target = kit.spawn(Copier, { args: [0] })
    await startBridge(kit, twin, target, 'proc-b', { instanceId: 'i1' })
    await kit.runUntil(() => twin.read('out').length >= 30, 30_000)
    await kit.advance(2000)
    expect(outputIds(twin).sort((x, y) => x - y)).toEqual(range(30))
    expect(twin.read('out', 'read_uncommitted').length).toBeGreaterThan(30) // the dead one's aborted writes are there, hidden
    void a
  })

  it('a zombie with another instance id: the coordinator aborts its transaction at the timeout, and only then do the outputs behind it become visible', async () => {
    const { kit, twin } = setup(4, 1)
    kits.push(kit)
    await produceInputs(twin, 20)
    const slow = kit.spawn(Copier, { args: [20] })
    await startBridge(kit, twin, slow, 'proc-a', { batchMaxRecords: 1000, batchMaxMs: 400, maxPollRecords: 3 })
    await kit.runUntil(() => twin.read('out', 'read_uncommitted').length >= 3, 10_000)
    const isolatedAt = kit.system.clock.now()
    twin.isolate('proc-a')
    const target = kit.spawn(Copier, { args: [0] })
    await startBridge(kit, twin, target, 'proc-b')
    // proc-b takes over after proc-a's session timeout (1 s) and commits everything, but its outputs sit behind proc-a's open transaction.
    await kit.runUntil(() => twin.read('out', 'read_uncommitted').length >= 23, 10_000)
    expect(kit.system.clock.now() - isolatedAt).toBeLessThan(2000)
    expect(twin.read('out')).toEqual([])
    await kit.runUntil(() => twin.read('out').length >= 20, 10_000)
    expect(kit.system.clock.now() - isolatedAt).toBeGreaterThanOrEqual(1500)
    await kit.advance(500)
    expect(outputIds(twin).sort((x, y) => x - y)).toEqual(range(20))
  })

  it('a rebalance mid-transaction aborts the open transaction; every record is still copied once', async () => {
    const { kit, twin } = setup(5)
    kits.push(kit)
    await produceInputs(twin, 40)
    const slow = kit.spawn(Copier, { args: [10] })
    const a = await startBridge(kit, twin, slow, 'proc-a', { batchMaxRecords: 1000, batchMaxMs: 300, maxPollRecords: 3 })
    await kit.runUntil(() => twin.read('out', 'read_uncommitted').length >= 3, 10_000)
    const target = kit.spawn(Copier, { args: [10] })
    const b = await startBridge(kit, twin, target, 'proc-b', { batchMaxRecords: 1000, batchMaxMs: 300, maxPollRecords: 3 })
    await kit.runUntil(() => twin.read('out').length >= 40, 30_000)
    await kit.advance(1000)
    expect(outputIds(twin).sort((x, y) => x - y)).toEqual(range(40))
    const statsA = await kit.ask(a.consumer, 'stats')
    const statsB = await kit.ask(b.consumer, 'stats')
    expect(statsA.rebalances).toBeGreaterThan(1)
    expect(statsA.abortedBatches).toBeGreaterThanOrEqual(1)
    expect(statsA.assigned + statsB.assigned).toBe(3)
  })
})
