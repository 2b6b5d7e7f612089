import { Actor, defineRejection, type ActorRef } from '../../../../runtime/index.ts'
import { KafkaTwin, spawnKafkaBridge, type KafkaBridge, type KafkaBridgeOptions, type OutRecord, type RecordMeta } from '../../../../actors/index.ts'
import { ActorTestKit } from '../../../../testing/index.ts'

export const BadOrderError = defineRejection('ERR_TEST_BAD_ORDER', 'BadOrderError')

export interface CopyProtocol {
  handle(value: unknown, meta: RecordMeta): Promise<OutRecord>
  count(): number
}

/** The target: answers each `{ id }` with an output record `{ id }` keyed like the input; a negative id is refused. */
export class Copier extends Actor<CopyProtocol> implements CopyProtocol {
  private handled = 0
  private readonly delayMs: number
  constructor(delayMs = 0) {
    super()
    this.delayMs = delayMs
  }
  async handle(value: unknown, meta: RecordMeta): Promise<OutRecord> {
    this.handled++
    if (this.delayMs > 0) await new Promise<void>((resolve) => this.context.system.clock.setTimer(this.delayMs, resolve))
    const id = (value as { id?: unknown } | null)?.id
    if (typeof id !== 'number' || id < 0) throw new BadOrderError(`bad id ${String(id)}`)
    return { topic: 'out', key: meta.key, value: JSON.stringify({ id }) }
  }
  count(): number {
    return this.handled
  }
}

export function setup(seed: number, partitions = 3): { kit: ActorTestKit; twin: KafkaTwin } {
  const kit = ActorTestKit.create({ seed })
  const twin = new KafkaTwin({ clock: kit.system.clock })
  twin.createTopic('in', partitions)
  twin.createTopic('out', partitions)
  return { kit, twin }
}

/** Input records `{ id }` for ids 0..n-1, keyed by id mod 5 (so a key's records share a partition and their order is checked). */
export async function produceInputs(twin: KafkaTwin, n: number, extra: OutRecord[] = []): Promise<void> {
  const records: OutRecord[] = Array.from({ length: n }, (_, id) => ({ topic: 'in', key: `k${id % 5}`, value: JSON.stringify({ id }) }))
  await twin.client('feeder').producer({}).send([...records, ...extra])
}

export function outputIds(twin: KafkaTwin, isolation: 'read_committed' | 'read_uncommitted' = 'read_committed'): number[] {
  return twin.read('out', isolation).map((r) => (JSON.parse(String(r.value)) as { id: number }).id)
}

/** Every output key's ids in increasing order: per-partition order survived aborts and retries. */
export function keyOrderKept(twin: KafkaTwin): boolean {
  const last = new Map<string, number>()
  for (const r of twin.read('out')) {
    const key = String(r.key)
    const id = (JSON.parse(String(r.value)) as { id: number }).id
    if ((last.get(key) ?? -1) >= id) return false
    last.set(key, id)
  }
  return true
}

export async function startBridge(kit: ActorTestKit, twin: KafkaTwin, target: ActorRef<CopyProtocol>, process: string, overrides: Partial<KafkaBridgeOptions> = {}): Promise<KafkaBridge> {
  return kit.sim.settle(
    spawnKafkaBridge(kit.system, {
      consumer: {
        name: 'copy',
        client: twin.client(process),
        groupId: 'copiers',
        topics: ['in'],
        target,
        method: 'handle',
        mode: 'exactly-once',
        instanceId: process,
        batchMaxRecords: 10,
        batchMaxMs: 50,
        askTimeoutMs: 500,
        transactionTimeoutMs: 2000,
        sessionTimeoutMs: 1000,
        retry: { minMs: 20, maxMs: 200, maxAttempts: 50 },
        ...overrides,
      },
      backoff: { minMs: 20, maxMs: 200 },
    }, { name: `bridge-${process}` }),
  )
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}
