import type { KV } from '@nats-io/kv'
import type { Clock, TimerHandle } from '../../../runtime/index.ts'

export interface LeaseHolder {
  readonly node: string
  readonly incarnation: number
}

export interface LeaderLeaseOptions {
  readonly kv: KV
  readonly key: string
  readonly clock: Clock
  readonly self: LeaseHolder
  /** The bucket's max age: the server drops an unrenewed lease after this long. */
  readonly ttlMs: number
  /** Renewal (and, when not holding, acquisition) period. */
  readonly renewMs: number
  /** Part of the TTL the holder gives up to cover clock-rate drift and request latency. */
  readonly guardMs: number
  /** Whether this member may hold the lease now (a live member, not quarantined). */
  readonly eligible: () => boolean
  /** Called when this member gains or loses the lease. */
  readonly onChange?: (holding: boolean) => void
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })
const MAX_LEASE_BYTES = 1024

/** Decodes a lease value; anything malformed (hostile or foreign writer) is "held by someone unknown" (null). */
export function decodeLeaseHolder(bytes: Uint8Array): LeaseHolder | null {
  if (bytes.length === 0 || bytes.length > MAX_LEASE_BYTES) return null
  try {
    const o = JSON.parse(dec.decode(bytes)) as unknown
    if (typeof o !== 'object' || o === null) return null
    const { node, incarnation } = o as Record<string, unknown>
    if (typeof node !== 'string' || node.length === 0 || node.length > 512) return null
    if (typeof incarnation !== 'number' || !Number.isSafeInteger(incarnation) || incarnation < 0) return null
    return { node, incarnation }
  } catch {
    return null
  }
}

/**
 * A TTL'd leader lease on a KV key. Acquire is `create` (fails if anyone holds it); renewal is
 * `update` at the revision this member wrote last (compare-and-set: fails once anyone else took it);
 * the bucket's max age expires an unrenewed lease on the server. The holder counts its lease from the
 * moment it *sent* the write, minus `guardMs`, on its own monotonic clock: it believes it holds the
 * lease strictly shorter than the server keeps it, provided clock rates differ by less than the guard
 * (no synchronized wall clocks needed). `held` turns false the moment that local validity runs out or
 * a renewal fails, so duties stop at once, renewal answer or not.
 */
export class LeaderLease {
  private readonly o: LeaderLeaseOptions
  private revision = 0
  private validUntil = 0
  private seen: LeaseHolder | null = null
  private timer: TimerHandle | null = null
  private busy = false
  private stopped = false

  constructor(options: LeaderLeaseOptions) {
    this.o = options
    this.arm(0)
  }

  /** True while this member holds a lease that is still valid by its own clock. */
  get held(): boolean {
    return this.revision > 0 && this.o.clock.now() < this.validUntil
  }

  /** The holder as last seen (this member while it holds the lease), or null. For operators, never for safety. */
  holder(): LeaseHolder | null {
    return this.held ? this.o.self : this.seen
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) this.o.clock.clearTimer(this.timer)
    this.timer = null
    this.lose()
  }

  private arm(ms: number): void {
    this.timer = this.o.clock.setTimer(ms, () => {
      if (this.stopped) return
      this.arm(this.o.renewMs)
      if (this.busy) return
      this.busy = true
      this.round()
        .catch(() => this.lose())
        .finally(() => {
          this.busy = false
        })
    })
  }

  private lose(): void {
    const had = this.revision > 0
    this.revision = 0
    this.validUntil = 0
    if (had) this.o.onChange?.(false)
  }

  private value(): Uint8Array {
    return enc.encode(JSON.stringify({ node: this.o.self.node, incarnation: this.o.self.incarnation }))
  }

  private async round(): Promise<void> {
    const { kv, key } = this.o
    if (!this.o.eligible()) {
      if (this.revision > 0) {
        const rev = this.revision
        this.lose()
        // Hand over at once instead of letting the lease run out; compare-and-set so only our own lease goes.
        await kv.delete(key, { previousSeq: rev })
      }
      return
    }
    const sentAt = this.o.clock.now()
    if (this.revision > 0) {
      if (sentAt >= this.validUntil) {
        this.lose()
        return
      }
      this.revision = await kv.update(key, this.value(), this.revision)
      this.validUntil = sentAt + this.o.ttlMs - this.o.guardMs
      return
    }
    const entry = await kv.get(key)
    if (entry !== null && entry.operation === 'PUT') {
      this.seen = decodeLeaseHolder(entry.value)
      const mine = this.seen !== null && this.seen.node === this.o.self.node && this.seen.incarnation === this.o.self.incarnation
      // Our own lease from before a failed renewal: its age is unknown here, so drop it and compete afresh.
      if (mine) await kv.delete(key, { previousSeq: entry.revision })
      return
    }
    this.seen = null
    const revision = await kv.create(key, this.value())
    if (this.stopped) return
    this.revision = revision
    this.validUntil = sentAt + this.o.ttlMs - this.o.guardMs
    this.seen = this.o.self
    this.o.onChange?.(true)
  }
}
