import { Actor, decodeError, Envelope, EnvelopeKind, type ActorRef } from '../../runtime/index.ts'
import type { FeatureContext } from './FeatureContext.ts'
import { resolveEntries } from './ServiceKey.ts'
import { claimKey, type RouteResult, type SingletonManagerProtocol } from './SingletonManager.ts'
import { SingletonProxyOverflowError, SingletonUnavailableError } from './errors.ts'

export interface SingletonProxyOptions {
  /** Messages held while no holder is known (hand-over). Default 1000. */
  readonly bufferSize?: number
  /** How long a held message waits for a holder before it is given up. Default 10 000 ms. */
  readonly bufferTimeoutMs?: number
  /** How long one hop to the holder's manager may take before the outcome counts as unknown. Default 5000 ms. */
  readonly routeTimeoutMs?: number
}

export interface SingletonProxyProtocol {
  send(method: string, args: unknown[]): void
  request(method: string, args: unknown[]): Promise<ProxyOutcome>
  expire(): void
  flush(): void
}

/** A request's outcome as a value: a refusal must not count as the proxy's own handler failure (that would restart it). */
export type ProxyOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error }

interface Held {
  readonly method: string
  readonly args: unknown[]
  readonly deadline: number
  /** Set for requests (asks): their caller learns the outcome; tells that fail become dead letters. */
  readonly settle: ((r: ProxyOutcome) => void) | null
  readonly envelope: Envelope | null
}

/**
 * Routes to wherever the singleton runs now (Akka's ClusterSingletonProxy): the holder is the
 * manager that owns the singleton's claim in this member's registry replica. While there is none
 * (hand-over, an election) messages wait in a bounded buffer. Delivery is at most once: a message
 * goes back to the buffer only when the holder answered that it has no instance (nothing was
 * delivered); a hop that times out is given up (dead letter `undeliverable`, or
 * ERR_SINGLETON_UNAVAILABLE to an ask), never resent. Overflow: ERR_SINGLETON_PROXY_OVERFLOW.
 */
export class SingletonProxy extends Actor<SingletonProxyProtocol> implements SingletonProxyProtocol {
  private readonly f: FeatureContext
  private readonly name: string
  private readonly bufferSize: number
  private readonly bufferTimeoutMs: number
  private readonly routeTimeoutMs: number
  private holder: ActorRef<SingletonManagerProtocol> | null = null
  private readonly held: Held[] = []
  private unsubscribe: (() => void) | null = null
  private closed = false

  constructor(features: FeatureContext, name: string, options: SingletonProxyOptions) {
    super()
    this.f = features
    this.name = name
    this.bufferSize = options.bufferSize ?? 1000
    this.bufferTimeoutMs = options.bufferTimeoutMs ?? 10_000
    this.routeTimeoutMs = options.routeTimeoutMs ?? 5000
  }

  override preStart(): void {
    this.unsubscribe = this.f.state.subscribe(claimKey(this.name), (entries) => {
      const refs = resolveEntries<SingletonManagerProtocol>(this.f.system, entries, this.f.malformed)
      // Two claims can only be seen for an instant (a downed holder's entry goes with its down): wait for one.
      this.holder = refs.length === 1 ? (refs[0] as ActorRef<SingletonManagerProtocol>) : null
      if (this.holder !== null && this.held.length > 0 && !this.closed) this.self.tell('flush')
    })
    this.context.timers.startPeriodic('expire', Math.max(10, Math.min(1000, this.bufferTimeoutMs / 4)), 'expire')
  }

  override postStop(): void {
    this.closed = true
    this.unsubscribe?.()
    for (const h of this.held.splice(0)) this.fail(h, new SingletonUnavailableError(`singleton proxy for ${this.name} stopped`), 'stopped')
  }

  send(method: string, args: unknown[]): void {
    this.enqueue({ method, args, deadline: this.f.clock.now() + this.bufferTimeoutMs, settle: null, envelope: this.context.currentEnvelope })
  }

  request(method: string, args: unknown[]): Promise<ProxyOutcome> {
    return new Promise<ProxyOutcome>((resolve) => {
      this.enqueue({ method, args, deadline: this.f.clock.now() + this.bufferTimeoutMs, settle: resolve, envelope: null })
    })
  }

  flush(): void {
    while (this.holder !== null && this.held.length > 0) this.route(this.held.shift() as Held, this.holder)
  }

  expire(): void {
    const now = this.f.clock.now()
    for (let i = 0; i < this.held.length; ) {
      const h = this.held[i] as Held
      if (h.deadline > now) i++
      else {
        this.held.splice(i, 1)
        this.fail(h, new SingletonUnavailableError(`no instance of singleton ${this.name} took the message within ${this.bufferTimeoutMs} ms`), 'undeliverable')
      }
    }
    if (this.held.length > 0) this.flush()
  }

  private enqueue(h: Held): void {
    if (this.held.length === 0 && this.holder !== null) {
      this.route(h, this.holder)
      return
    }
    if (this.held.length >= this.bufferSize) {
      this.fail(h, new SingletonProxyOverflowError(`singleton proxy for ${this.name} holds ${this.bufferSize} messages`), 'overflow')
      return
    }
    this.held.push(h)
  }

  private route(h: Held, to: ActorRef<SingletonManagerProtocol>): void {
    const hop: Promise<RouteResult> = h.settle === null ? to.askWith({ timeoutMs: this.routeTimeoutMs }, 'route', h.method, h.args) : to.askWith({ timeoutMs: this.routeTimeoutMs }, 'request', h.method, h.args)
    hop.then(
      (r) => {
        if (r.ok) h.settle?.(r.failed === undefined ? { ok: true, value: r.value } : { ok: false, error: decodeError(r.failed) })
        else this.retry(h, to)
      },
      (error: unknown) => {
        // The manager answers every hop (an instance's failure comes back as `failed`), so a rejection is the hop's own:
        // a timeout, or the holder's node went down with the message in flight. Outcome unknown: given up, never resent.
        const code = (error as { code?: string }).code ?? null
        this.fail(h, new SingletonUnavailableError(`route to singleton ${this.name} at ${to.path} failed (outcome unknown): ${(error as Error).message}`, { cause: error, data: { code } }), 'undeliverable')
        // The holder may be gone: the next messages wait for the listing rather than follow it.
        if (code === 'ERR_NODE_DOWN' || code === 'ERR_UNKNOWN_ACTOR') this.refreshHolder()
      },
    )
  }

  /** The holder had no instance (hand-over under way): nothing was delivered, so the message may wait again. */
  private retry(h: Held, from: ActorRef<SingletonManagerProtocol>): void {
    if (this.closed) return this.fail(h, new SingletonUnavailableError(`singleton proxy for ${this.name} stopped`), 'stopped')
    if (this.holder !== null && this.holder.equals(from)) this.holder = null
    this.held.unshift(h)
    if (this.held.length > this.bufferSize) this.fail(this.held.pop() as Held, new SingletonProxyOverflowError(`singleton proxy for ${this.name} holds ${this.bufferSize} messages`), 'overflow')
    // The claim may stay with the same manager while its instance starts: look again shortly.
    this.context.timers.startSingle('reflush', 50, 'flush')
    this.refreshHolder()
  }

  private refreshHolder(): void {
    const refs = resolveEntries<SingletonManagerProtocol>(this.f.system, this.f.state.lookupCached(claimKey(this.name)), this.f.malformed)
    this.holder = refs.length === 1 ? (refs[0] as ActorRef<SingletonManagerProtocol>) : null
  }

  private fail(h: Held, error: Error, reason: 'overflow' | 'undeliverable' | 'stopped'): void {
    if (h.settle !== null) {
      h.settle({ ok: false, error })
      return
    }
    const envelope = h.envelope ?? new Envelope(EnvelopeKind.Tell, this.self, null, this.f.system.ids.nextMessageId(), 0, null, h.method, h.args)
    this.f.system.deadLetter(envelope, reason, error)
  }
}
