/**
 * The app module of the shards benchmark, loaded in every shard: a windowed sender and a sink for
 * one-way throughput, an asker and a ponger for latency, bouncing pairs for scaling.
 */
import { Actor, type ActorRef } from '../runtime/index.ts'
import { defineShardApp } from '../transport/index.ts'

/** What every benchmark message carries (the same small object in the postMessage baseline). */
export const PAYLOAD = { id: 42, kind: 'reading', value: 21.5 }

/** The main thread's collector of completions (spawned there, reached from the shards by ref). */
export interface DoneProtocol {
  finished(tag: string, count: number): void
}

export interface SinkProtocol {
  record(payload: typeof PAYLOAD): void
  expect(count: number, done: ActorRef<DoneProtocol>, tag: string): void
}
/** Counts records; every CREDIT of them it gives the sender more window (actor-level flow control). */
export class Sink extends Actor<SinkProtocol> implements SinkProtocol {
  static readonly CREDIT = 8192
  private count = 0
  private sinceCredit = 0
  private target = -1
  private done: ActorRef<DoneProtocol> | null = null
  private tag = ''
  record(payload: typeof PAYLOAD): void {
    if (payload.id !== 42) return
    this.count++
    if (++this.sinceCredit === Sink.CREDIT) {
      this.sinceCredit = 0
      this.context.sender?.tell('credit', Sink.CREDIT)
    }
    if (this.count === this.target) this.finish()
  }
  expect(count: number, done: ActorRef<DoneProtocol>, tag: string): void {
    this.count = 0
    this.sinceCredit = 0
    this.target = count
    this.done = done
    this.tag = tag
  }
  private finish(): void {
    this.done?.tell('finished', this.tag, this.count)
    this.target = -1
  }
}

export interface SenderProtocol {
  run(sink: ActorRef<SinkProtocol>, count: number, window: number): void
  pump(): void
  credit(n: number): void
}
/**
 * Sends `count` records to a sink, at most `window` unacknowledged: the sink's credits open the
 * window again. Each turn sends a chunk and tells itself to go on, so Remoting batches a turn's
 * worth per frame and the event loop keeps turning.
 */
export class Sender extends Actor<SenderProtocol> implements SenderProtocol {
  static readonly CHUNK = 1024
  private sink: ActorRef<SinkProtocol> | null = null
  private remaining = 0
  private inFlight = 0
  private window = 0
  private pumping = false
  run(sink: ActorRef<SinkProtocol>, count: number, window: number): void {
    this.sink = sink
    this.remaining = count
    this.inFlight = 0
    this.window = window
    this.pump()
  }
  pump(): void {
    const sink = this.sink as ActorRef<SinkProtocol>
    let n = Math.min(Sender.CHUNK, this.remaining, this.window - this.inFlight)
    this.remaining -= n
    this.inFlight += n
    while (n-- > 0) sink.tell('record', PAYLOAD)
    this.pumping = this.remaining > 0 && this.inFlight < this.window
    if (this.pumping) this.self.tell('pump')
  }
  credit(n: number): void {
    this.inFlight -= n
    if (!this.pumping && this.remaining > 0) this.pump()
  }
}

export interface PongProtocol {
  ping(payload: typeof PAYLOAD): typeof PAYLOAD
}
export class Ponger extends Actor<PongProtocol> implements PongProtocol {
  ping(payload: typeof PAYLOAD): typeof PAYLOAD {
    return payload
  }
}

export interface AskerProtocol {
  /** Sequential asks; returns each one's latency in µs, measured on the asking shard. */
  measure(ponger: ActorRef<PongProtocol>, count: number): Promise<number[]>
}
export class Asker extends Actor<AskerProtocol> implements AskerProtocol {
  async measure(ponger: ActorRef<PongProtocol>, count: number): Promise<number[]> {
    const out = new Array<number>(count)
    for (let i = 0; i < count; i++) {
      const started = performance.now()
      const reply = await ponger.ask('ping', PAYLOAD)
      out[i] = (performance.now() - started) * 1000
      if (reply.id !== 42) throw new Error('ponger returned something else')
    }
    return out
  }
}

export interface BouncerProtocol {
  start(peer: ActorRef<BouncerProtocol>, chains: number, hops: number, done: ActorRef<DoneProtocol>, tag: string): void
  meet(peer: ActorRef<BouncerProtocol>, done: ActorRef<DoneProtocol>, tag: string): void
  bounce(hops: number): void
}
/**
 * One half of a pair: `chains` messages bounce between the two, `hops` times each, with a little
 * work per bounce; the end of each chain is reported to the main thread.
 */
export class Bouncer extends Actor<BouncerProtocol> implements BouncerProtocol {
  private peer: ActorRef<BouncerProtocol> | null = null
  private done: ActorRef<DoneProtocol> | null = null
  private tag = ''
  private state = 1
  start(peer: ActorRef<BouncerProtocol>, chains: number, hops: number, done: ActorRef<DoneProtocol>, tag: string): void {
    this.peer = peer
    this.done = done
    this.tag = tag
    peer.tell('meet', this.self, done, tag)
    for (let i = 0; i < chains; i++) peer.tell('bounce', hops)
  }
  meet(peer: ActorRef<BouncerProtocol>, done: ActorRef<DoneProtocol>, tag: string): void {
    this.peer = peer
    this.done = done
    this.tag = tag
  }
  bounce(hops: number): void {
    // A little work per message (xorshift rounds), so the figure is about actors doing something.
    let x = this.state
    for (let i = 0; i < 32; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
    }
    this.state = x | 1
    if (hops === 0) (this.done as ActorRef<DoneProtocol>).tell('finished', this.tag, 1)
    else (this.peer as ActorRef<BouncerProtocol>).tell('bounce', hops - 1)
  }
}

export default defineShardApp({ name: 'bench-shards', actors: { Sink, Sender, Ponger, Asker, Bouncer } })
