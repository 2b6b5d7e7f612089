import { mailboxDepth, type ActorRef, type Random } from '../../runtime/index.ts'

/**
 * Picks one routee per message. Called on the sender's turn for every routed message: keep it
 * cheap (no allocation). `routees` is never empty here.
 */
export interface SelectOne {
  readonly kind: 'one'
  select(method: string, args: readonly unknown[], routees: readonly ActorRef<any>[], random: Random): ActorRef<any>
  /** The routee list changed (consistent hashing rebuilds its ring here). */
  routeesChanged?(routees: readonly ActorRef<any>[]): void
}

/** Every routee gets every message; an ask is answered by the first reply. */
export interface Broadcast {
  readonly kind: 'broadcast'
}

/** Akka's ScatterGatherFirstCompleted: an ask goes to every routee, the first reply wins, the rest are dropped. */
export interface ScatterGather {
  readonly kind: 'scatter-gather'
  readonly withinMs: number
}

/** Akka's TailChopping: an ask goes to one routee, then one more every `intervalMs` until a reply arrives. */
export interface TailChopping {
  readonly kind: 'tail-chopping'
  readonly withinMs: number
  readonly intervalMs: number
}

/** How a router spreads messages over its routees. */
export type RoutingLogic = SelectOne | Broadcast | ScatterGather | TailChopping

/** Each routee in turn. */
export function roundRobin(): SelectOne {
  let next = 0
  return {
    kind: 'one',
    select(_method, _args, routees) {
      if (next >= routees.length) next = 0
      return routees[next++] as ActorRef<any>
    },
  }
}

/** A routee drawn uniformly from the system's (injected) Random. */
export function randomRouting(): SelectOne {
  return {
    kind: 'one',
    select(_method, _args, routees, random) {
      return routees[Math.floor(random.next() * routees.length)] as ActorRef<any>
    },
  }
}

/** Depth for comparison: a routee elsewhere (depth unknown) counts as busier than any local one, as in Akka. */
function depthOf(ref: ActorRef<any>): number {
  const depth = mailboxDepth(ref)
  return depth < 0 ? Number.MAX_SAFE_INTEGER : depth
}

/** The routee with the fewest queued messages (first of the ties); a scan per message, so for small pools. */
export function smallestMailbox(): SelectOne {
  return {
    kind: 'one',
    select(_method, _args, routees) {
      let best = routees[0] as ActorRef<any>
      let bestDepth = depthOf(best)
      for (let i = 1; i < routees.length && bestDepth > 0; i++) {
        const routee = routees[i] as ActorRef<any>
        const depth = depthOf(routee)
        if (depth < bestDepth) {
          best = routee
          bestDepth = depth
        }
      }
      return best
    },
  }
}

/** Two routees at random, the one with the shorter mailbox: near-best balance at O(1) per message. */
export function powerOfTwoChoices(): SelectOne {
  return {
    kind: 'one',
    select(_method, _args, routees, random) {
      const n = routees.length
      const a = Math.floor(random.next() * n)
      if (n === 1) return routees[a] as ActorRef<any>
      let b = Math.floor(random.next() * (n - 1))
      if (b >= a) b++
      const first = routees[a] as ActorRef<any>
      const second = routees[b] as ActorRef<any>
      return depthOf(second) < depthOf(first) ? second : first
    },
  }
}

export function broadcast(): Broadcast {
  return { kind: 'broadcast' }
}

export function scatterGatherFirstCompleted(options: { readonly withinMs: number }): ScatterGather {
  if (!(options.withinMs > 0)) throw new RangeError('scatterGatherFirstCompleted needs withinMs > 0')
  return { kind: 'scatter-gather', withinMs: options.withinMs }
}

export function tailChopping(options: { readonly withinMs: number; readonly intervalMs: number }): TailChopping {
  if (!(options.withinMs > 0) || !(options.intervalMs > 0)) throw new RangeError('tailChopping needs withinMs > 0 and intervalMs > 0')
  return { kind: 'tail-chopping', withinMs: options.withinMs, intervalMs: options.intervalMs }
}
