/**
 * Worker side of the ring tests. Each request message runs one job against rings attached from the
 * buffers it carries and is answered with one reply: `{ok: true, ...}` or `{ok: false, error}`.
 * The parentPort listener also keeps this thread alive while a job parks with Atomics.waitAsync.
 */
import { parentPort } from 'node:worker_threads'
import { Doorbell } from '../../../../transport/shards/Doorbell.ts'
import { RingBuffer } from '../../../../transport/shards/RingBuffer.ts'
import { consumeSequence, produceSequence, STRESS_FRAME_BYTES, stressChecksum, stressWord, type ModelRunSpec } from './ringDrivers.ts'

export type RingJob =
  | ({ kind: 'produce' | 'consume'; buffer: SharedArrayBuffer; spinIterations?: number } & ModelRunSpec)
  | { kind: 'stress-produce'; buffer: SharedArrayBuffer; dataBell: SharedArrayBuffer; producer: number; count: number }
  | { kind: 'wait-one'; buffer: SharedArrayBuffer; timeoutMs: number }

const port = parentPort
if (port === null) throw new Error('ringWorker.ts runs as a worker thread')

async function run(job: RingJob): Promise<Record<string, unknown>> {
  switch (job.kind) {
    case 'produce': {
      const ring = RingBuffer.attach(job.buffer, job.spinIterations === undefined ? {} : { spinIterations: job.spinIterations })
      return { stats: await produceSequence(ring, job) }
    }
    case 'consume': {
      const ring = RingBuffer.attach(job.buffer, job.spinIterations === undefined ? {} : { spinIterations: job.spinIterations })
      return { stats: await consumeSequence(ring, job) }
    }
    case 'stress-produce': {
      const ring = RingBuffer.attach(job.buffer, { dataBell: Doorbell.attach(job.dataBell), spinIterations: 64 })
      const frame = new Uint8Array(STRESS_FRAME_BYTES)
      const words = new Int32Array(frame.buffer)
      const producer = job.producer
      const started = performance.now()
      for (let seq = 0; seq < job.count; seq++) {
        const word = stressWord(producer, seq)
        words[0] = producer
        words[1] = seq
        words[2] = word
        words[3] = stressChecksum(producer, seq, word)
        while (!ring.tryWrite(frame)) {
          if (!ring.waitForSpace(STRESS_FRAME_BYTES, 10_000)) throw new Error(`producer ${producer}: stuck at frame ${seq}`)
        }
      }
      return { stats: ring.stats(), ms: performance.now() - started }
    }
    case 'wait-one': {
      // Parks (blocking) until one frame arrives; reports what it got and the park counters.
      const ring = RingBuffer.attach(job.buffer)
      const got = ring.waitForData(job.timeoutMs)
      const frame = ring.read()
      return { got, frame: frame === null ? null : Array.from(frame), stats: ring.stats() }
    }
  }
}

port.on('message', (job: RingJob) => {
  run(job).then(
    (result) => port.postMessage({ ok: true, ...result }),
    (error: unknown) => port.postMessage({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  )
})
