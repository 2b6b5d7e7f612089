/**
 * What a leader knows about one follower's log (etcd/raft's Progress). `probe`: one append in flight
 * until it is answered (finding where the logs agree); `replicate`: appends are pipelined, up to
 * `maxInflight` unacknowledged messages; `snapshot`: an InstallSnapshot is under way, appends wait.
 * A slow follower only fills its own window: the others never wait for it.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot'

export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** Probe: an append is in flight, so no other is sent until a response or the next heartbeat. */
  probeSent = false
  /** Replicate: last index of each unacknowledged append, oldest first. */
  inflight: number[] = []
  /** Heard from within the current CheckQuorum period. */
  recentActive = false
  /** Snapshot state: the snapshot being sent and the offset of the next chunk. */
  pendingSnapshot = 0
  snapshotOffset = 0
  isLearner: boolean

  constructor(next: number, isLearner: boolean) {
    this.next = next
    this.isLearner = isLearner
  }

  becomeProbe(): void {
    // After a snapshot, probe from just past it; otherwise from one past what is known to match.
    this.next = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1
    this.state = 'probe'
    this.probeSent = false
    this.inflight = []
    this.pendingSnapshot = 0
  }

  becomeReplicate(): void {
    this.state = 'replicate'
    this.next = this.match + 1
    this.probeSent = false
    this.inflight = []
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot'
    this.pendingSnapshot = index
    this.snapshotOffset = 0
    this.probeSent = false
    this.inflight = []
  }

  /** A success up to `index`: returns whether it taught us anything. */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (this.match < index) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    if (this.next < index + 1) this.next = index + 1
    return updated
  }

  /**
   * A rejection of the append after `rejected`; `probeFrom` is where the hints say to try next.
   * Returns false for a stale rejection (one about an append already superseded).
   */
  maybeDecrTo(rejected: number, probeFrom: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, probeFrom + 1), this.match + 1, 1)
    this.probeSent = false
    return true
  }

  isPaused(maxInflight: number): boolean {
    if (this.state === 'probe') return this.probeSent
    if (this.state === 'replicate') return this.inflight.length >= maxInflight
    return true
  }

  sentEntries(lastIndex: number): void {
    if (this.state === 'replicate') {
      this.next = lastIndex + 1
      this.inflight.push(lastIndex)
    } else if (this.state === 'probe') this.probeSent = true
  }

  /** Frees the window up to `index` (acknowledged). */
  freeTo(index: number): void {
    let n = 0
    while (n < this.inflight.length && (this.inflight[n] as number) <= index) n++
    if (n > 0) this.inflight.splice(0, n)
  }
}
