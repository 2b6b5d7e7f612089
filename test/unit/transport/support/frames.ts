/**
 * Deterministic frame sequences for ring tests: both threads derive frame `i` of a run from the
 * run's seed, so the consumer checks every byte without the frames crossing any other channel.
 */

/** Small seeded generator (xorshift32 over a splitmix-style seed); deterministic on every thread. */
export class Rng {
  private state: number
  constructor(seed: number) {
    let s = (seed ^ 0x9e3779b9) | 0
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b)
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35)
    this.state = (s ^ (s >>> 16)) | 1
  }
  next(): number {
    let x = this.state
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.state = x
    return x >>> 0
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return this.next() % n
  }
}

/** Mixes a run seed and a frame index into one 32-bit value. */
export function frameKey(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x27d4eb2f, 0x165667b1) ^ Math.imul(index + 1, 0x9e3779b1)
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * Size of frame `index` for a ring of `capacity` bytes: mostly small, with record-boundary sizes
 * around the largest whole frame, frames that force wrap padding, and oversized frames (chunked),
 * some larger than the whole ring.
 */
export function frameSize(seed: number, index: number, capacity: number): number {
  const key = frameKey(seed, index)
  const pick = key % 100
  const r = key >>> 8
  const maxWhole = capacity / 2 - 4
  if (pick < 45) return r % 33
  if (pick < 65) return r % (maxWhole + 1)
  if (pick < 75) return maxWhole - 2 + (r % 5) // around the whole/chunked boundary
  if (pick < 90) return r % (capacity / 4 + 1)
  return maxWhole + 1 + (r % (3 * capacity)) // chunked, up to 3.5 rings
}

/** Fills `target[0, length)` with the content of frame `index`. */
export function fillFrame(target: Uint8Array, seed: number, index: number, length: number): void {
  let x = frameKey(seed, index) | 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    target[i] = x & 0xff
  }
}

export function makeFrame(seed: number, index: number, length: number): Uint8Array {
  const frame = new Uint8Array(length)
  fillFrame(frame, seed, index, length)
  return frame
}

/** Returns null when `buffer[offset, offset+length)` is frame `index`, else what is wrong. */
export function checkFrame(buffer: Uint8Array, offset: number, length: number, seed: number, index: number, expectedLength: number): string | null {
  if (length !== expectedLength) return `frame ${index}: length ${length}, expected ${expectedLength}`
  let x = frameKey(seed, index) | 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    if (buffer[offset + i] !== (x & 0xff)) return `frame ${index}: byte ${i} of ${length} differs`
  }
  return null
}
