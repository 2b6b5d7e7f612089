/**
 * Cooperative rebalancing (cooperative-sticky) on the twin: a rebalance revokes only the
 * partitions that move, and hands them on only once their old owner let go; the bridge drops the
 * work of the revoked partitions only.
 */
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaTwin, type TopicPartition } from '../../../../actors/index.ts'
import type { ActorTestKit } from '../../../../testing/index.ts'
import { Copier, outputIds, produceInputs, range, setup, startBridge } from './helpers.ts'

let kits: ActorTestKit[] = []
afterEach(async () => {
  for (const kit of kits) await kit.shutdown()
  kits = []
})

function manualClock(): { now: () => number } {
  return { now: () => 0 }
}

const names = (tps: readonly TopicPartition[]): number[] => tps.map((tp) => tp.partition).sort()

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

describe('the twin, cooperative-sticky', () => {
  it('revokes only what moves, keeps positions of the rest, and gives a partition to its new owner only after the old one let go', async () => {
    const twin = new KafkaTwin({ clock: manualClock() })
    twin.createTopic('t', 4)
    await twin.client('feeder').producer({}).send(Array.from({ length: 40 }, (_, i) => ({ topic: 't', partition: i % 4, value: `v${i}` })))
    const events: string[] = []
    const listener = (who: string) => ({
      onAssign: (tps: readonly TopicPartition[]) => events.push(`${who}+${names(tps).join(',')}`),
      onRevoke: (tps: readonly TopicPartition[]) => events.push(`${who}-${names(tps).join(',')}`),
    })
    const a = twin.client('a').consumer({ groupId: 'g', isolation: 'read_committed', rebalanceProtocol: 'cooperative' })
    await a.subscribe(['t'], listener('a'))
    const first = await a.poll(8)
    expect(events).toEqual(['a+0,1,2,3'])
    const b = twin.client('b').consumer({ groupId: 'g', isolation: 'read_committed', rebalanceProtocol: 'cooperative' })
    await b.subscribe(['t'], listener('b'))
    expect(await b.poll(100)).toEqual([]) // nothing is free yet: a still holds everything
    await a.poll(0) // a learns: two partitions go, two stay
    expect(events).toEqual(['a+0,1,2,3', 'a-2,3'])
    expect(names(a.assignment())).toEqual([0, 1])
    expect(await b.poll(100)).toEqual([]) // still held by a until its next poll
    const more = await a.poll(100) // a lets go of 2 and 3 …
    expect(events.slice(2)).toEqual([])
    const got = await b.poll(100) // … and b gets them
    expect(events.slice(2)).toEqual(['b+2,3'])
    // a went on where it was on 0 and 1 (no eager refetch from the committed offsets): nothing twice.
    const seen = [...first, ...more].map((r) => `${r.partition}@${r.offset}`)
    expect(new Set(seen).size).toBe(seen.length)
    expect(new Set(got.map((r) => r.partition))).toEqual(new Set([2, 3]))
  })
})

describe('the bridge, cooperative', () => {
  async function scenario(scope: 'instance' | 'partition', protocol: 'eager' | 'cooperative'): Promise<{ aborted: number; committed: number }> {
    const { kit, twin } = setup(scope === 'partition' ? 51 : 52)
    kits.push(kit)
    const registry = new Registry()
    await produceInputs(twin, 45)
    const common = { transactionalIdScope: scope, transactionalIdPrefix: 'copy', rebalanceProtocol: protocol, registry, batchMaxRecords: 1000, batchMaxMs: 400, maxPollRecords: 100 } as const
    await startBridge(kit, twin, kit.spawn(Copier, { args: [0] }), 'proc-a', { ...common, name: 'copy-a' })
    await kit.advance(100)
    // A has everything processed, in open transactions waiting for the batch to close; B joins.
    expect(twin.read('out')).toEqual([])
    await startBridge(kit, twin, kit.spawn(Copier, { args: [0] }), 'proc-b', { ...common, name: 'copy-b' })
    await kit.runUntil(() => twin.read('out').length >= 45, 20_000)
    await kit.advance(1000)
    expect(outputIds(twin).sort((x, y) => x - y)).toEqual(range(45))
    const text = await registry.metrics()
    return {
      aborted: value(text, 'troupe_kafka_transactions_total{bridge="copy-a",outcome="aborted"}'),
      committed: value(text, 'troupe_kafka_transactions_total{bridge="copy-a",outcome="committed"}'),
    }
  }

  it('a producer per partition: only the revoked partition\'s transaction is aborted; the others commit', async () => {
    const { aborted, committed } = await scenario('partition', 'cooperative')
    expect(aborted).toBe(1)
    expect(committed).toBeGreaterThanOrEqual(2)
  })

  it('eager, for contrast: every open transaction of the instance is aborted', async () => {
    const { aborted } = await scenario('partition', 'eager')
    expect(aborted).toBe(3)
  })

  it('one producer per instance: the shared transaction is committed while the revoked partition is still ours, nothing aborted', async () => {
    const { aborted, committed } = await scenario('instance', 'cooperative')
    expect(aborted).toBe(0)
    expect(committed).toBeGreaterThanOrEqual(1)
  })
})
