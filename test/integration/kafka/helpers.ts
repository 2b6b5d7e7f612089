/** Shared pieces of the Kafka integration tests: a recording target, feeding a topic, starting a bridge. */
import { randomUUID } from 'node:crypto'
import { spawnKafkaBridge, type KafkaBridgeOptions, type KafkaClientPort, type RecordMeta } from '../../../actors/index.ts'
import { Actor, type ActorSystem } from '../../../runtime/index.ts'

/** Records what it got (by id) and answers with an output record. */
export class Sink extends Actor<{ handle(value: unknown, meta: RecordMeta): { topic: string; key: string | null; value: string } }> {
  static seen = new Map<string, number[]>()
  private readonly tag: string
  private readonly out: string
  constructor(tag: string, out: string) {
    super()
    this.tag = tag
    this.out = out
  }
  handle(value: unknown, meta: RecordMeta): { topic: string; key: string | null; value: string } {
    const id = (value as { id: number }).id
    const list = Sink.seen.get(this.tag) ?? []
    list.push(id)
    Sink.seen.set(this.tag, list)
    return { topic: this.out, key: meta.key, value: JSON.stringify({ id }) }
  }
}

export function unique(tag: string): string {
  return `${tag}-${randomUUID().slice(0, 8)}`
}

/** Records `{ id }` for ids from..from+n-1, keyed by id mod 7. */
export async function produce(client: KafkaClientPort, topic: string, n: number, from = 0): Promise<void> {
  const producer = client.producer({ clientId: 'feeder' })
  await producer.connect()
  await producer.send(Array.from({ length: n }, (_, i) => ({ topic, key: `k${(from + i) % 7}`, value: JSON.stringify({ id: from + i }) })))
  await producer.disconnect()
}

export function distinct(tag: string): number {
  return new Set(Sink.seen.get(tag) ?? []).size
}

export async function bridge(system: ActorSystem, client: KafkaClientPort, tag: string, input: string, overrides: Partial<KafkaBridgeOptions> = {}) {
  const target = system.spawn(Sink, { name: `sink-${tag}-${randomUUID().slice(0, 4)}`, args: [tag, `${input}-out`] })
  return spawnKafkaBridge(system, {
    consumer: {
      name: tag,
      client,
      groupId: `${input}-group`,
      topics: [input],
      target,
      method: 'handle',
      mode: 'at-least-once',
      batchMaxMs: 50,
      sessionTimeoutMs: 6000,
      retry: { minMs: 50, maxMs: 500, maxAttempts: 30 },
      ...overrides,
    },
    backoff: { minMs: 100, maxMs: 1000 },
  }, { name: `bridge-${tag}-${randomUUID().slice(0, 4)}` })
}

