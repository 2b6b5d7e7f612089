import { InvalidArgumentError, type Random } from '../../runtime/index.ts'
import type { MembershipListener } from './Membership.ts'
import type { ArrivalWindow } from './PhiAccrual.ts'

/** What a membership knows of one peer node. */
export interface Peer {
  incarnation: string
  /** Its shards it reported down. */
  down: Set<number>
  window: ArrivalWindow
  /** Heard since this node's link last came back (before that, frames to it wait). */
  confirmed: boolean
  leaving: boolean
  /** Answered this node's announce since the current hold began. */
  answered: boolean
}

/** Brings what we know of a peer's down shards in line with what it says now (every message lists them). */
export function syncShards(listener: MembershipListener | null, node: string, peer: Peer, listed: readonly number[]): void {
  const down = new Set(listed)
  for (const shard of down) {
    if (peer.down.has(shard)) continue
    peer.down.add(shard)
    listener?.down(node, shard)
  }
  if (peer.down.size === down.size) return
  for (const shard of [...peer.down]) {
    if (down.has(shard)) continue
    peer.down.delete(shard)
    listener?.shardUp?.(node, shard)
  }
}

/** A random run id (16 hex digits) from the injected Random. */
export function randomIncarnation(random: Random | undefined): string {
  if (random === undefined) throw new InvalidArgumentError('HeartbeatMembership needs an incarnation or a Random to make one')
  let out = ''
  for (let i = 0; i < 4; i++) out += Math.floor(random.next() * 0x10000).toString(16).padStart(4, '0')
  return out
}
