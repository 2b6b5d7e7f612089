import type { ActorRef, ActorSystem } from '../../runtime/index.ts'
import { InvalidArgumentError } from '../../runtime/index.ts'
import type { ActorActivity } from './ActorActivity.ts'
import type { ActorSnapshot, ActorStatus, IntrospectReply, IntrospectRequest, ShardHealth, ShardSnapshot } from './types.ts'

/** Default cap on the actors one tree snapshot walks per shard (the rest is cut, `truncated`). */
export const DEFAULT_MAX_ACTORS = 5000

/** What a local ref's cell shows (the same fields the runtime's mailboxDepth reads). */
interface CellView {
  readonly status: number
  readonly mailboxSize: number
  readonly stashSize: number
  readonly actorType: string
  readonly name: string
  readonly path: string
  readonly children: readonly ActorRef<any>[]
}

/** Indexed by the runtime's cell status numbers (runtime/cell/CellState.ts); the unit test pins the mapping. */
const STATUS: readonly ActorStatus[] = ['starting', 'running', 'suspended', 'restarting', 'stopping', 'stopped']

function cellOf(ref: ActorRef<any>): CellView | null {
  return ref.cell as CellView | null
}

/**
 * Answers introspection requests about one actor system (a shard): walks its tree on demand.
 * Nothing here runs unless asked; asking arms per-actor processed counting (ActorActivity.watch).
 */
export class SystemIntrospector {
  private readonly system: ActorSystem
  private readonly activity: ActorActivity

  constructor(system: ActorSystem, activity: ActorActivity) {
    this.system = system
    this.activity = activity
  }

  answer(request: IntrospectRequest): IntrospectReply {
    switch (request.kind) {
      case 'tree':
        return { kind: 'tree', shard: this.tree(request.maxActors) }
      case 'health':
        return { kind: 'health', health: this.health() }
      case 'actor':
        return { kind: 'actor', actor: this.actor(request.path) }
      case 'dead-letters':
        return { kind: 'dead-letters', letters: this.activity.deadLetters(request.after) }
      default:
        throw new InvalidArgumentError(`unknown introspection request ${JSON.stringify((request as { kind?: unknown }).kind)}`)
    }
  }

  health(): ShardHealth {
    this.activity.watch()
    let mailboxTotal = 0
    const stack = [...this.system.topLevel]
    for (let ref = stack.pop(); ref !== undefined; ref = stack.pop()) {
      const cell = cellOf(ref)
      if (cell === null) continue
      mailboxTotal += cell.mailboxSize
      for (const child of cell.children) stack.push(child)
    }
    return {
      shard: this.system.shard,
      state: 'up',
      actors: this.system.actorCount,
      mailboxTotal,
      deadLetters: this.system.deadLetters.count,
      countingForMs: Math.round(this.activity.countingFor(this.system.clock.now())),
    }
  }

  tree(maxActors = DEFAULT_MAX_ACTORS): ShardSnapshot {
    const health = this.health()
    const budget = { left: Math.max(1, maxActors), truncated: false }
    const now = this.system.clock.now()
    const tree = this.system.topLevel.flatMap((ref) => {
      const node = this.snapshot(ref, now, budget, Number.POSITIVE_INFINITY)
      return node === null ? [] : [node]
    })
    return { ...health, tree, truncated: budget.truncated }
  }

  /** One actor by path (`/user/a/b`) or registered name, with its direct children; null when no live actor has it. */
  actor(path: string): ActorSnapshot | null {
    this.activity.watch()
    const ref = this.system.resolvePath(path) ?? this.system.lookup(path)
    if (ref === undefined) return null
    return this.snapshot(ref, this.system.clock.now(), { left: 10_000, truncated: false }, 1)
  }

  private snapshot(ref: ActorRef<any>, now: number, budget: { left: number; truncated: boolean }, depth: number): ActorSnapshot | null {
    const cell = cellOf(ref)
    if (cell === null) return null
    if (budget.left <= 0) {
      budget.truncated = true
      return null
    }
    budget.left--
    const { processed, rate } = this.activity.processedOf(cell, now)
    const { restarts, lastFailure } = this.activity.failuresOf(cell.path, now)
    const refs = cell.children
    const children: ActorSnapshot[] = []
    if (depth > 0) {
      for (const child of refs) {
        const node = this.snapshot(child, now, budget, depth - 1)
        if (node !== null) children.push(node)
      }
    }
    return {
      path: cell.path,
      name: cell.name,
      type: cell.actorType,
      shard: this.system.shard,
      status: STATUS[cell.status] ?? 'running',
      mailbox: cell.mailboxSize,
      stashed: cell.stashSize,
      processed,
      rate: Math.round(rate * 10) / 10,
      restarts,
      lastFailure,
      childCount: refs.length,
      children,
    }
  }
}
