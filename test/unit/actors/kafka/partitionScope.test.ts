/**
 * Exactly-once with a transactional id per input partition (Kafka Streams' EOS v1) next to the
 * per-instance KIP-447 mode, on the twin: a zombie that missed a rebalance moving its partition is
 * fenced by the new owner's initTransactions; with one id per instance the same zombie is refused
 * by the group generation instead.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { type OutRecord, type RecordMeta } from '../../../../actors/index.ts'
import { Actor } from '../../../../runtime/index.ts'
import { SupervisorEventTopic, type SupervisorEvent } from '../../../../supervision/index.ts'
import type { ActorTestKit } from '../../../../testing/index.ts'
import { Copier, outputIds, produceInputs, range, setup, startBridge, type CopyProtocol } from './helpers.ts'

let kits: ActorTestKit[] = []
afterEach(async () => {
  for (const kit of kits) await kit.shutdown()
  kits = []
})

/** A copier whose records of partition 1 wait until the test opens the gate: a process stuck (a long GC pause) mid-transaction. */
class GatedCopier extends Actor<CopyProtocol> implements CopyProtocol {
  static open = false
  async handle(value: unknown, meta: RecordMeta): Promise<OutRecord> {
    while (meta.partition === 1 && !GatedCopier.open) await new Promise<void>((resolve) => this.context.system.clock.setTimer(10, resolve))
    return { topic: 'out', key: meta.key, value: JSON.stringify({ id: (value as { id: number }).id }) }
  }
  count(): number {
    return 0
  }
}

async function zombieScenario(scope: 'instance' | 'partition'): Promise<{ kit: ActorTestKit; codesA: string[]; twin: ReturnType<typeof setup>['twin']; statsA: { abortedBatches: number } }> {
  const { kit, twin } = setup(scope === 'partition' ? 31 : 32)
  kits.push(kit)
  const events: SupervisorEvent[] = []
  kit.system.subscribe(SupervisorEventTopic, (e) => events.push(e))
  GatedCopier.open = false
  await produceInputs(twin, 40)
  const onP1 = twin.partitions('in')[1]?.highWatermark ?? 0
  expect(onP1).toBeGreaterThan(0)
  const common = { transactionalIdScope: scope, batchMaxRecords: 1000, batchMaxMs: 200, maxPollRecords: 100, askTimeoutMs: 5000, transactionTimeoutMs: 20_000 } as const
  // A reads all three partitions in one batch and gets stuck on partition 1's first record, its transactions open.
  const a = await startBridge(kit, twin, kit.spawn(GatedCopier), 'proc-a', common)
  await kit.advance(300)
  // B joins: the rebalance moves partition 1 to B while A, stuck, has not noticed (it has not polled since).
  await startBridge(kit, twin, kit.spawn(Copier, { args: [0] }), 'proc-b', common)
  if (scope === 'partition') {
    // B fenced A's producer of partition 1 and aborted its transaction, then copied partition 1 itself.
    await kit.runUntil(() => twin.groups.committed('copiers', 'in', 1) !== null, 10_000)
  }
  const codesA: string[] = []
  GatedCopier.open = true
  await kit.runUntil(() => new Set(outputIds(twin)).size === 40, 20_000)
  await kit.advance(1000)
  for (const e of events) if (e.type === 'child-restarted' && e.childId === 'consumer') codesA.push(String((e.reason as { code?: unknown }).code))
  return { kit, codesA, twin, statsA: await kit.ask(a.consumer, 'stats') }
}

describe('transactional id per input partition', () => {
  it('a zombie that missed the rebalance moving its partition is fenced by the new owner (ERR_KAFKA_FENCED); output = input exactly once', async () => {
    const { codesA, twin } = await zombieScenario('partition')
    expect(outputIds(twin).sort((x, y) => x - y)).toEqual(range(40))
    expect(codesA).toContain('ERR_KAFKA_FENCED')
    // The zombie's writes are in the log, aborted: read_uncommitted sees more than read_committed.
    expect(twin.read('out', 'read_uncommitted').length).toBeGreaterThan(40)
  })

  it('the same zombie with one id per instance is refused by the group generation instead (KIP-447): its batch aborts, no restart, exactly once', async () => {
    const { codesA, twin, statsA } = await zombieScenario('instance')
    expect(outputIds(twin).sort((x, y) => x - y)).toEqual(range(40))
    expect(codesA).toEqual([])
    expect(statsA.abortedBatches).toBeGreaterThanOrEqual(1)
  })

  it('uses one producer per assigned partition, with ids stable across instances', async () => {
    const { kit, twin } = setup(33)
    kits.push(kit)
    await produceInputs(twin, 30)
    const seen: string[] = []
    const client = twin.client('p1')
    const spy = { producer: (c: Parameters<typeof client.producer>[0]) => (seen.push(c.transactionalId ?? ''), client.producer(c)), consumer: client.consumer }
    await startBridge(kit, twin, kit.spawn(Copier, { args: [0] }), 'p1', { transactionalIdScope: 'partition', client: spy, instanceId: undefined as never })
    await kit.runUntil(() => twin.read('out').length === 30, 10_000)
    expect([...new Set(seen)].sort()).toEqual(['copy-copiers-in-0', 'copy-copiers-in-1', 'copy-copiers-in-2'])
  })
})
