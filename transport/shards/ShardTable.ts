import { InvalidArgumentError } from '../../runtime/index.ts'

/*
 * Layout (Int32 words of one SharedArrayBuffer, shared by every thread of a sharded system):
 *   word 0              round-robin counter (Atomics.add by whichever thread places a spawn)
 *   word 16 + s         status of shard s: 0 down, 1 up
 *   word 16 + T + s     load of shard s (live actors), stored by the shard itself
 * T = number of systems (the main thread's shard 0 and the worker shards 1..N). The counter sits on
 * its own cache line; status and load are read far more often than written.
 */
const W_ROUND_ROBIN = 0
const W_STATUS = 16

export const ShardStatus = {
  Down: 0,
  Up: 1,
} as const
export type ShardStatus = (typeof ShardStatus)[keyof typeof ShardStatus]

/**
 * Facts about every shard that any thread may read without a message: whether it is up and how
 * loaded it is, plus the shared round-robin counter. One SharedArrayBuffer, Atomics only, no locks;
 * values are hints for placement (a shard may go down right after being read as up, and a spawn
 * there then fails with ERR_SHARD_DOWN).
 */
export class ShardTable {
  static create(systems: number): ShardTable {
    if (!Number.isInteger(systems) || systems < 2) throw new InvalidArgumentError(`a shard table needs at least 2 systems, got ${systems}`)
    return new ShardTable(new SharedArrayBuffer((W_STATUS + 2 * systems) * 4), systems)
  }

  static attach(buffer: SharedArrayBuffer, systems: number): ShardTable {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== (W_STATUS + 2 * systems) * 4) {
      throw new InvalidArgumentError('not a shard table buffer for this many systems')
    }
    return new ShardTable(buffer, systems)
  }

  readonly buffer: SharedArrayBuffer
  /** Systems in the table: shard 0 (the main thread) and the worker shards. */
  readonly systems: number
  private readonly words: Int32Array

  private constructor(buffer: SharedArrayBuffer, systems: number) {
    this.buffer = buffer
    this.systems = systems
    this.words = new Int32Array(buffer)
  }

  status(shard: number): ShardStatus {
    return Atomics.load(this.words, W_STATUS + shard) as ShardStatus
  }

  setStatus(shard: number, status: ShardStatus): void {
    Atomics.store(this.words, W_STATUS + shard, status)
  }

  isUp(shard: number): boolean {
    return Atomics.load(this.words, W_STATUS + shard) === ShardStatus.Up
  }

  load(shard: number): number {
    return Atomics.load(this.words, W_STATUS + this.systems + shard)
  }

  /** The shard stores its own count periodically; placers add their spawns meanwhile (see `addLoad`). */
  setLoad(shard: number, load: number): void {
    Atomics.store(this.words, W_STATUS + this.systems + shard, load)
  }

  /** A spawn was just placed on `shard`: count it now so a burst of placements does not all pick the same shard. */
  addLoad(shard: number, delta: number): void {
    Atomics.add(this.words, W_STATUS + this.systems + shard, delta)
  }

  /** Next value of the shared round-robin counter (every thread draws from the same sequence). */
  nextRoundRobin(): number {
    return Atomics.add(this.words, W_ROUND_ROBIN, 1) >>> 0
  }
}
