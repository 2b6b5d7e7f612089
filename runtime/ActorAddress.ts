/**
 * Where an actor lives: serializable, comparable, and enough to route a message from any shard or
 * node. `uid` tells incarnations apart: a new actor spawned under the same path is a different actor.
 */
export interface ActorAddress {
  readonly system: string
  readonly node: string
  readonly shard: number
  /** Hierarchical path, e.g. `/user/shop/cart-42`. */
  readonly path: string
  readonly uid: number
}

/** `troupe://system@node:shard/user/a/b#uid` */
export function formatAddress(address: ActorAddress): string {
  return `troupe://${address.system}@${address.node}:${address.shard}${address.path}#${address.uid}`
}

const ADDRESS_PATTERN = /^troupe:\/\/([^@]+)@([^:]+):(\d+)(\/[^#]*)#(\d+)$/

export function parseAddress(text: string): ActorAddress | null {
  const match = ADDRESS_PATTERN.exec(text)
  if (match === null) return null
  return {
    system: match[1] as string,
    node: match[2] as string,
    shard: Number(match[3]),
    path: match[4] as string,
    uid: Number(match[5]),
  }
}

export function sameAddress(a: ActorAddress, b: ActorAddress): boolean {
  return a.uid === b.uid && a.path === b.path && a.node === b.node && a.shard === b.shard && a.system === b.system
}
