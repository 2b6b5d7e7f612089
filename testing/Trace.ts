/** What happened at one step of a simulation. Numbers on the hot path; names only when rendered. */
export const TraceKind = {
  /** An actor (a scheduler task) took a turn. */
  Run: 0,
  /** An actor was handed one message (counted inside its turn). */
  Handle: 1,
  /** A timer fired. */
  Timer: 2,
  /** A frame left a node. */
  Send: 3,
  /** A frame reached a node. */
  Deliver: 4,
  /** A frame was lost (loss, partition, nobody listening). */
  Drop: 5,
  /** A frame was duplicated on the wire. */
  Duplicate: 6,
  /** A process crashed, paused, resumed or restarted; a partition started or healed. */
  Fault: 7,
  /** A failure detector declared a peer down. */
  PeerDown: 8,
  /** A callback scheduled with `Simulation.at`. */
  Scheduled: 9,
  /** A task scheduled on a crashed process (its work is discarded). */
  Zombie: 10,
} as const
export type TraceKind = (typeof TraceKind)[keyof typeof TraceKind]

const KIND_NAMES = ['run', 'handle', 'timer', 'send', 'deliver', 'drop', 'duplicate', 'fault', 'peer-down', 'scheduled', 'zombie'] as const
export type TraceKindName = (typeof KIND_NAMES)[number]

/** One rendered trace event. */
export interface TraceEvent {
  /** Step number within the simulation (0-based). */
  readonly step: number
  /** Virtual time in ms. */
  readonly time: number
  readonly kind: TraceKindName
  /** The process (node) it happened on, when there is one. */
  readonly process: string | null
  /** Human-readable detail: the actor's path, the frame's route, the fault. */
  readonly detail: string
}

/** How a trace names a subject (an actor, a frame route) when rendering. */
export type Describe = (kind: TraceKind, subject: unknown, value: number) => string

const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)

/**
 * The determinism fingerprint plus a ring of the last events. Every event is mixed into a 64-bit
 * hash (two 32-bit lanes, murmur3-style) from numbers only — kinds, times, process indexes, queue
 * lengths, frame bytes — so the hash is the same in every process that runs the same seed, and
 * cheap enough to take on every step. Rendering to text happens only when someone asks (a failure
 * report), from the ring.
 */
export class Trace {
  private h1 = 0x9747b28c | 0
  private h2 = 0x2f4a6b1d | 0
  /** Events recorded so far. */
  count = 0
  private readonly capacity: number
  private readonly mask: number
  private readonly steps: Float64Array
  private readonly times: Float64Array
  private readonly kinds: Uint8Array
  private readonly values: Float64Array
  private readonly processes: (string | null)[]
  private readonly subjects: unknown[]
  private readonly describe: Describe
  /** Every event ever recorded, when the simulation keeps the full trace (for diffing two runs). */
  readonly full: TraceEvent[] | null

  constructor(capacity: number, describe: Describe, keepFull: boolean) {
    // A power of two, so the ring index is a mask rather than a division on every event.
    let size = 1
    while (size < capacity) size *= 2
    this.capacity = size
    this.mask = size - 1
    this.steps = new Float64Array(this.capacity)
    this.times = new Float64Array(this.capacity)
    this.kinds = new Uint8Array(this.capacity)
    this.values = new Float64Array(this.capacity)
    this.processes = new Array<string | null>(this.capacity).fill(null)
    this.subjects = new Array<unknown>(this.capacity).fill(null)
    this.describe = describe
    this.full = keepFull ? [] : null
  }

  /** Records an event and mixes it into the fingerprint. `hashValue` is what identifies it (an int). */
  record(step: number, time: number, kind: TraceKind, processIndex: number, process: string | null, subject: unknown, value: number): void {
    this.mix(kind | (processIndex << 8))
    this.mixNumber(time)
    this.mixNumber(value)
    const slot = this.count & this.mask
    this.count++
    this.steps[slot] = step
    this.times[slot] = time
    this.kinds[slot] = kind
    this.values[slot] = value
    this.processes[slot] = process
    this.subjects[slot] = subject
    if (this.full !== null) this.full.push(this.render(slot))
  }

  /** Mixes a 32-bit integer into the fingerprint. */
  mix(value: number): void {
    let k = Math.imul(value | 0, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    let h = this.h1 ^ k
    h = (h << 13) | (h >>> 19)
    this.h1 = (Math.imul(h, 5) + 0xe6546b64) | 0
    let g = this.h2 ^ Math.imul(value | 0, 0x85ebca6b)
    g = (g << 17) | (g >>> 15)
    this.h2 = (Math.imul(g, 0xc2b2ae35) + this.h1) | 0
  }

  /** Mixes any number exactly (its IEEE-754 bits), so fractional virtual times count too. */
  mixNumber(value: number): void {
    if ((value | 0) === value) {
      this.mix(value)
      return
    }
    f64[0] = value
    this.mix(u32[0] as number)
    this.mix(u32[1] as number)
  }

  /** Mixes bytes (a frame's content): a cheap word-at-a-time pass, folded in as two words. */
  mixBytes(bytes: Uint8Array): void {
    const n = bytes.length
    let a = n | 0
    let b = 0x27d4eb2f
    let i = 0
    for (; i + 4 <= n; i += 4) {
      const word = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24)
      a = Math.imul(a ^ word, 0x5bd1e995)
      a ^= a >>> 15
      b = (b + word) | 0
    }
    for (; i < n; i++) {
      a = Math.imul(a ^ (bytes[i] as number), 0x5bd1e995)
      a ^= a >>> 15
    }
    this.mix(a)
    this.mix(b)
  }

  /** The fingerprint as 16 hex digits. Equal for equal runs, whatever the process. */
  get hash(): string {
    // Final avalanche so near-identical runs do not produce near-identical digests.
    const fmix = (h: number): number => {
      h ^= h >>> 16
      h = Math.imul(h, 0x85ebca6b)
      h ^= h >>> 13
      h = Math.imul(h, 0xc2b2ae35)
      h ^= h >>> 16
      return h >>> 0
    }
    const a = fmix(this.h1 ^ this.count)
    const b = fmix(this.h2 ^ a)
    return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')
  }

  /** The last `n` events (at most the ring's capacity), oldest first. */
  last(n = this.capacity): TraceEvent[] {
    const available = Math.min(this.count, this.capacity, Math.max(0, n))
    const out: TraceEvent[] = []
    for (let i = this.count - available; i < this.count; i++) out.push(this.render(i & this.mask))
    return out
  }

  private render(slot: number): TraceEvent {
    return {
      step: this.steps[slot] as number,
      time: this.times[slot] as number,
      kind: KIND_NAMES[this.kinds[slot] as number] ?? 'run',
      process: this.processes[slot] ?? null,
      detail: this.describe(this.kinds[slot] as TraceKind, this.subjects[slot], this.values[slot] as number),
    }
  }
}

/** Formats events one per line, for failure reports. */
export function formatTrace(events: readonly TraceEvent[]): string {
  return events
    .map((e) => `  #${e.step} t=${formatTime(e.time)} ${e.kind.padEnd(9)} ${e.process === null ? '' : `[${e.process}] `}${e.detail}`)
    .join('\n')
}

function formatTime(time: number): string {
  return Number.isInteger(time) ? `${time}` : time.toFixed(3)
}
