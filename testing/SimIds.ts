import type { IdSource, Random } from '../runtime/index.ts'

/**
 * Ids for a simulated process. Message ids count up from 1 (deterministic by construction). Actor
 * uids count up from a seeded starting point, so a restarted node's actors get uids its previous
 * incarnation never used, as they would from a real node's random incarnation ids; a stale ref to
 * the old incarnation then misses instead of hitting the new actor by accident.
 */
export class SimIds implements IdSource {
  private messageId = 0
  private uid: number

  constructor(random: Random) {
    // Below 2^31 with room to count: uids stay small integers on the wire.
    this.uid = 1 + Math.floor(random.next() * 0x7000_0000)
  }

  nextMessageId(): number {
    this.messageId = this.messageId === Number.MAX_SAFE_INTEGER ? 1 : this.messageId + 1
    return this.messageId
  }

  nextUid(): number {
    this.uid = this.uid === Number.MAX_SAFE_INTEGER ? 1 : this.uid + 1
    return this.uid
  }
}
