import type { RingBuffer, RingStats } from '../../../../transport/shards/RingBuffer.ts'
import { checkFrame, fillFrame, frameKey, frameSize, makeFrame, Rng } from './frames.ts'

/** One side of a two-thread model run: the frame sequence comes from `seed`, the API calls from `actions`. */
export interface ModelRunSpec {
  readonly seed: number
  /** Seeds this side's random choice of calls (single writes, batches, reserve, reads, drains, waits). */
  readonly actions: number
  readonly count: number
  /** Park with Atomics.wait (allowed in workers) or Atomics.waitAsync (main thread). */
  readonly blocking: boolean
}

/** A park that lasts this long means the other side is stuck: fail instead of hanging. */
const STUCK_MS = 10_000

async function waitForSpace(ring: RingBuffer, length: number, blocking: boolean): Promise<void> {
  const ok = blocking ? ring.waitForSpace(length, STUCK_MS) : await ring.waitForSpaceAsync(length, STUCK_MS)
  if (!ok) throw new Error(`producer: no space for ${length} bytes after ${STUCK_MS} ms`)
}

async function waitForData(ring: RingBuffer, blocking: boolean): Promise<void> {
  const ok = blocking ? ring.waitForData(STUCK_MS) : await ring.waitForDataAsync(STUCK_MS)
  if (!ok) throw new Error(`consumer: no data after ${STUCK_MS} ms`)
}

/** Writes frames 0..count-1 of the seed's sequence through a random mix of the producer calls. */
export async function produceSequence(ring: RingBuffer, spec: ModelRunSpec): Promise<RingStats> {
  const { seed, count, blocking } = spec
  const rng = new Rng(spec.actions)
  // One reused scratch buffer for single writes: the ring must copy what it keeps.
  const scratch = new Uint8Array(4 * ring.capacity)
  let index = 0
  while (index < count) {
    const action = rng.below(20)
    if (action < 10) {
      const length = frameSize(seed, index, ring.capacity)
      const frame = scratch.subarray(0, length)
      fillFrame(frame, seed, index, length)
      while (!ring.tryWrite(frame)) await waitForSpace(ring, length, blocking)
      scratch.fill(0xee, 0, length)
      index++
    } else if (action < 16) {
      const frames: Uint8Array[] = []
      const end = Math.min(count, index + 1 + rng.below(8))
      for (let i = index; i < end; i++) frames.push(makeFrame(seed, i, frameSize(seed, i, ring.capacity)))
      let taken = 0
      while (taken < frames.length) {
        const n = ring.tryWriteMany(frames, taken)
        taken += n
        if (taken < frames.length) await waitForSpace(ring, (frames[taken] as Uint8Array).length, blocking)
      }
      index = end
    } else if (action < 19) {
      const length = frameSize(seed, index, ring.capacity)
      if (length > ring.maxWholeFrameBytes) continue
      let offset = ring.reserve(length)
      while (offset < 0) {
        await waitForSpace(ring, length, blocking)
        offset = ring.reserve(length)
      }
      fillFrame(ring.frameBytes().subarray(offset, offset + length), seed, index, length)
      ring.publish()
      index++
    } else {
      ring.flush()
    }
  }
  while (!ring.flush()) await waitForSpace(ring, 0, blocking)
  return ring.stats()
}

/** Reads frames 0..count-1 through a random mix of consumer calls, checking each byte; then expects nothing more. */
export async function consumeSequence(ring: RingBuffer, spec: ModelRunSpec): Promise<RingStats> {
  const { seed, count, blocking } = spec
  const rng = new Rng(spec.actions)
  let index = 0
  const onFrame = (buffer: Uint8Array, offset: number, length: number): void => {
    const problem = checkFrame(buffer, offset, length, seed, index, frameSize(seed, index, ring.capacity))
    if (problem !== null) throw new Error(`consumer: ${problem}`)
    index++
  }
  while (index < count) {
    const action = rng.below(10)
    if (action < 4) {
      const frame = ring.read()
      if (frame === null) await waitForData(ring, blocking)
      else onFrame(frame, 0, frame.length)
    } else if (action < 9) {
      const max = 1 + rng.below(16)
      if (ring.drain(onFrame, Math.min(max, count - index)) === 0) await waitForData(ring, blocking)
    } else {
      ring.release()
    }
  }
  const extra = ring.read()
  if (extra !== null) throw new Error(`consumer: unexpected frame of ${extra.length} bytes after the last one`)
  return ring.stats()
}

/** Stress frames: 16 bytes = producer id, sequence number, a derived word and a checksum. */
export const STRESS_FRAME_BYTES = 16

export function stressWord(producer: number, seq: number): number {
  return frameKey(producer, seq) | 0
}

export function stressChecksum(producer: number, seq: number, word: number): number {
  return Math.imul(producer ^ 0x5bd1e995, 0x1b873593) ^ Math.imul(seq, 0xcc9e2d51) ^ Math.imul(word, 0x2f0d6e2b)
}
