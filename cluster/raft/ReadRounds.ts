/** A ReadIndex request waiting for a quorum to acknowledge a heartbeat round at or after `round`. */
export interface PendingRead {
  readonly id: number
  /** The follower that forwarded the read, or null for the leader's own. */
  readonly from: string | null
  readonly index: number
  readonly round: number
  readonly acks: Set<string>
}

/**
 * A leader's pending ReadIndex requests in round order (etcd's readOnly queue): a heartbeat response
 * for round r acknowledges every read of round ≤ r, and a read is confirmed once a quorum of voters
 * (the leader included) acknowledged it; reads are released in order.
 */
export class ReadRounds {
  private reads: PendingRead[] = []

  add(read: PendingRead): void {
    this.reads.push(read)
  }

  /** `from` answered round `round`: returns the reads now confirmed, oldest first. */
  ack(from: string, round: number, voters: readonly string[]): PendingRead[] {
    let release = -1
    for (let i = 0; i < this.reads.length; i++) {
      const r = this.reads[i] as PendingRead
      if (r.round > round) break
      r.acks.add(from)
      let n = 0
      for (const v of voters) if (r.acks.has(v)) n++
      if (n > voters.length / 2) release = i
    }
    return release < 0 ? [] : this.reads.splice(0, release + 1)
  }

  /** Leadership ends: every pending read, removed. */
  abort(): PendingRead[] {
    const all = this.reads
    this.reads = []
    return all
  }
}
