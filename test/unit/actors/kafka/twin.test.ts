/**
 * The in-memory Kafka twin's transactional semantics, which the bridge's exactly-once tests stand
 * on (and which librdkafka's mock cluster does not give): read_committed visibility, offsets
 * stored only on commit, epochs and zombie fencing, the coordinator's timeout, KIP-447 fencing.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KafkaTwin, type KafkaConsumerPort, type TopicPartition } from '../../../../actors/index.ts'

function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0
  return { now: () => t, advance: (ms) => (t += ms) }
}

const noRebalance = { onAssign: (_: readonly TopicPartition[]) => {}, onRevoke: (_: readonly TopicPartition[]) => {} }

async function drain(consumer: KafkaConsumerPort): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < 20; i++) for (const r of await consumer.poll(1000)) out.push(String(r.value))
  return out
}

const RUNS = Number(process.env['KAFKA_PROPERTY_RUNS'] ?? 25)

describe('KafkaTwin visibility', () => {
  it('read_committed sees exactly the committed and plain records, in order; read_uncommitted sees every record', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ kind: fc.constantFrom('commit', 'abort', 'open', 'plain'), size: fc.integer({ min: 1, max: 4 }) }), { maxLength: 12 }), async (steps) => {
        const twin = new KafkaTwin({ clock: manualClock() })
        twin.createTopic('t', 1)
        const plain = twin.client().producer({})
        const expected: string[] = []
        const all: string[] = []
        let n = 0
        let openSeen = false
        for (const [i, step] of steps.entries()) {
          const values = Array.from({ length: step.size }, () => `v${n++}`)
          all.push(...values)
          if (step.kind === 'plain') {
            await plain.send(values.map((value) => ({ topic: 't', value })))
            if (!openSeen) expected.push(...values)
            continue
          }
          const p = twin.client().producer({ transactionalId: `tx-${i}` })
          await p.initTransactions()
          await p.beginTransaction()
          await p.send(values.map((value) => ({ topic: 't', value })))
          if (step.kind === 'commit') {
            await p.commitTransaction()
            if (!openSeen) expected.push(...values)
          } else if (step.kind === 'abort') await p.abortTransaction()
          // An open transaction holds the stable offset: nothing after it is visible to read_committed.
          else openSeen = true
        }
        const committed = twin.client().consumer({ groupId: 'rc', isolation: 'read_committed' })
        await committed.subscribe(['t'], noRebalance)
        expect(await drain(committed)).toEqual(expected)
        const uncommitted = twin.client().consumer({ groupId: 'ru', isolation: 'read_uncommitted' })
        await uncommitted.subscribe(['t'], noRebalance)
        expect(await drain(uncommitted)).toEqual(all)
      }),
      { numRuns: RUNS },
    )
  })
})

describe('KafkaTwin transactions', () => {
  it('a second producer with the same transactional id fences the first and aborts what it left open', async () => {
    const twin = new KafkaTwin({ clock: manualClock() })
    const old = twin.client('a').producer({ transactionalId: 'tx' })
    await old.initTransactions()
    await old.beginTransaction()
    await old.send([{ topic: 't', value: 'zombie' }])
    const fresh = twin.client('b').producer({ transactionalId: 'tx' })
    await fresh.initTransactions()
    await expect(old.commitTransaction()).rejects.toMatchObject({ code: 'ERR_KAFKA_FENCED' })
    await expect(old.send([{ topic: 't', value: 'x' }])).rejects.toMatchObject({ code: 'ERR_KAFKA_FENCED' })
    await fresh.beginTransaction()
    await fresh.send([{ topic: 't', value: 'new' }])
    await fresh.commitTransaction()
    expect(twin.read('t').map((r) => String(r.value))).toEqual(['new'])
    expect(twin.read('t', 'read_uncommitted').map((r) => String(r.value)).sort()).toEqual(['new', 'zombie'])
  })

  it('the coordinator aborts a transaction open past its timeout; the producer learns it, aborts and goes on', async () => {
    const clock = manualClock()
    const twin = new KafkaTwin({ clock, maxTransactionTimeoutMs: 5000 })
    await expect(twin.client().producer({ transactionalId: 'big', transactionTimeoutMs: 6000 }).initTransactions()).rejects.toMatchObject({ code: 'ERR_KAFKA_INVALID_CONFIG' })
    const p = twin.client().producer({ transactionalId: 'tx', transactionTimeoutMs: 1000 })
    await p.initTransactions()
    await p.beginTransaction()
    await p.send([{ topic: 't', value: 'late' }])
    clock.advance(1000)
    expect(twin.read('t')).toEqual([])
    await expect(p.commitTransaction()).rejects.toMatchObject({ code: 'ERR_KAFKA_TXN_TIMED_OUT' })
    await p.abortTransaction()
    await p.beginTransaction()
    await p.send([{ topic: 't', value: 'ok' }])
    await p.commitTransaction()
    expect(twin.read('t').map((r) => String(r.value))).toEqual(['ok'])
  })

  it('offsets sent in a transaction are stored only when it commits', async () => {
    const twin = new KafkaTwin({ clock: manualClock() })
    twin.createTopic('in', 1)
    const consumer = twin.client().consumer({ groupId: 'g', isolation: 'read_committed' })
    await consumer.subscribe(['in'], noRebalance)
    await consumer.poll(1)
    const p = twin.client().producer({ transactionalId: 'tx' })
    await p.initTransactions()
    await p.beginTransaction()
    await p.sendOffsets([{ topic: 'in', partition: 0, offset: 7 }], consumer.groupMetadata())
    await p.abortTransaction()
    expect(await consumer.committed([{ topic: 'in', partition: 0 }])).toEqual([null])
    await p.beginTransaction()
    await p.sendOffsets([{ topic: 'in', partition: 0, offset: 9 }], consumer.groupMetadata())
    await p.commitTransaction()
    expect(await consumer.committed([{ topic: 'in', partition: 0 }])).toEqual([9])
  })

  it('KIP-447: offsets sent by an older generation are refused; a new owner waits while a transaction holds offsets', async () => {
    const twin = new KafkaTwin({ clock: manualClock() })
    twin.createTopic('in', 1)
    await twin.client().producer({}).send([{ topic: 'in', value: 'a' }, { topic: 'in', value: 'b' }])
    const first = twin.client('one').consumer({ groupId: 'g', isolation: 'read_committed' })
    await first.subscribe(['in'], noRebalance)
    expect((await first.poll(1)).map((r) => String(r.value))).toEqual(['a'])
    const staleMeta = first.groupMetadata()
    const p = twin.client('one').producer({ transactionalId: 'one' })
    await p.initTransactions()
    await p.beginTransaction()
    await p.sendOffsets([{ topic: 'in', partition: 0, offset: 1 }], staleMeta)
    // A second member joins: a new generation; the partition may move.
    const second = twin.client('two').consumer({ groupId: 'g', isolation: 'read_committed' })
    await second.subscribe(['in'], noRebalance)
    await expect(p.sendOffsets([{ topic: 'in', partition: 0, offset: 1 }], staleMeta)).rejects.toMatchObject({ code: 'ERR_KAFKA_REBALANCED' })
    await first.poll(0)
    await second.poll(0)
    const owner = first.assignment().length > 0 ? first : second
    expect(await owner.poll(10)).toEqual([]) // unstable: the open transaction holds offset 1
    await p.commitTransaction()
    expect((await owner.poll(10)).map((r) => String(r.value))).toEqual(['b'])
  })

  it('a member silent past its session timeout is evicted and its partitions move', async () => {
    const clock = manualClock()
    const twin = new KafkaTwin({ clock })
    twin.createTopic('in', 2)
    const a = twin.client('a').consumer({ groupId: 'g', isolation: 'read_committed', sessionTimeoutMs: 100 })
    const b = twin.client('b').consumer({ groupId: 'g', isolation: 'read_committed', sessionTimeoutMs: 100 })
    await a.subscribe(['in'], noRebalance)
    await b.subscribe(['in'], noRebalance)
    await a.poll(0)
    await b.poll(0)
    expect(a.assignment()).toHaveLength(1)
    clock.advance(60)
    await b.poll(0)
    clock.advance(60)
    await b.poll(0)
    expect(b.assignment()).toHaveLength(2)
  })
})
