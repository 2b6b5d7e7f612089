/** Where the runtime gets ids (message ids, actor incarnation uids); the simulator can supply its own. */
export interface IdSource {
  /** A message or correlation id, unique within this system. */
  nextMessageId(): number
  /** An incarnation uid for a newly spawned actor, unique within this system. */
  nextUid(): number
}

/** Monotonic counters: deterministic by construction, so the real system and the simulator share it. */
export class SequentialIds implements IdSource {
  private messageId = 0
  private uid: number

  /**
   * `uidStart`: where incarnation uids begin. A system started again (a restarted node) should not
   * hand out the uids of its previous life, or a stale ref held elsewhere would reach the new actor
   * at the same path; ActorSystem starts them at a random offset for that reason.
   */
  constructor(uidStart = 0) {
    this.uid = uidStart
  }
  nextMessageId(): number {
    // Wraps well before losing integer precision; ids only need to be unique among live messages.
    this.messageId = this.messageId === Number.MAX_SAFE_INTEGER ? 1 : this.messageId + 1
    return this.messageId
  }
  nextUid(): number {
    this.uid = this.uid === Number.MAX_SAFE_INTEGER ? 1 : this.uid + 1
    return this.uid
  }
}
