import type { Random } from './Random.ts'

/** The host's randomness. The only place in the layers allowed to call Math.random (lint-exempt). */
export class SystemRandom implements Random {
  next(): number {
    return Math.random()
  }
}
