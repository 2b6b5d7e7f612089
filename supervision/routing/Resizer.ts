import { mailboxDepth, type ActorRef } from '../../runtime/index.ts'

/** Akka's DefaultResizer settings. */
export interface ResizerOptions {
  /** Fewest routees. Default 1. */
  readonly lowerBound?: number
  /** Most routees. Default 10. */
  readonly upperBound?: number
  /** A routee is busy when this many messages wait in its mailbox. Default 1. */
  readonly pressureThreshold?: number
  /** Grow by this fraction of the pool (rounded up) when every routee is busy. Default 0.2. */
  readonly rampupRate?: number
  /** Shrink when fewer than this fraction of routees are busy. Default 0.3. */
  readonly backoffThreshold?: number
  /** Shrink by this fraction of the pool (rounded down). Default 0.1. */
  readonly backoffRate?: number
  /** Consider resizing once every this many routed messages. Default 10. */
  readonly messagesPerResize?: number
}

export type ResolvedResizer = Required<ResizerOptions>

export function resolveResizer(options: ResizerOptions): ResolvedResizer {
  const r: ResolvedResizer = {
    lowerBound: options.lowerBound ?? 1,
    upperBound: options.upperBound ?? 10,
    pressureThreshold: options.pressureThreshold ?? 1,
    rampupRate: options.rampupRate ?? 0.2,
    backoffThreshold: options.backoffThreshold ?? 0.3,
    backoffRate: options.backoffRate ?? 0.1,
    messagesPerResize: options.messagesPerResize ?? 10,
  }
  if (!(Number.isInteger(r.lowerBound) && r.lowerBound >= 0)) throw new RangeError('resizer lowerBound must be an integer >= 0')
  if (!(Number.isInteger(r.upperBound) && r.upperBound >= r.lowerBound && r.upperBound > 0)) throw new RangeError('resizer upperBound must be an integer >= lowerBound and > 0')
  if (!(r.rampupRate >= 0) || !(r.backoffRate >= 0) || !(r.backoffThreshold >= 0) || !(r.pressureThreshold >= 1)) throw new RangeError('resizer rates must be >= 0, pressureThreshold >= 1')
  if (!(Number.isInteger(r.messagesPerResize) && r.messagesPerResize >= 1)) throw new RangeError('resizer messagesPerResize must be an integer >= 1')
  return r
}

/** Routees whose mailbox holds at least `threshold` messages (a routee elsewhere counts as busy). */
export function pressure(routees: readonly ActorRef<any>[], threshold: number): number {
  let busy = 0
  for (const routee of routees) {
    const depth = mailboxDepth(routee)
    if (depth < 0 || depth >= threshold) busy++
  }
  return busy
}

/**
 * How many routees to add (> 0) or remove (< 0), Akka's DefaultResizer.capacity: ramp up when every
 * routee is busy, back off when few are, and always land within [lowerBound, upperBound].
 */
export function resizeDelta(r: ResolvedResizer, size: number, busy: number): number {
  let delta = 0
  if (busy >= size && size > 0) delta += Math.ceil(r.rampupRate * size)
  if (r.backoffThreshold > 0 && r.backoffRate > 0 && size > 0 && busy / size < r.backoffThreshold) delta += Math.floor(-r.backoffRate * size)
  const proposed = size + delta
  if (proposed < r.lowerBound) return delta + (r.lowerBound - proposed)
  if (proposed > r.upperBound) return delta - (proposed - r.upperBound)
  return delta
}
