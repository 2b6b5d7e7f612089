/** Randomness as the runtime sees it; the simulator supplies a seeded one. */
export interface Random {
  /** A float in [0, 1). */
  next(): number
}

/**
 * A small, fast, seedable generator (mulberry32). Used by the simulator and by anyone who wants a
 * reproducible run; the same seed gives the same sequence on every platform.
 */
export class SeededRandom implements Random {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
