import { hashKey, hashKey2 } from './FrequencySketch.ts'

/**
 * A Bloom filter over L2's key set, so a miss this node already knows about skips the Redis round
 * trip (the reference design built one and never consulted it). Kirsch–Mitzenmacher: the k probes
 * are h1 + i·h2 from two base hashes, which keeps the false-positive rate of k independent hashes.
 * Sized from the expected key count and the target false-positive rate; a filter cannot forget, so
 * the cache rebuilds it periodically from L2's keys (deleted keys then drop out).
 */
export class BloomFilter {
  readonly bits: number
  readonly hashes: number
  private readonly words: Uint8Array
  private count = 0

  constructor(expectedKeys: number, falsePositiveRate: number) {
    const n = Math.max(1, expectedKeys)
    const p = Math.min(0.5, Math.max(1e-9, falsePositiveRate))
    // Optimal m = -n ln p / (ln 2)^2 and k = (m / n) ln 2.
    this.bits = Math.max(64, Math.ceil((-n * Math.log(p)) / (Math.LN2 * Math.LN2)))
    this.hashes = Math.max(1, Math.round((this.bits / n) * Math.LN2))
    this.words = new Uint8Array(Math.ceil(this.bits / 8))
  }

  get size(): number {
    return this.count
  }

  add(key: string): void {
    const h1 = hashKey(key)
    const h2 = hashKey2(key)
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0
      const at = bit % this.bits
      this.words[at >>> 3] = (this.words[at >>> 3] as number) | (1 << (at & 7))
    }
    this.count++
  }

  /** False: certainly never added. True: probably added. */
  mightContain(key: string): boolean {
    const h1 = hashKey(key)
    const h2 = hashKey2(key)
    for (let i = 0; i < this.hashes; i++) {
      const at = ((h1 + Math.imul(i, h2)) >>> 0) % this.bits
      if (((this.words[at >>> 3] as number) & (1 << (at & 7))) === 0) return false
    }
    return true
  }
}
