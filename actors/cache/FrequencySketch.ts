/**
 * TinyLFU's popularity estimate (Einziger, Friedman, Manes, "TinyLFU", 2017): a count-min sketch of
 * 4 rows of 4-bit counters (one byte each here, capped at 15) behind a doorkeeper bitset that absorbs
 * one-hit wonders. After `sampleSize` increments every counter is halved and the doorkeeper cleared
 * (aging), so yesterday's popular keys do not keep today's out forever.
 */
export class FrequencySketch {
  private readonly table: Uint8Array
  private readonly mask: number
  private readonly door: Uint8Array
  private readonly doorMask: number
  private readonly sampleSize: number
  private additions = 0

  constructor(capacity: number) {
    // About 4 counters per cached entry and row: few enough collisions that a scan of new keys does not look popular.
    const width = nextPowerOfTwo(Math.max(64, capacity * 4))
    this.table = new Uint8Array(width * 4)
    this.mask = width - 1
    const doorBits = nextPowerOfTwo(Math.max(64, capacity * 8))
    this.door = new Uint8Array(doorBits >>> 3)
    this.doorMask = doorBits - 1
    this.sampleSize = Math.max(160, capacity * 10)
  }

  /** Estimated accesses of `hash` in the current sample (0..16). */
  frequency(hash: number): number {
    let min = 15
    const h2 = rehash(hash)
    for (let row = 0; row < 4; row++) {
      const v = this.table[this.index(hash, h2, row)] as number
      if (v < min) min = v
    }
    return min + (this.inDoor(hash, h2) ? 1 : 0)
  }

  increment(hash: number): void {
    const h2 = rehash(hash)
    // First sighting only sets the doorkeeper: one-hit wonders never reach the counters.
    if (!this.inDoor(hash, h2)) {
      this.setDoor(hash, h2)
    } else {
      // Conservative update: only the smallest counters grow, which tightens the estimate.
      let min = 15
      for (let row = 0; row < 4; row++) min = Math.min(min, this.table[this.index(hash, h2, row)] as number)
      if (min < 15) {
        for (let row = 0; row < 4; row++) {
          const i = this.index(hash, h2, row)
          if (this.table[i] === min) this.table[i] = min + 1
        }
      }
    }
    if (++this.additions >= this.sampleSize) this.age()
  }

  private age(): void {
    for (let i = 0; i < this.table.length; i++) this.table[i] = (this.table[i] as number) >>> 1
    this.door.fill(0)
    this.additions = this.additions >>> 1
  }

  private index(h1: number, h2: number, row: number): number {
    return row * (this.mask + 1) + ((h1 + Math.imul(row + 1, h2)) & this.mask)
  }

  private inDoor(h1: number, h2: number): boolean {
    const a = h1 & this.doorMask
    const b = (h1 + h2) & this.doorMask
    return ((this.door[a >>> 3] as number) & (1 << (a & 7))) !== 0 && ((this.door[b >>> 3] as number) & (1 << (b & 7))) !== 0
  }

  private setDoor(h1: number, h2: number): void {
    const a = h1 & this.doorMask
    const b = (h1 + h2) & this.doorMask
    this.door[a >>> 3] = (this.door[a >>> 3] as number) | (1 << (a & 7))
    this.door[b >>> 3] = (this.door[b >>> 3] as number) | (1 << (b & 7))
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** A second, independent-enough hash from the first (murmur3's finaliser), made odd so strides cover the table. */
function rehash(h: number): number {
  let x = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) | 1
}

/** FNV-1a over the key's UTF-16 code units: fast, no allocation, good enough spread for sketches and blooms. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A second hash of the key with another basis and multiplier (djb2-xor variant), for double hashing. */
export function hashKey2(key: string): number {
  let h = 5381
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 33) ^ key.charCodeAt(i)) >>> 0
  return rehash(h) >>> 0
}
