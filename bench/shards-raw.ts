/**
 * Raw ring benchmark: pre-encoded 32-byte frames moved from a worker thread to the main thread
 * through one SharedArrayBuffer ring (a `tryWrite` per frame, batched `drain` on the consumer), next
 * to the same-run baseline of one `MessagePort.postMessage` per frame. Rounds alternate the two (ABBA)
 * so load from other processes hits both alike; the ratio is the median of per-round ratios.
 *
 * Standalone: `npx tsx bench/shards-raw.ts` prints one BENCH line. `benchRawRing()` is the same
 * measurement for the bench runner. The file is also its own worker (see `workerMain`).
 */
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { RingBuffer } from '../transport/shards/RingBuffer.ts'

const FRAME_BYTES = 32
const WORKER_TAG = 'troupe-bench-shards-raw'

export interface RawRingOptions {
  /** Frames per ring round. Default 5e6. */
  readonly frames?: number
  /** Messages per postMessage round (it is ~30x slower). Default 3e5. */
  readonly messages?: number
  /** Rounds of each (ABBA order). Default 3. */
  readonly rounds?: number
  /** Ring data capacity in bytes. Default 64 KiB. */
  readonly capacity?: number
  /** Consumer polls before it parks (RingBufferOptions.spinIterations). Default: the ring's default. */
  readonly spinIterations?: number
}

export interface RawRingResult {
  /** Median frames per second through the ring. */
  readonly framesPerSec: number
  /** Median messages per second with one `postMessage` per message. */
  readonly baselinePerSec: number
  /** Median of the per-round ratios ring ÷ postMessage. */
  readonly ratio: number
  readonly frameBytes: number
  readonly rounds: number
  readonly ringFrames: number
  readonly postMessages: number
  /** Consumer parks and producer full events over all ring rounds (the ring's own counters). */
  readonly consumerParks: number
  readonly producerFullEvents: number
}

type Job = { kind: 'ring'; buffer: SharedArrayBuffer; frames: number } | { kind: 'post'; messages: number }
type JobDone = { kind: 'done'; fullEvents: number }

/** Pre-encoded frames: 64 distinct 32-byte payloads, cycled. Byte 0 carries the index for the self-check. */
function makeFrames(): Uint8Array[] {
  return Array.from({ length: 64 }, (_, index) => {
    const frame = new Uint8Array(FRAME_BYTES)
    for (let i = 0; i < FRAME_BYTES; i++) frame[i] = (index * 31 + i * 7) & 0xff
    frame[0] = index
    return frame
  })
}

function expectedSum(count: number): number {
  let sum = 0
  for (let i = 0; i < count; i++) sum += i & 63
  return sum
}

/**
 * Worker threads get no TypeScript loader from tsx on Node 20, so the worker starts from a CommonJS
 * bootstrap that registers tsx's ESM hooks and then imports this file.
 */
function startWorker(): Worker {
  const hooks = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href
  const bootstrap = `require('node:module').register(${JSON.stringify(hooks)}, { data: {} }); import(${JSON.stringify(import.meta.url)})`
  return new Worker(bootstrap, { eval: true, workerData: { tag: WORKER_TAG } })
}

function workerMain(): void {
  const port = parentPort
  if (port === null) return
  const frames = makeFrames()
  port.on('message', (job: Job) => {
    if (job.kind === 'post') {
      for (let i = 0; i < job.messages; i++) port.postMessage(frames[i & 63])
      return
    }
    const ring = RingBuffer.attach(job.buffer)
    const before = ring.stats().fullEvents
    for (let i = 0; i < job.frames; i++) {
      const frame = frames[i & 63] as Uint8Array
      while (!ring.tryWrite(frame)) ring.waitForSpace(FRAME_BYTES)
    }
    port.postMessage({ kind: 'done', fullEvents: ring.stats().fullEvents - before } satisfies JobDone)
  })
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function round4(value: number): number {
  return Number(value.toPrecision(4))
}

/** Waits for the next message of one kind from the worker. */
function nextMessage<T>(worker: Worker, accept: (message: unknown) => message is T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!accept(message)) return
      worker.off('message', onMessage)
      worker.off('error', reject)
      resolve(message)
    }
    worker.on('message', onMessage)
    worker.once('error', reject)
  })
}

const isDone = (message: unknown): message is JobDone => typeof message === 'object' && message !== null && (message as { kind?: unknown }).kind === 'done'

export async function benchRawRing(options: RawRingOptions = {}): Promise<RawRingResult> {
  const frames = options.frames ?? 5_000_000
  const messages = options.messages ?? 300_000
  const rounds = options.rounds ?? 3
  const ring = RingBuffer.create(options.capacity ?? 1 << 16, options.spinIterations === undefined ? {} : { spinIterations: options.spinIterations })
  const worker = startWorker()
  const ringRates: number[] = []
  const postRates: number[] = []
  const ratios: number[] = []
  let fullEvents = 0
  try {
    // Warm-up: loads the worker (tsx compiles it) and lets both paths reach optimized code.
    await ringRound(Math.min(frames, 200_000))
    await postRound(Math.min(messages, 20_000))
    for (let r = 0; r < rounds; r++) {
      let ringRate: number
      let postRate: number
      if (r % 2 === 0) {
        ringRate = await ringRound(frames)
        postRate = await postRound(messages)
      } else {
        postRate = await postRound(messages)
        ringRate = await ringRound(frames)
      }
      ringRates.push(ringRate)
      postRates.push(postRate)
      ratios.push(ringRate / postRate)
    }
  } finally {
    await worker.terminate()
  }
  return {
    framesPerSec: median(ringRates),
    baselinePerSec: median(postRates),
    ratio: median(ratios),
    frameBytes: FRAME_BYTES,
    rounds,
    ringFrames: frames,
    postMessages: messages,
    consumerParks: ring.stats().parks,
    producerFullEvents: fullEvents,
  }

  /** Consumer on this thread, blocking between batches (nothing else needs this event loop meanwhile). */
  async function ringRound(count: number): Promise<number> {
    const done = nextMessage(worker, isDone)
    let received = 0
    let sum = 0
    const onFrame = (buffer: Uint8Array, offset: number, length: number): void => {
      sum += buffer[offset] as number
      received += length === FRAME_BYTES ? 1 : 0
    }
    const started = performance.now()
    worker.postMessage({ kind: 'ring', buffer: ring.buffer, frames: count } satisfies Job)
    while (received < count) {
      if (ring.drain(onFrame, 4096) === 0 && !ring.waitForData(10_000)) throw new Error(`raw ring stalled after ${received} frames`)
    }
    const elapsed = performance.now() - started
    if (sum !== expectedSum(count)) throw new Error('raw ring self-check failed: frame contents differ')
    fullEvents += (await done).fullEvents
    return count / (elapsed / 1000)
  }

  async function postRound(count: number): Promise<number> {
    let received = 0
    let sum = 0
    const started = performance.now()
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (!(message instanceof Uint8Array)) return
        sum += message[0] as number
        if (++received === count) {
          worker.off('message', onMessage)
          resolve()
        }
      }
      worker.on('message', onMessage)
      worker.once('error', reject)
      worker.postMessage({ kind: 'post', messages: count } satisfies Job)
    })
    const elapsed = performance.now() - started
    if (sum !== expectedSum(count)) throw new Error('postMessage self-check failed: message contents differ')
    return count / (elapsed / 1000)
  }
}

if (!isMainThread && (workerData as { tag?: unknown } | null)?.tag === WORKER_TAG) {
  workerMain()
} else if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchRawRing()
  process.stderr.write(
    `# raw ring: ${FRAME_BYTES}-byte frames worker -> main, ${result.ringFrames} per round, ${result.rounds} rounds (ABBA); ` +
      `consumer parks ${result.consumerParks}, producer full events ${result.producerFullEvents}\n`,
  )
  process.stdout.write(
    `BENCH ${JSON.stringify({
      case: 'shards.raw-ring',
      value: round4(result.framesPerSec),
      unit: 'frames/s',
      baseline: round4(result.baselinePerSec),
      baselineName: 'MessagePort.postMessage per message',
      ratio: round4(result.ratio),
      frameBytes: FRAME_BYTES,
      rounds: result.rounds,
    })}\n`,
  )
}
