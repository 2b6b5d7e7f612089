/**
 * The app module the shard tests load in every thread: its actor classes, registered by name, and
 * what each worker shard starts (a supervisor with a registered `greeter`, started again after a crash).
 */
import { Actor, type ActorRef, type Terminated } from '../../../../runtime/index.ts'
import { childSpec, Supervisor } from '../../../../supervision/index.ts'
import { defineShardApp, shardsOf, type PlacementOptions, type ShardContext } from '../../../../transport/index.ts'

export interface CounterProtocol {
  add(n: number): void
  get(): number
  whereAmI(): number
  /** Adds after `ms` of busy work: a slow consumer. */
  slowAdd(n: number, ms: number): void
  failNow(message: string): void
  /** Allocates until the worker's heap limit kills the thread. */
  hog(): number
}
export class Counter extends Actor<CounterProtocol> implements CounterProtocol {
  private total = 0
  private readonly start: number
  constructor(start = 0) {
    super()
    this.start = start
    this.total = start
  }
  add(n: number): void {
    this.total += n
  }
  get(): number {
    return this.total
  }
  whereAmI(): number {
    return this.context.system.shard
  }
  slowAdd(n: number, ms: number): void {
    const until = performance.now() + ms
    while (performance.now() < until) {
      // busy: this shard's event loop does nothing else meanwhile
    }
    this.total += n
  }
  failNow(message: string): void {
    throw new Error(message)
  }
  hog(): number {
    const keep: number[][] = []
    for (;;) keep.push(new Array<number>(100_000).fill(keep.length))
  }
}

/** Records every number it gets, in order (checks nothing was lost, duplicated or reordered). */
export interface RecorderProtocol {
  record(sender: number, seq: number): void
  summary(): { count: number; inOrder: boolean; perSender: Record<string, number> }
}
export class Recorder extends Actor<RecorderProtocol> implements RecorderProtocol {
  /** Busy time per message: a slow consumer. */
  private readonly spinMicros: number
  constructor(spinMicros = 0) {
    super()
    this.spinMicros = spinMicros
  }
  private count = 0
  private inOrder = true
  private readonly last = new Map<number, number>()
  record(sender: number, seq: number): void {
    if (this.spinMicros > 0) {
      const until = performance.now() + this.spinMicros / 1000
      while (performance.now() < until) {
        // busy
      }
    }
    this.count++
    const previous = this.last.get(sender) ?? -1
    if (seq !== previous + 1) this.inOrder = false
    this.last.set(sender, seq)
  }
  summary() {
    const perSender: Record<string, number> = {}
    for (const [sender, seq] of this.last) perSender[String(sender)] = seq + 1
    return { count: this.count, inOrder: this.inOrder, perSender }
  }
}

/**
 * A Recorder that, at message `askAt`, waits for a reply from `peer` (on another shard): that reply
 * travels in the very ring its own backlog fills, the case the stall rule exists for.
 */
export class AskingRecorder extends Recorder {
  private readonly peer: ActorRef<SenderProtocol>
  private readonly askAt: number
  constructor(peer: ActorRef<SenderProtocol>, askAt: number) {
    super()
    this.peer = peer
    this.askAt = askAt
  }
  override async record(sender: number, seq: number): Promise<void> {
    super.record(sender, seq)
    if (seq === this.askAt) await this.peer.askWith({ timeoutMs: 60_000 }, 'ping')
  }
}

/** Sends `count` records to a target from its own shard, a chunk per turn. */
export interface SenderProtocol {
  blast(target: ActorRef<RecorderProtocol>, id: number, count: number): Promise<{ sent: number; errors: Record<string, number> }>
  ping(): string
}
export class Sender extends Actor<SenderProtocol> implements SenderProtocol {
  async blast(target: ActorRef<RecorderProtocol>, id: number, count: number) {
    const errors: Record<string, number> = {}
    let sent = 0
    for (let seq = 0; seq < count; seq++) {
      try {
        target.tell('record', id, seq)
        sent++
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'unknown'
        errors[code] = (errors[code] ?? 0) + 1
      }
      // Let the turn end now and then so Remoting flushes a batch.
      if ((seq & 1023) === 1023) await new Promise<void>((resolve) => setImmediate(resolve))
    }
    return { sent, errors }
  }
  ping() {
    return 'pong'
  }
}

/** Watches refs (on any shard) and remembers the Terminated notices. */
export interface WatcherProtocol {
  watchIt(ref: ActorRef<any>): void
  seen(): { path: string; reason: Terminated['reason'] }[]
}
export class Watcher extends Actor<WatcherProtocol> implements WatcherProtocol {
  private readonly terminated: { path: string; reason: Terminated['reason'] }[] = []
  watchIt(ref: ActorRef<any>): void {
    this.context.watch(ref)
  }
  seen() {
    return this.terminated
  }
  override onTerminated(t: Terminated): void {
    this.terminated.push({ path: t.ref.path, reason: t.reason })
  }
}

/** Floods a sink until the transport refuses, then watches an actor in the same turn. */
export interface FloodWatcherProtocol {
  /** Returns how many tells went out before the first ERR_TRANSPORT_FULL. */
  floodThenWatch(sink: ActorRef<RecorderProtocol>, watched: ActorRef<any>): Promise<number>
  seen(): { path: string; reason: Terminated['reason'] }[]
  quit(): void
}
export class FloodWatcher extends Actor<FloodWatcherProtocol> implements FloodWatcherProtocol {
  private readonly terminated: { path: string; reason: Terminated['reason'] }[] = []
  async floodThenWatch(sink: ActorRef<RecorderProtocol>, watched: ActorRef<any>): Promise<number> {
    for (let seq = 0; ; seq++) {
      try {
        sink.tell('record', 1, seq)
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_TRANSPORT_FULL') throw error
        this.context.watch(watched)
        return seq
      }
      // Let the turn end now and then so Remoting flushes a batch into the ring and the outbox.
      if ((seq & 255) === 255) await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
  seen() {
    return this.terminated
  }
  quit(): void {
    this.context.stop()
  }
  override onTerminated(t: Terminated): void {
    this.terminated.push({ path: t.ref.path, reason: t.reason })
  }
}

/** Ways to kill the worker thread it lives in, and a method that never answers. */
export interface CrasherProtocol {
  exitThread(code: number): void
  /** Keeps its shard's event loop busy for `ms`, then exits the thread. */
  exitAfter(ms: number, code: number): void
  throwUncaught(message: string): void
  hang(): Promise<never>
  spawnElsewhere(shard: number): Promise<number>
}
export class Crasher extends Actor<CrasherProtocol> implements CrasherProtocol {
  exitThread(code: number): void {
    process.exit(code)
  }
  exitAfter(ms: number, code: number): void {
    const until = performance.now() + ms
    while (performance.now() < until) {
      // busy: nothing else runs on this shard meanwhile
    }
    process.exit(code)
  }
  throwUncaught(message: string): void {
    // Outside any handler: nothing in the runtime catches it, so the worker dies.
    setTimeout(() => {
      throw new Error(message)
    }, 0)
  }
  hang(): Promise<never> {
    return new Promise<never>(() => {})
  }
  /** Spawns a Counter on another shard from inside an actor; returns where it runs. */
  async spawnElsewhere(shard: number): Promise<number> {
    const ref = await shardsOf(this.context.system).spawn(Counter, { shard, args: [0] })
    return ref.ask('whereAmI')
  }
}

/** Asks its own shard's context where a spawn would go, and spawns from there. */
export interface PlacerProtocol {
  placeOf(options: PlacementOptions & { name?: string }): number
  spawnCounter(options: PlacementOptions & { name?: string }): Promise<number>
}
export class Placer extends Actor<PlacerProtocol> implements PlacerProtocol {
  placeOf(options: PlacementOptions & { name?: string }): number {
    return shardsOf(this.context.system).place(options)
  }
  async spawnCounter(options: PlacementOptions & { name?: string }): Promise<number> {
    const ref = await shardsOf(this.context.system).spawn(Counter, options)
    return ref.ask('whereAmI')
  }
}

export interface GreeterProtocol {
  greet(name: string): string
}
export class Greeter extends Actor<GreeterProtocol> implements GreeterProtocol {
  greet(name: string): string {
    return `hello ${name} from shard ${this.context.system.shard}`
  }
}

export default defineShardApp({
  name: 'shard-tests',
  actors: { Counter, Recorder, AskingRecorder, Sender, Watcher, Crasher, Greeter, Placer, FloodWatcher },
  // Each worker shard runs a supervision tree; after a crash the restarted shard builds it again.
  async startShard(context: ShardContext) {
    await context.system.spawnAndWait(Supervisor, {
      name: 'app',
      args: [{ strategy: 'one_for_one', children: [childSpec({ id: 'greeter', actor: Greeter, spawn: { registerAs: 'greeter' } })] }],
    })
  },
})
