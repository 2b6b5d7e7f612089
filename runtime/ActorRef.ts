import { formatAddress, sameAddress, type ActorAddress } from './ActorAddress.ts'
import type { Headers } from './Envelope.ts'
import type { MethodArgs, MethodName, MethodReply } from './Protocol.ts'

/** Per-ask options. */
export interface AskOptions {
  /** Milliseconds before the ask rejects with AskTimeoutError. Defaults to the system's `askTimeoutMs`. */
  readonly timeoutMs?: number
  /** Extra headers (trace context is added by the runtime). */
  readonly headers?: Headers
}

/**
 * What a ref needs from the system that made it. Kept as an interface so the ref does not import the
 * system (and so a remote transport can stand behind it later).
 * @internal
 */
export interface RefHost {
  readonly systemName: string
  sendTell(target: ActorRef<any>, method: string, args: unknown[], headers: Headers | null): void
  sendAsk(target: ActorRef<any>, method: string, args: unknown[], options: AskOptions | null): Promise<unknown>
  sendOffer(target: ActorRef<any>, method: string, args: unknown[]): Promise<void>
  addressOf(target: ActorRef<any>): ActorAddress
}

/**
 * A typed handle to an actor. It is an address (serializable: send it inside messages, store it,
 * log it) plus a fast path to the actor when it lives in the same shard. `P` is the actor's protocol:
 * `tell` and `ask` accept only its method names with their argument types.
 */
export class ActorRef<P = unknown> {
  /** @internal */
  readonly host: RefHost
  /** @internal Local fast path: the actor's cell when it lives here, else null. */
  readonly cell: object | null
  private resolvedAddress: ActorAddress | null

  /** @internal Refs are made by the system; user code gets them from spawn, lookups and messages. */
  constructor(host: RefHost, cell: object | null, address: ActorAddress | null) {
    this.host = host
    this.cell = cell
    this.resolvedAddress = address
  }

  get address(): ActorAddress {
    if (this.resolvedAddress === null) this.resolvedAddress = this.host.addressOf(this)
    return this.resolvedAddress
  }

  get path(): string {
    return this.address.path
  }

  /** Fire-and-forget. Throws MailboxFullError only when the target's mailbox is full with policy `reject`. */
  tell<K extends MethodName<P>>(method: K, ...args: MethodArgs<P, K>): void {
    this.host.sendTell(this, method, args, null)
  }

  /** Request-reply with the system's default timeout; resolves with the handler's return value. */
  ask<K extends MethodName<P>>(method: K, ...args: MethodArgs<P, K>): Promise<MethodReply<P, K>> {
    return this.host.sendAsk(this, method, args, null) as Promise<MethodReply<P, K>>
  }

  /** Request-reply with explicit options (timeout, headers). */
  askWith<K extends MethodName<P>>(options: AskOptions, method: K, ...args: MethodArgs<P, K>): Promise<MethodReply<P, K>> {
    return this.host.sendAsk(this, method, args, options) as Promise<MethodReply<P, K>>
  }

  /**
   * Backpressure path: resolves once the message is queued, waiting for room in a full mailbox
   * instead of applying its overflow policy. Rejects with ActorStoppedError if the actor stops first.
   */
  offer<K extends MethodName<P>>(method: K, ...args: MethodArgs<P, K>): Promise<void> {
    return this.host.sendOffer(this, method, args)
  }

  /** Same actor incarnation (same address, uid included). */
  equals(other: ActorRef<any> | null | undefined): boolean {
    if (other === null || other === undefined) return false
    if (other === this) return true
    if (this.cell !== null && this.cell === other.cell) return true
    return sameAddress(this.address, other.address)
  }

  toString(): string {
    return formatAddress(this.address)
  }

  toJSON(): ActorAddress {
    return this.address
  }

  /** Logs and the REPL show the address, not the internals a local ref carries. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ActorRef<${this.toString()}>`
  }
}
