import type { ActorAddress } from './ActorAddress.ts'
import { formatAddress } from './ActorAddress.ts'
import { AskDeadlines, type DeadlineQueue, type Expirable } from './AskDeadlines.ts'
import type { Clock } from './Clock.ts'
import type { Envelope } from './Envelope.ts'
import type { Instrumentation } from './Instrumentation.ts'
import { AskTimeoutError, NodeDownError, ShardDownError } from './errors.ts'

/** One ask in flight. Settles exactly once: reply, error, or timeout. */
export class PendingAsk implements Expirable {
  resolve: ((value: unknown) => void) | null
  reject: ((error: Error) => void) | null
  deadline = 0
  queue: DeadlineQueue<unknown> | null = null
  /** Set for asks routed to another system, so a node or shard going down can fail them fast. */
  remoteTarget: ActorAddress | null = null
  /** What the timeout error names; dropped on settle so a waiting husk retains nothing. */
  request: Envelope | null
  readonly timeoutMs: number
  private readonly asks: Asks
  constructor(asks: Asks, request: Envelope, timeoutMs: number, resolve: (value: unknown) => void, reject: (error: Error) => void) {
    this.asks = asks
    this.request = request
    this.timeoutMs = timeoutMs
    this.resolve = resolve
    this.reject = reject
  }
  get settled(): boolean {
    return this.resolve === null
  }
  expire(): void {
    this.asks.expired(this)
  }
}

/**
 * The asks of one system: their deadlines (one timer per distinct timeout, AskDeadlines), and the
 * asks routed to other systems by request id, which a reply from there settles and a node or shard
 * going down fails fast.
 */
export class Asks {
  private readonly deadlines: AskDeadlines<PendingAsk>
  /** Asks whose reply may arrive from another shard or node, by request id. */
  private readonly remote = new Map<number, PendingAsk>()

  private readonly clock: Clock
  private readonly instrumentation: Instrumentation | null

  constructor(clock: Clock, instrumentation: Instrumentation | null = null) {
    this.clock = clock
    this.instrumentation = instrumentation
    this.deadlines = new AskDeadlines<PendingAsk>(clock)
  }

  get remoteInFlight(): number {
    return this.remote.size
  }

  /** Arms the ask's deadline. */
  track(pending: PendingAsk, timeoutMs: number): void {
    this.deadlines.add(pending, timeoutMs)
  }

  /** The ask goes to another system: its reply comes back by `id`. */
  addRemote(id: number, pending: PendingAsk, target: ActorAddress): void {
    pending.remoteTarget = target
    this.remote.set(id, pending)
  }

  /** The remote ask a reply with this correlation id answers, still unsettled; removed from the table. */
  takeRemote(correlationId: number): PendingAsk | undefined {
    const pending = this.remote.get(correlationId)
    if (pending === undefined || pending.settled) return undefined
    this.remote.delete(correlationId)
    return pending
  }

  forgetRemote(id: number): void {
    this.remote.delete(id)
  }

  settle(pending: PendingAsk, value: unknown, error: Error | null): void {
    const resolve = pending.resolve
    const reject = pending.reject
    if (resolve === null || reject === null) return
    // Drop the callbacks and the request so a settled ask retains nothing while it waits to leave its deadline queue.
    pending.resolve = null
    pending.reject = null
    const request = pending.request
    if (pending.remoteTarget !== null && request !== null) this.remote.delete(request.id)
    pending.request = null
    this.deadlines.settledEarly(pending)
    const hooks = this.instrumentation
    if (hooks !== null && hooks.onAskSettled !== undefined && request !== null) hooks.onAskSettled(request, error, this.clock.now() - (pending.deadline - pending.timeoutMs))
    if (error !== null) reject(error)
    else resolve(value)
  }

  /** The ask's deadline passed before any reply. */
  expired(pending: PendingAsk): void {
    const request = pending.request
    if (request === null || pending.settled) return
    this.remote.delete(request.id)
    // A timer's stack says nothing about the ask; skipping its capture makes mass timeouts cheap.
    const stackLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    const error = new AskTimeoutError(`no reply to '${request.method}' from ${request.target.path} within ${pending.timeoutMs} ms`, {
      data: { method: request.method, timeoutMs: pending.timeoutMs },
    })
    Error.stackTraceLimit = stackLimit
    this.settle(pending, null, error)
  }

  /** A node (or one shard of it) is gone: asks in flight to it fail now, with `cause` or ERR_NODE_DOWN / ERR_SHARD_DOWN. */
  failRemote(node: string, shard: number | null, cause?: Error): void {
    for (const [id, pending] of [...this.remote]) {
      const target = pending.remoteTarget
      if (target === null || target.node !== node || (shard !== null && target.shard !== shard)) continue
      this.remote.delete(id)
      const where = formatAddress(target)
      this.settle(pending, null, cause ?? (shard === null ? new NodeDownError(`node ${node} is down (ask to ${where})`, { data: { node } }) : new ShardDownError(`shard ${shard} of ${node} is down (ask to ${where})`, { data: { node, shard } })))
    }
  }
}
