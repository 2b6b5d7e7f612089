import { formatAddress, type ActorRef } from '../../runtime/index.ts'
import type { SelectOne } from './RoutingLogic.ts'

export interface ConsistentHashingOptions {
  /** The key a message is routed by: messages with the same key go to the same routee. */
  readonly key: (method: string, args: readonly unknown[]) => string
  /** Points per routee on the ring; more spread the keys more evenly. Default 100. */
  readonly virtualNodes?: number
}

/** 32-bit FNV-1a, then a final avalanche so nearby strings land far apart on the ring. */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Consistent hashing with virtual nodes (Akka's ConsistentHashingRoutingLogic): each routee owns
 * `virtualNodes` points on a ring placed by the hash of its address, a key goes to the first point
 * at or after its own hash. Adding a routee moves only the keys that now fall on its points (about
 * 1/N of them); removing one moves only its own keys.
 */
export function consistentHashing(options: ConsistentHashingOptions): SelectOne {
  const virtualNodes = options.virtualNodes ?? 100
  if (!(Number.isInteger(virtualNodes) && virtualNodes > 0)) throw new RangeError('consistentHashing needs virtualNodes >= 1')
  let points = new Uint32Array(0)
  let owners: ActorRef<any>[] = []
  let built: readonly ActorRef<any>[] | null = null

  const build = (routees: readonly ActorRef<any>[]): void => {
    const entries: { point: number; owner: ActorRef<any> }[] = []
    for (const routee of routees) {
      const address = formatAddress(routee.address)
      for (let v = 0; v < virtualNodes; v++) entries.push({ point: hash32(`${address}#${v}`), owner: routee })
    }
    entries.sort((x, y) => x.point - y.point)
    points = Uint32Array.from(entries, (e) => e.point)
    owners = entries.map((e) => e.owner)
    built = routees
  }

  return {
    kind: 'one',
    routeesChanged: build,
    select(method, args, routees) {
      if (built !== routees) build(routees)
      const h = hash32(options.key(method, args))
      // First point >= h (binary search); past the last point, wrap to the first.
      let lo = 0
      let hi = points.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if ((points[mid] as number) < h) lo = mid + 1
        else hi = mid
      }
      return owners[lo === points.length ? 0 : lo] as ActorRef<any>
    },
  }
}
