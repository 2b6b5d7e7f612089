import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../../runtime/index.ts'
import { Doorbell } from '../../../transport/shards/Doorbell.ts'
import { RingBuffer, type RingStats } from '../../../transport/shards/RingBuffer.ts'
import { makeFrame } from './support/frames.ts'
import { consumeSequence, produceSequence, STRESS_FRAME_BYTES, stressChecksum, stressWord, type ModelRunSpec } from './support/ringDrivers.ts'
import type { RingJob } from './support/ringWorker.ts'
import { WorkerClient } from './support/startWorker.ts'

const workerFile = new URL('./support/ringWorker.ts', import.meta.url)

type Reply = { ok: true; stats: RingStats; [key: string]: unknown } | { ok: false; error: string }

function ok(reply: Reply): Extract<Reply, { ok: true }> {
  if (!reply.ok) throw new Error(`worker failed: ${reply.error}`)
  return reply
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// 1. Model-based test, one thread: the ring against a plain queue.

/** Frame sizes are chosen relative to the ring the command runs against (capacity varies per run). */
type SizeSpec = { readonly mode: 'small' | 'upToHalf' | 'boundary' | 'oversized'; readonly r: number }

function resolveSize(spec: SizeSpec, ring: RingBuffer): number {
  const maxWhole = ring.maxWholeFrameBytes
  switch (spec.mode) {
    case 'small':
      return spec.r % 41
    case 'upToHalf':
      return spec.r % (maxWhole + 1)
    case 'boundary':
      return maxWhole - 3 + (spec.r % 7)
    case 'oversized':
      return maxWhole + 1 + (spec.r % (3 * ring.capacity))
  }
}

const sizeSpec: fc.Arbitrary<SizeSpec> = fc.record({
  mode: fc.constantFrom<SizeSpec['mode']>('small', 'small', 'upToHalf', 'boundary', 'oversized'),
  r: fc.nat(),
})

interface Model {
  /** Frames the ring accepted and has not delivered, oldest first. */
  readonly queue: Uint8Array[]
  /** False while a view from `read()` may still hold ring space. */
  released: boolean
  nextKey: number
}
interface Real {
  readonly ring: RingBuffer
}
type RingCommand = fc.Command<Model, Real>

/** Ring empty and everything read handed back: a frame of any size must then be taken. */
function idle(model: Model, ring: RingBuffer): boolean {
  return model.queue.length === 0 && model.released && ring.pendingBytes === 0
}

/** Only the newest accepted frame may still be partly outside the ring (a chunked rest). */
function completeFrames(model: Model, ring: RingBuffer): number {
  return ring.pendingBytes > 0 ? model.queue.length - 1 : model.queue.length
}

function checkInvariants(model: Model, ring: RingBuffer): void {
  const stats = ring.stats()
  expect(stats.bytesUsed).toBeGreaterThanOrEqual(0)
  expect(stats.bytesUsed).toBeLessThanOrEqual(ring.capacity)
  expect(stats.framesWritten - stats.framesRead).toBe(model.queue.length)
  if (model.queue.length === 0 && model.released) expect(stats.bytesUsed).toBe(0)
}

/**
 * `canWrite` is exact for a lone frame; with a chunked rest pending it says whether progress is
 * possible, so a refusal it predicted must happen but a success it predicted may still be a refusal.
 */
function expectCanWriteAgrees(could: boolean, written: boolean, pending: boolean): void {
  if (!pending) expect(written, `canWrite said ${could}`).toBe(could)
  else if (!could) expect(written, 'canWrite said no room').toBe(false)
}

class WriteCommand implements RingCommand {
  readonly size: SizeSpec
  constructor(size: SizeSpec) {
    this.size = size
  }
  check = () => true
  run(model: Model, { ring }: Real): void {
    const frame = makeFrame(model.nextKey++, 0, resolveSize(this.size, ring))
    const wasIdle = idle(model, ring)
    const copy = frame.slice()
    const pending = ring.pendingBytes > 0
    const could = ring.canWrite(frame.length)
    const written = ring.tryWrite(frame)
    expectCanWriteAgrees(could, written, pending)
    if (written) model.queue.push(copy)
    else expect(wasIdle, 'a write into an idle ring was refused').toBe(false)
    frame.fill(0xee) // the caller may reuse its buffer at once
    checkInvariants(model, ring)
  }
  toString = () => `write(${this.size.mode}:${this.size.r})`
}

class WriteManyCommand implements RingCommand {
  readonly sizes: readonly SizeSpec[]
  constructor(sizes: readonly SizeSpec[]) {
    this.sizes = sizes
  }
  check = () => true
  run(model: Model, { ring }: Real): void {
    const frames = this.sizes.map((size) => makeFrame(model.nextKey++, 0, resolveSize(size, ring)))
    const copies = frames.map((frame) => frame.slice())
    const wasIdle = idle(model, ring)
    const taken = ring.tryWriteMany(frames)
    expect(taken).toBeGreaterThanOrEqual(0)
    expect(taken).toBeLessThanOrEqual(frames.length)
    if (wasIdle && frames.length > 0) expect(taken, 'an idle ring refused the first frame of a batch').toBeGreaterThan(0)
    model.queue.push(...copies.slice(0, taken))
    for (const frame of frames) frame.fill(0xee)
    checkInvariants(model, ring)
  }
  toString = () => `writeMany(${this.sizes.map((s) => `${s.mode}:${s.r}`).join(',')})`
}

class ReserveCommand implements RingCommand {
  readonly r: number
  constructor(r: number) {
    this.r = r
  }
  check = () => true
  run(model: Model, { ring }: Real): void {
    const length = this.r % (ring.maxWholeFrameBytes + 1)
    const frame = makeFrame(model.nextKey++, 0, length)
    const wasIdle = idle(model, ring)
    const pending = ring.pendingBytes > 0
    const could = ring.canWrite(length)
    const offset = ring.reserve(length)
    expectCanWriteAgrees(could, offset >= 0, pending)
    if (offset < 0) {
      expect(wasIdle, 'an idle ring refused a reservation').toBe(false)
    } else {
      ring.frameBytes().set(frame, offset)
      ring.publish()
      model.queue.push(frame)
    }
    checkInvariants(model, ring)
  }
  toString = () => `reserve(${this.r})`
}

class ReadCommand implements RingCommand {
  check = () => true
  run(model: Model, { ring }: Real): void {
    const complete = completeFrames(model, ring)
    const frame = ring.read()
    if (frame === null) {
      expect(complete, 'read() returned null with a complete frame in the ring').toBe(0)
      model.released = true
    } else {
      const expected = model.queue.shift()
      expect(expected).toBeDefined()
      expect(sameBytes(frame, expected as Uint8Array), `read() returned ${frame.length} bytes, not the next frame`).toBe(true)
      model.released = false
    }
    checkInvariants(model, ring)
  }
  toString = () => 'read'
}

class DrainCommand implements RingCommand {
  readonly max: number
  constructor(max: number) {
    this.max = max
  }
  check = () => true
  run(model: Model, { ring }: Real): void {
    const complete = completeFrames(model, ring)
    let seen = 0
    const delivered = ring.drain((buffer, offset, length) => {
      const expected = model.queue.shift()
      expect(expected).toBeDefined()
      expect(sameBytes(buffer.subarray(offset, offset + length), expected as Uint8Array)).toBe(true)
      seen++
    }, this.max)
    expect(delivered).toBe(seen)
    expect(delivered).toBe(Math.min(this.max, complete))
    model.released = true
    checkInvariants(model, ring)
  }
  toString = () => `drain(${this.max})`
}

class FlushCommand implements RingCommand {
  check = () => true
  run(model: Model, { ring }: Real): void {
    const done = ring.flush()
    expect(done).toBe(ring.pendingBytes === 0)
    checkInvariants(model, ring)
  }
  toString = () => 'flush'
}

class ReleaseCommand implements RingCommand {
  check = () => true
  run(model: Model, { ring }: Real): void {
    ring.release()
    model.released = true
    checkInvariants(model, ring)
  }
  toString = () => 'release'
}

const commands = [
  sizeSpec.map((size) => new WriteCommand(size)),
  sizeSpec.map((size) => new WriteCommand(size)),
  fc.array(sizeSpec, { maxLength: 8 }).map((sizes) => new WriteManyCommand(sizes)),
  fc.nat().map((r) => new ReserveCommand(r)),
  fc.nat().map((r) => new ReserveCommand(r)),
  fc.constant(new ReadCommand()),
  fc.constant(new ReadCommand()),
  fc.integer({ min: 1, max: 12 }).map((max) => new DrainCommand(max)),
  fc.constant(new FlushCommand()),
  fc.constant(new ReleaseCommand()),
]

/** Start positions that make the free-running Int32 counters cross 2^31 and 2^32 within a run. */
const startPositions = fc.oneof(fc.constantFrom(0, 2 ** 31 - 256, -256, -4), fc.integer())

describe('RingBuffer', () => {
  it('behaves like a FIFO queue under random frame sizes and call interleavings (model-based)', () => {
    fc.assert(
      fc.property(fc.constantFrom(64, 128, 256, 1024), startPositions, fc.commands(commands, { maxCommands: 120 }), (capacity, start, cmds) => {
        const model: Model = { queue: [], released: true, nextKey: 1 }
        const ring = RingBuffer.create(capacity, { startPosition: start })
        fc.modelRun(() => ({ model, real: { ring } }), cmds)
        // Whatever the interleaving, flushing and draining then delivers every accepted frame in order.
        const rest: Uint8Array[] = []
        for (;;) {
          const flushed = ring.flush()
          ring.drain((buffer, offset, length) => rest.push(buffer.slice(offset, offset + length)))
          if (flushed && !ring.hasData()) break
        }
        expect(rest.length).toBe(model.queue.length)
        rest.forEach((frame, i) => expect(sameBytes(frame, model.queue[i] as Uint8Array)).toBe(true))
        expect(ring.stats().bytesUsed).toBe(0)
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  it('writes a frame larger than the whole ring in chunks and delivers it intact', () => {
    const ring = RingBuffer.create(256)
    const big = makeFrame(7, 0, 10_000)
    expect(ring.tryWrite(big)).toBe(true)
    big.fill(0) // the ring kept its own copy of the unwritten rest
    expect(ring.pendingBytes).toBeGreaterThan(0)
    expect(ring.tryWrite(makeFrame(8, 0, 5)), 'a later frame must wait behind the chunked one').toBe(false)
    const received: Uint8Array[] = []
    while (received.length === 0) {
      const frame = ring.read()
      if (frame !== null) received.push(frame)
      else ring.flush()
    }
    expect(sameBytes(received[0] as Uint8Array, makeFrame(7, 0, 10_000))).toBe(true)
    expect(ring.pendingBytes).toBe(0)
    expect(ring.stats()).toMatchObject({ framesWritten: 1, framesRead: 1, chunkedFrames: 2, bytesUsed: 0 })
  })

  it('publishes the end of a chunked frame even when the reservation after it is refused', () => {
    const ring = RingBuffer.create(64) // whole frames up to 28 bytes
    expect(ring.tryWrite(makeFrame(1, 0, 100))).toBe(true) // first chunk fills the ring
    expect(ring.drain(() => {})).toBe(0) // consumes the chunk, frees the ring
    expect(ring.reserve(28)).toBe(-1) // writes the last chunk, then finds no room for 28 more bytes
    expect(ring.read()?.length).toBe(100)
  })

  it('rejects buffers that are not rings and doorbell mismatches with typed errors', () => {
    expect(() => RingBuffer.attach(new SharedArrayBuffer(1024))).toThrow(expect.objectContaining({ code: ErrorCodes.InvalidArgument }))
    expect(() => RingBuffer.create(0)).toThrow(expect.objectContaining({ code: ErrorCodes.InvalidArgument }))
    const bell = Doorbell.create()
    const shared = RingBuffer.create(128, { dataBell: bell })
    expect(() => RingBuffer.attach(shared.buffer)).toThrow(expect.objectContaining({ code: ErrorCodes.InvalidArgument }))
    expect(() => RingBuffer.attach(RingBuffer.create(128).buffer, { dataBell: bell })).toThrow(expect.objectContaining({ code: ErrorCodes.InvalidArgument }))
    expect(RingBuffer.attach(shared.buffer, { dataBell: Doorbell.attach(bell.buffer) }).capacity).toBe(128)
    expect(RingBuffer.create(100).capacity).toBe(128)
  })

  // -------------------------------------------------------------------------------------------
  // 4. Backpressure.

  it('refuses writes when full, loses nothing, and accepts again once the consumer drains', () => {
    const ring = RingBuffer.create(256)
    const written: Uint8Array[] = []
    let key = 1
    for (;;) {
      const frame = makeFrame(key, 0, 1 + (key % 23))
      if (!ring.tryWrite(frame)) break
      written.push(frame)
      key++
    }
    expect(written.length).toBeGreaterThan(5)
    const refused = makeFrame(key, 0, 1 + (key % 23))
    expect(ring.tryWrite(refused)).toBe(false)
    expect(ring.tryWriteMany([refused, refused])).toBe(0)
    expect(ring.reserve(refused.length)).toBe(-1)
    expect(ring.canWrite(refused.length)).toBe(false)
    expect(ring.stats().fullEvents).toBe(4)

    const received: Uint8Array[] = []
    expect(ring.drain((buffer, offset, length) => received.push(buffer.slice(offset, offset + length)), 3)).toBe(3)
    expect(ring.canWrite(refused.length)).toBe(true)
    expect(ring.tryWrite(refused)).toBe(true)
    written.push(refused)
    ring.drain((buffer, offset, length) => received.push(buffer.slice(offset, offset + length)))
    expect(received.length).toBe(written.length)
    received.forEach((frame, i) => expect(sameBytes(frame, written[i] as Uint8Array)).toBe(true))
    expect(ring.stats().bytesUsed).toBe(0)
  })

  // -------------------------------------------------------------------------------------------
  // Wake-ups.

  it('notifies a parked consumer once, not once per frame', async () => {
    const ring = RingBuffer.create(4096, { spinIterations: 0 })
    const parked = ring.waitForDataAsync()
    for (let i = 0; i < 100; i++) expect(ring.tryWrite(makeFrame(i, 0, 8))).toBe(true)
    await expect(parked).resolves.toBe(true)
    let stats = ring.stats()
    expect(stats).toMatchObject({ parks: 1, wakes: 1, notifies: 1 })
    ring.drain(() => {})
    for (let i = 0; i < 100; i++) ring.tryWrite(makeFrame(i, 0, 8))
    stats = ring.stats()
    expect(stats.notifies, 'no notify while nobody is parked').toBe(1)
  })

  it('wakes a producer parked on a full ring when the consumer frees space', async () => {
    const ring = RingBuffer.create(64, { spinIterations: 0 })
    while (ring.tryWrite(makeFrame(1, 0, 20)));
    const parked = ring.waitForSpaceAsync(20)
    expect(ring.read()).not.toBeNull()
    ring.release()
    await expect(parked).resolves.toBe(true)
    expect(ring.stats()).toMatchObject({ parks: 1, wakes: 1, notifies: 1 })
  })

  it('lets one consumer park once for several rings sharing a doorbell', async () => {
    const bell = Doorbell.create()
    const rings = [RingBuffer.create(256, { dataBell: bell }), RingBuffer.create(256, { dataBell: bell })]
    const token = bell.prepare()
    expect(rings.some((ring) => ring.hasData())).toBe(false)
    const woke = bell.waitAsync(token)
    expect((rings[1] as RingBuffer).tryWrite(makeFrame(3, 0, 12))).toBe(true)
    await expect(woke).resolves.toBe('ok')
    expect((rings[1] as RingBuffer).read()?.length).toBe(12)
    expect((rings[1] as RingBuffer).stats().notifies).toBe(1)
  })

  it('times out a park when nothing arrives', async () => {
    const ring = RingBuffer.create(128, { spinIterations: 0 })
    expect(ring.waitForData(5)).toBe(false)
    await expect(ring.waitForDataAsync(5)).resolves.toBe(false)
    expect(ring.stats()).toMatchObject({ parks: 2, wakes: 0 })
  })

  // -------------------------------------------------------------------------------------------
  // Two real threads.

  describe('across threads', () => {
    let worker: WorkerClient
    beforeAll(async () => {
      worker = new WorkerClient(workerFile)
      // Loading the worker (tsx compiles it) is the slow part; pay it once here.
      const probe = RingBuffer.create(64, { spinIterations: 0 })
      const reply = worker.request<Reply>({ kind: 'wait-one', buffer: probe.buffer, timeoutMs: 30_000 } satisfies RingJob)
      expect(probe.tryWrite(Uint8Array.of(1, 2, 3))).toBe(true)
      expect(ok(await reply).frame).toEqual([1, 2, 3])
    }, 60_000)
    afterAll(async () => {
      await worker.close()
    })

    it('delivers a parked consumer thread its frame (blocking Atomics.wait in the worker)', async () => {
      const ring = RingBuffer.create(256)
      const reply = worker.request<Reply>({ kind: 'wait-one', buffer: ring.buffer, timeoutMs: 10_000 } satisfies RingJob)
      expect(ring.tryWrite(Uint8Array.of(9, 8, 7))).toBe(true)
      const result = ok(await reply)
      expect(result.got).toBe(true)
      expect(result.frame).toEqual([9, 8, 7])
      expect(result.stats.wakes).toBeLessThanOrEqual(result.stats.parks)
      expect(ring.stats().notifies).toBe(result.stats.wakes)
    })

    it('matches the queue model with the producer and consumer on different threads', async () => {
      const runs: string[] = []
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            seed: fc.integer(),
            producerActions: fc.integer(),
            consumerActions: fc.integer(),
            capacity: fc.constantFrom(64, 256, 4096),
            start: startPositions,
            count: fc.integer({ min: 200, max: 1500 }),
            workerProduces: fc.boolean(),
            spinIterations: fc.constantFrom(0, 256),
          }),
          async (p) => {
            const ring = RingBuffer.create(p.capacity, { startPosition: p.start, spinIterations: p.spinIterations })
            const mine: ModelRunSpec = { seed: p.seed, count: p.count, blocking: false, actions: p.workerProduces ? p.consumerActions : p.producerActions }
            const theirs: RingJob = {
              kind: p.workerProduces ? 'produce' : 'consume',
              buffer: ring.buffer,
              spinIterations: p.spinIterations,
              seed: p.seed,
              count: p.count,
              blocking: true,
              actions: p.workerProduces ? p.producerActions : p.consumerActions,
            }
            const [local, remote] = await Promise.allSettled([
              p.workerProduces ? consumeSequence(ring, mine) : produceSequence(ring, mine),
              worker.request<Reply>(theirs),
            ])
            if (local.status === 'rejected') throw local.reason
            if (remote.status === 'rejected') throw remote.reason
            const remoteStats = ok(remote.value).stats
            const [produced, consumed] = p.workerProduces ? [remoteStats, local.value] : [local.value, remoteStats]
            expect(produced.framesWritten).toBe(p.count)
            expect(consumed.framesRead).toBe(p.count)
            expect(consumed.bytesRead).toBe(produced.bytesWritten)
            expect(ring.stats().bytesUsed).toBe(0)
            runs.push(`${p.capacity}B x${p.count} ${p.workerProduces ? 'worker->main' : 'main->worker'}: full ${produced.fullEvents}, parks ${produced.parks}/${consumed.parks}`)
          },
        ),
        { numRuns: 16 },
      )
      expect(runs.length).toBe(16)
    }, 120_000)

    it('applies backpressure across threads: a tiny ring, a slow reader, nothing lost', async () => {
      const ring = RingBuffer.create(64, { spinIterations: 0 })
      const spec = { seed: 99, count: 400, actions: 5 }
      const producing = worker.request<Reply>({ kind: 'produce', buffer: ring.buffer, spinIterations: 0, blocking: true, ...spec } satisfies RingJob)
      const consumed = await consumeSequence(ring, { ...spec, blocking: false })
      const produced = ok(await producing).stats
      expect(consumed.framesRead).toBe(400)
      expect(produced.fullEvents).toBeGreaterThan(0)
      expect(produced.parks).toBeGreaterThan(0)
    }, 60_000)
  })

  // -------------------------------------------------------------------------------------------
  // 3. Stress.

  describe('stress', () => {
    const PRODUCERS = 2
    const TOTAL = 10_000_000
    const workers: WorkerClient[] = []
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.close()))
    })

    it(`moves ${TOTAL.toExponential()} checksummed frames from ${PRODUCERS} producer threads: no loss, no duplicate, order kept`, async () => {
      const perProducer = TOTAL / PRODUCERS
      const bell = Doorbell.create()
      const rings = Array.from({ length: PRODUCERS }, () => RingBuffer.create(1 << 16, { dataBell: bell }))
      const expectedSeq = new Array<number>(PRODUCERS).fill(0)
      let received = 0
      let problem: string | null = null

      // Payloads start 4-byte aligned in the ring, so one Int32 view of each ring's data area reads them.
      let lastBuffer: Uint8Array | null = null
      let lastWords: Int32Array = new Int32Array(0)
      const wordsOf = (buffer: Uint8Array) => {
        if (buffer !== lastBuffer) {
          lastBuffer = buffer
          lastWords = new Int32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength >> 2)
        }
        return lastWords
      }
      const onFrame = (buffer: Uint8Array, offset: number, length: number): void => {
        const w = wordsOf(buffer)
        const at = offset >> 2
        const producer = w[at] as number
        const seq = w[at + 1] as number
        const word = w[at + 2] as number
        if (length !== STRESS_FRAME_BYTES || (offset & 3) !== 0 || producer < 0 || producer >= PRODUCERS) {
          problem ??= `bad frame: length ${length}, offset ${offset}, producer ${producer}`
        } else if (w[at + 3] !== stressChecksum(producer, seq, word) || word !== stressWord(producer, seq)) {
          problem ??= `checksum mismatch: producer ${producer} seq ${seq}`
        } else if (seq !== expectedSeq[producer]) {
          problem ??= `producer ${producer}: got seq ${seq}, expected ${expectedSeq[producer]}`
        }
        expectedSeq[producer] = seq + 1
        received++
      }

      for (let p = 0; p < PRODUCERS; p++) workers.push(new WorkerClient(workerFile))
      const started = performance.now()
      const replies = rings.map((ring, producer) =>
        (workers[producer] as WorkerClient).request<Reply>({ kind: 'stress-produce', buffer: ring.buffer, dataBell: bell.buffer, producer, count: perProducer } satisfies RingJob),
      )
      let parks = 0
      while (received < TOTAL && problem === null) {
        let got = 0
        for (const ring of rings) got += ring.drain(onFrame, 4096)
        if (got > 0) continue
        // Park once for both rings (the consumer side of the shared doorbell protocol).
        const token = bell.prepare()
        if (rings.some((ring) => ring.hasData())) {
          bell.cancel()
          continue
        }
        parks++
        if ((await bell.waitAsync(token, 10_000)) === 'timed-out' && !rings.some((ring) => ring.hasData())) {
          problem = `stuck after ${received} frames`
        }
      }
      const elapsed = performance.now() - started
      const results = (await Promise.all(replies)).map(ok)
      expect(problem).toBeNull()
      expect(received).toBe(TOTAL)
      expect(expectedSeq).toEqual(new Array<number>(PRODUCERS).fill(perProducer))
      for (const ring of rings) expect(ring.read()).toBeNull()
      const fullEvents = results.reduce((sum, r) => sum + r.stats.fullEvents, 0)
      // Startup of the workers is inside the measurement; the figure is a floor.
      console.log(
        `ring stress: ${TOTAL} frames in ${elapsed.toFixed(0)} ms (${((TOTAL / elapsed) * 1000).toExponential(2)} frames/s); consumer parks ${parks}, producer full events ${fullEvents}`,
      )
    }, 120_000)
  })
})
