import type { ShardedSystem } from '../../transport/index.ts'
import { DEFAULT_MAX_ACTORS, type SystemIntrospector } from '../introspection/SystemIntrospector.ts'
import type { ActorSnapshot, DeadLetterRecord, IntrospectReply, IntrospectRequest, NodeStatus, ShardHealth, ShardSnapshot } from '../introspection/types.ts'

/** What the node tells about itself besides its shards. */
export interface NodeFacts {
  readonly node: string
  readonly cluster: string
  readonly app: string
  readonly version: string
  readonly startedAt: number
  now(): number
  started(): boolean
  ready(): { ok: boolean; reasons: string[] }
}

/** A shard that did not answer: down (crashed, restarting) or stuck. */
function downShard(shard: number): ShardSnapshot {
  return { shard, state: 'down', actors: 0, mailboxTotal: 0, deadLetters: 0, countingForMs: 0, tree: [], truncated: false }
}

/**
 * The node's introspection: the main thread (shard 0) answered here, worker shards asked over their
 * control channel (ShardedSystem.workerIntrospect), all combined. Everything is pulled on request.
 */
export class NodeIntrospection {
  private readonly facts: NodeFacts
  private readonly main: SystemIntrospector
  private readonly sharded: ShardedSystem | null

  constructor(facts: NodeFacts, main: SystemIntrospector, sharded: ShardedSystem | null) {
    this.facts = facts
    this.main = main
    this.sharded = sharded
  }


  private async ask(request: IntrospectRequest, only?: number): Promise<{ shard: number; reply: IntrospectReply | null }[]> {
    const out: { shard: number; reply: IntrospectReply | null }[] = []
    if (only === undefined || only === 0) out.push({ shard: 0, reply: this.main.answer(request) })
    if (this.sharded !== null && only !== 0) {
      for (const { shard, data } of await this.sharded.workerIntrospect(request)) {
        if (only === undefined || only === shard) out.push({ shard, reply: data as IntrospectReply | null })
      }
    }
    return out
  }

  async status(): Promise<NodeStatus> {
    const replies = await this.ask({ kind: 'health' })
    const shards: ShardHealth[] = replies.map(({ shard, reply }) => (reply?.kind === 'health' ? reply.health : downShard(shard)))
    const { ok, reasons } = this.facts.ready()
    return {
      node: this.facts.node,
      cluster: this.facts.cluster,
      app: this.facts.app,
      version: this.facts.version,
      pid: process.pid,
      uptimeMs: Math.round(this.facts.now() - this.facts.startedAt),
      started: this.facts.started(),
      ready: ok,
      reasons,
      shards,
    }
  }

  /** The supervision tree of every shard, or of one. */
  async tree(shard?: number, maxActors = DEFAULT_MAX_ACTORS): Promise<ShardSnapshot[]> {
    const replies = await this.ask({ kind: 'tree', maxActors }, shard)
    return replies.map(({ shard: n, reply }) => (reply?.kind === 'tree' ? reply.shard : downShard(n)))
  }

  /** The actor at `path` in each shard that has one (a path may exist in several shards), or in one shard. */
  async actor(path: string, shard?: number): Promise<ActorSnapshot[]> {
    const replies = await this.ask({ kind: 'actor', path }, shard)
    return replies.flatMap(({ reply }) => (reply?.kind === 'actor' && reply.actor !== null ? [reply.actor] : []))
  }

  /** Dead letters recorded after each shard's cursor (`after[shard]`, 0 for all kept). */
  async deadLetters(after: Readonly<Record<number, number>> = {}): Promise<DeadLetterRecord[]> {
    const main = this.main.answer({ kind: 'dead-letters', after: after[0] ?? 0 })
    const letters: DeadLetterRecord[] = main.kind === 'dead-letters' ? [...main.letters] : []
    if (this.sharded !== null) {
      // One request per worker with its own cursor.
      const perShard = await Promise.all(
        Array.from({ length: this.sharded.workers }, (_, index) => this.ask({ kind: 'dead-letters', after: after[index + 1] ?? 0 }, index + 1)),
      )
      for (const [entry] of perShard) if (entry?.reply?.kind === 'dead-letters') letters.push(...entry.reply.letters)
    }
    return letters.sort((a, b) => b.agoMs - a.agoMs)
  }
}
