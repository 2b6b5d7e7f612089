import { InvalidArgumentError } from '../../runtime/index.ts'

/** Word offsets inside a doorbell's two Int32 words. */
const SEQ = 0
const PARKED = 1

/** Bytes a standalone doorbell occupies: one cache line, so nothing else shares it. */
const DOORBELL_BYTES = 64

/** What ended a park: a ring (`ok`), a ring that came before the wait (`not-equal`), or the timeout. */
export type WakeReason = 'ok' | 'not-equal' | 'timed-out'

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> }
/** `Atomics.waitAsync` is in ES2024's lib; Node 20 has it, our lib target (ES2023) does not declare it. */
const waitAsync = (Atomics as unknown as { waitAsync: (array: Int32Array, index: number, value: number, timeout?: number) => WaitAsyncResult }).waitAsync

/**
 * Wake-up signal with one waiter (a consumer thread) and any number of ringers (producers), in two
 * Int32 words of shared memory: a sequence number the waiter sleeps on and a "parked" flag.
 *
 * Ringers only pay for `Atomics.notify` when the waiter announced it is about to sleep, so a busy
 * consumer costs producers one relaxed-looking load per publish, not a syscall per frame. A shard with
 * several inbound rings shares one doorbell between them and parks once for all.
 *
 * Waiter protocol (no lost wake-ups):
 *   token = bell.prepare()          // load seq, then store parked = 1
 *   if (work is visible) bell.cancel() else bell.wait(token)
 * Ringer protocol: publish the work (Atomics.store), then `bell.ring()`.
 *
 * Why nothing is lost: every access here is an Atomics operation, which ECMAScript makes sequentially
 * consistent, so all of them fall in one total order. The waiter does store(parked=1) then loads the
 * work index; the ringer does store(work index) then loads parked. In any total order at least one
 * of them sees the other's store (Dekker): either the waiter sees the work and cancels, or the ringer
 * sees parked=1 and bumps seq. The waiter read seq *before* setting parked, so a bump that follows
 * the ringer's read of parked=1 comes after the waiter's read of seq, and `Atomics.wait(seq, token)`
 * returns 'not-equal' at once instead of sleeping through it.
 */
export class Doorbell {
  /** Creates a standalone doorbell in its own SharedArrayBuffer (send `.buffer` to other threads). */
  static create(): Doorbell {
    return new Doorbell(new Int32Array(new SharedArrayBuffer(DOORBELL_BYTES)), 0)
  }

  /** Opens a doorbell created by `Doorbell.create()` on another thread. */
  static attach(buffer: SharedArrayBuffer): Doorbell {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== DOORBELL_BYTES) {
      throw new InvalidArgumentError(`a doorbell buffer is a SharedArrayBuffer of ${DOORBELL_BYTES} bytes`)
    }
    return new Doorbell(new Int32Array(buffer), 0)
  }

  /** The shared memory holding this doorbell (the whole ring's buffer for a ring's built-in doorbells). */
  readonly buffer: SharedArrayBuffer
  private readonly words: Int32Array
  private readonly seqIndex: number
  private readonly parkedIndex: number

  /** @internal Rings embed their built-in doorbells in their own control block at `index`. */
  constructor(words: Int32Array, index: number) {
    this.words = words
    this.buffer = words.buffer as SharedArrayBuffer
    this.seqIndex = index + SEQ
    this.parkedIndex = index + PARKED
  }

  /** Waiter: announce an imminent park. Check for work after this and before `wait`. */
  prepare(): number {
    const token = Atomics.load(this.words, this.seqIndex)
    Atomics.store(this.words, this.parkedIndex, 1)
    return token
  }

  /** Waiter: work turned up between `prepare` and `wait`; do not park. */
  cancel(): void {
    Atomics.store(this.words, this.parkedIndex, 0)
  }

  /** Waiter: blocks the thread until rung or timed out. Blocking is fine in workers and in Node's main thread. */
  wait(token: number, timeoutMs = Infinity): WakeReason {
    const reason = Atomics.wait(this.words, this.seqIndex, token, timeoutMs)
    Atomics.store(this.words, this.parkedIndex, 0)
    return reason
  }

  /**
   * Waiter: parks without blocking the event loop. A pending `Atomics.waitAsync` does not keep a Node
   * event loop alive by itself (Node 20): the thread needs another live handle (a worker's parentPort
   * listener does) or it may exit while parked.
   */
  async waitAsync(token: number, timeoutMs = Infinity): Promise<WakeReason> {
    const result = waitAsync(this.words, this.seqIndex, token, Number.isFinite(timeoutMs) ? timeoutMs : undefined)
    const reason = result.async ? await result.value : result.value
    Atomics.store(this.words, this.parkedIndex, 0)
    return reason
  }

  /** Ringer: wakes the waiter if it is parked (or about to be). Returns whether a notify was sent. */
  ring(): boolean {
    // Cheap check first: while the waiter is busy this line stays shared and costs no write.
    if (Atomics.load(this.words, this.parkedIndex) === 0) return false
    // Only the ringer that clears the flag notifies, so concurrent ringers send one notify, not N.
    if (Atomics.compareExchange(this.words, this.parkedIndex, 1, 0) !== 1) return false
    Atomics.add(this.words, this.seqIndex, 1)
    Atomics.notify(this.words, this.seqIndex)
    return true
  }
}
