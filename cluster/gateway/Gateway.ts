import { headers as natsHeaders, Match, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/nats-core'
import {
  AskTimeoutError,
  encodeError,
  ErrorCodes,
  InvalidArgumentError,
  NameTakenError,
  NotSerializableError,
  RESERVED_METHODS,
  UnknownMethodError,
  type ActorRef,
  type ActorSystem,
  type Headers,
  type TimerHandle,
} from '../../runtime/index.ts'
import { DEFAULT_SUBJECT_PREFIX, flushWithin, Subjects } from '../../transport/nats/index.ts'
import { BadRequestError, DeadlineExceededError, GatewayErrorCodes, InvalidArgsError, MalformedRequestError, PayloadTooLargeError } from './errors.ts'
import { contentTypeOf, decodePayload, encodePayload } from './PayloadCodec.ts'
import {
  ContentTypes,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_TIMEOUT_MS,
  GatewayHeaders,
  TRACE_HEADERS,
  type ContentType,
  type NamesAnnouncement,
} from './protocol.ts'

/**
 * What a validator says about a call's arguments: `true`/`undefined` accept; `false` or a string
 * (the reason) refuse with ERR_INVALID_ARGS. Throwing refuses too, with the thrown message.
 */
export type ArgsValidator = (method: string, args: readonly unknown[]) => boolean | string | void

export interface PublishOptions {
  /** The only methods callable from outside. Default: every handler the actor has. */
  readonly methods?: readonly string[]
  readonly validate?: ArgsValidator
}

export interface GatewayOptions {
  readonly connection: NatsConnection
  /** The system whose actors are published (its clock drives gossip; its ask timeout is the default). */
  readonly system: ActorSystem
  /** Cluster name in the subjects. Default: the system's name. */
  readonly cluster?: string
  readonly prefix?: string
  /** Largest request payload accepted, in bytes. Default 256 KiB. */
  readonly maxPayloadBytes?: number
  /** Ask timeout when the request has no Troupe-Timeout header. Default: the system's askTimeoutMs. */
  readonly defaultTimeoutMs?: number
  /** Upper bound on a caller's Troupe-Timeout. Default 60 000. */
  readonly maxTimeoutMs?: number
  /** How often the published names are gossiped to other gateways. Default 2000 ms. */
  readonly namesIntervalMs?: number
}

/** Counters for metrics and for the "no reply subject" case nobody else could see. */
export interface GatewayStats {
  /** Calls received (asks and tells). */
  requests: number
  /** Calls answered with `{ok}`. */
  ok: number
  /** Error replies by code. */
  errors: Record<string, number>
  /** Calls without a reply subject: delivered as tells when valid. */
  noReply: number
  /** Calls without a reply subject that were refused: nobody could be told, so they are counted here. */
  refusedWithoutReply: number
}

interface Published {
  readonly name: string
  readonly ref: ActorRef<any>
  readonly methods: ReadonlySet<string> | null
  readonly validate: ArgsValidator | null
  readonly subscription: Subscription
}

/** A refusal before the actor is involved. */
class Refusal {
  readonly error: Error
  constructor(error: Error) {
    this.error = error
  }
}

/** Longest wait for the server to see an unsubscribe (a flush during an outage waits for the reconnect). */
const FLUSH_MS = 2000

/** Per-name subscriptions share this queue group, so gateways publishing the same name share its load. */
const CALL_QUEUE = 'troupe-gateway'

/**
 * The door for external clients: actors published under a public name answer calls from any NATS
 * client (see docs/protocol.md). Only published actors are reachable; bad input always gets an error
 * reply with a stable code, never silence and never a crash.
 */
export class Gateway {
  readonly subjects: Subjects
  readonly stats: GatewayStats = { requests: 0, ok: 0, errors: {}, noReply: 0, refusedWithoutReply: 0 }
  private readonly connection: NatsConnection
  private readonly system: ActorSystem
  private readonly maxPayloadBytes: number
  private readonly defaultTimeoutMs: number
  private readonly maxTimeoutMs: number
  private readonly namesIntervalMs: number
  private readonly id: string
  private readonly published = new Map<string, Published>()
  /** Names other gateways publish, by gateway id, with when the list expires. */
  private readonly remoteNames = new Map<string, { names: Set<string>; expires: number }>()
  private namesSubscription: Subscription | null = null
  private timer: TimerHandle | null = null
  private closed = false

  static async start(options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options)
    await gateway.open()
    return gateway
  }

  private constructor(options: GatewayOptions) {
    this.connection = options.connection
    this.system = options.system
    this.subjects = new Subjects(options.cluster ?? options.system.name, options.prefix ?? DEFAULT_SUBJECT_PREFIX)
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? options.system.askTimeoutMs
    this.maxTimeoutMs = options.maxTimeoutMs ?? DEFAULT_MAX_TIMEOUT_MS
    this.namesIntervalMs = options.namesIntervalMs ?? 2000
    if (!(this.maxPayloadBytes > 0) || !(this.defaultTimeoutMs > 0) || !(this.maxTimeoutMs > 0) || !(this.namesIntervalMs > 0)) {
      throw new InvalidArgumentError('gateway limits and intervals must be > 0')
    }
    const random = options.system.random
    this.id = `${options.system.node}/${Math.floor(random.next() * 2 ** 32).toString(36)}`
  }

  /** Public names this gateway serves. */
  get names(): string[] {
    return [...this.published.keys()]
  }

  /** Public names served anywhere in the cluster, as far as this gateway has heard (its own included). */
  knownNames(): string[] {
    const names = new Set(this.published.keys())
    const now = this.system.clock.now()
    for (const entry of this.remoteNames.values()) if (entry.expires >= now) for (const name of entry.names) names.add(name)
    return [...names].sort()
  }

  /**
   * Makes `ref` callable from outside as `name`. Resolves once calls can arrive. A local actor is
   * unpublished automatically when it stops.
   */
  async publish(name: string, ref: ActorRef<any>, options: PublishOptions = {}): Promise<void> {
    if (this.closed) throw new InvalidArgumentError('the gateway is closed')
    const subject = this.subjects.call(name)
    if (this.published.has(name)) throw new NameTakenError(`public name '${name}' is already published`, { data: { name } })
    const methods = options.methods === undefined ? null : new Set(options.methods)
    if (methods !== null) for (const method of methods) if (RESERVED_METHODS.has(method)) throw new InvalidArgumentError(`'${method}' is not a handler`)
    const entry: Published = {
      name,
      ref,
      methods,
      validate: options.validate ?? null,
      subscription: this.connection.subscribe(subject, {
        queue: CALL_QUEUE,
        callback: (error, msg) => {
          if (error === null) this.handle(entry, msg)
        },
      }),
    }
    this.published.set(name, entry)
    // Other gateways learn the name before calls to it can reach this one.
    this.announce()
    await this.connection.flush()
    if (ref.cell !== null) {
      void this.system.watch(ref).then(() => {
        if (this.published.get(name) === entry) void this.unpublish(name)
      })
    }
  }

  /** Stops serving `name`. Calls already received still get their replies. */
  async unpublish(name: string): Promise<void> {
    const entry = this.published.get(name)
    if (entry === undefined) return
    this.published.delete(name)
    if (this.connection.isClosed()) return
    entry.subscription.unsubscribe()
    this.announce()
    await flushWithin(this.connection, this.system.clock, FLUSH_MS)
  }

  /** Unpublishes everything and stops. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer !== null) this.system.clock.clearTimer(this.timer)
    this.timer = null
    const open = !this.connection.isClosed()
    for (const entry of this.published.values()) if (open) entry.subscription.unsubscribe()
    this.published.clear()
    if (!open) return
    this.announce(0)
    this.namesSubscription?.unsubscribe()
    await flushWithin(this.connection, this.system.clock, FLUSH_MS)
  }

  private async open(): Promise<void> {
    this.namesSubscription = this.connection.subscribe(this.subjects.gatewayNames, {
      callback: (error, msg) => {
        if (error === null) this.receiveNames(msg)
      },
    })
    await this.connection.flush()
    this.timer = this.system.clock.setTimer(this.namesIntervalMs, this.tickBound)
  }

  private readonly tickBound = (): void => {
    this.timer = null
    if (this.closed) return
    this.announce()
    this.timer = this.system.clock.setTimer(this.namesIntervalMs, this.tickBound)
  }

  private announce(ttlMs = this.namesIntervalMs * 3): void {
    if (this.connection.isClosed()) return
    const message: NamesAnnouncement = { v: 1, gateway: this.id, names: [...this.published.keys()], ttlMs }
    try {
      this.connection.publish(this.subjects.gatewayNames, JSON.stringify(message))
    } catch {
      // Draining or closed: the gossip is best effort (it only feeds knownNames()).
    }
  }

  private receiveNames(msg: Msg): void {
    let message: NamesAnnouncement
    try {
      message = msg.json<NamesAnnouncement>()
    } catch {
      return
    }
    if (message?.v !== 1 || typeof message.gateway !== 'string' || message.gateway === this.id || !Array.isArray(message.names)) return
    if (message.names.length === 0 || !(message.ttlMs > 0)) this.remoteNames.delete(message.gateway)
    else this.remoteNames.set(message.gateway, { names: new Set(message.names), expires: this.system.clock.now() + message.ttlMs })
  }



  private handle(entry: Published, msg: Msg): void {
    this.stats.requests++
    const rawType = header(msg.headers, GatewayHeaders.ContentType)
    const type = contentTypeOf(rawType)
    if (type === null) {
      this.refuse(msg, ContentTypes.Json, new BadRequestError(`unsupported content type '${rawType}': use ${ContentTypes.Json} or ${ContentTypes.Msgpack}`))
      return
    }
    const call = this.parse(entry, msg, type)
    if (call instanceof Refusal) {
      this.refuse(msg, type, call.error)
      return
    }
    const { method, args, timeoutMs, headers } = call
    if (msg.reply === undefined || msg.reply.length === 0) {
      this.stats.noReply++
      try {
        entry.ref.tell(method as never, ...(args as never[]))
      } catch {
        this.stats.refusedWithoutReply++
      }
      return
    }
    entry.ref.askWith({ timeoutMs, headers }, method as never, ...(args as never[])).then(
      (value) => this.reply(msg, type, { ok: value === undefined ? null : value }),
      (error: unknown) => {
        const failure = error instanceof AskTimeoutError ? new DeadlineExceededError(`no reply within the caller's deadline (${timeoutMs} ms)`) : error
        this.refuse(msg, type, failure)
      },
    )
  }

  /** Everything the gateway checks before the actor sees the call. */
  private parse(entry: Published, msg: Msg, type: ContentType): Refusal | { method: string; args: unknown[]; timeoutMs: number; headers: Headers } {
    if (msg.data.byteLength > this.maxPayloadBytes) {
      return new Refusal(
        new PayloadTooLargeError(`request payload is ${msg.data.byteLength} bytes; the limit is ${this.maxPayloadBytes}`, {
          data: { size: msg.data.byteLength, limit: this.maxPayloadBytes },
        }),
      )
    }
    let timeoutMs = this.defaultTimeoutMs
    const timeoutHeader = header(msg.headers, GatewayHeaders.Timeout)
    if (timeoutHeader.length > 0) {
      const value = Number(timeoutHeader)
      if (!Number.isFinite(value)) return new Refusal(new BadRequestError(`${GatewayHeaders.Timeout} must be a number of milliseconds, got '${timeoutHeader}'`))
      if (value <= 0) return new Refusal(new DeadlineExceededError(`the caller's deadline had passed on arrival (${GatewayHeaders.Timeout}: ${timeoutHeader})`))
      timeoutMs = Math.min(value, this.maxTimeoutMs)
    }
    let payload: unknown
    try {
      payload = decodePayload(type, msg.data)
    } catch (error) {
      return new Refusal(new MalformedRequestError(`payload is not valid ${type}: ${(error as Error).message}`))
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return new Refusal(new BadRequestError('the request must be an object {method, args}'))
    }
    const { method, args = [] } = payload as { method?: unknown; args?: unknown }
    if (typeof method !== 'string' || method.length === 0) return new Refusal(new BadRequestError("'method' must be a non-empty string"))
    if (!Array.isArray(args)) return new Refusal(new BadRequestError("'args' must be an array"))
    if (RESERVED_METHODS.has(method) || (entry.methods !== null && !entry.methods.has(method))) {
      return new Refusal(new UnknownMethodError(`'${entry.name}' has no published method '${method}'`, { data: { method } }))
    }
    if (entry.validate !== null) {
      let verdict: boolean | string | void
      try {
        verdict = entry.validate(method, args)
      } catch (error) {
        verdict = error instanceof Error ? error.message : String(error)
      }
      if (verdict === false || typeof verdict === 'string') {
        return new Refusal(new InvalidArgsError(typeof verdict === 'string' ? verdict : `invalid arguments for '${method}'`, { data: { method } }))
      }
    }
    const headers: Record<string, string> = {}
    for (const name of TRACE_HEADERS) {
      const value = header(msg.headers, name)
      if (value.length > 0) headers[name] = value
    }
    return { method, args, timeoutMs, headers }
  }

  private refuse(msg: Msg, type: ContentType, error: unknown): void {
    const encoded = encodeError(error)
    const code = encoded.code === ErrorCodes.AskTimeout ? GatewayErrorCodes.DeadlineExceeded : encoded.code
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1
    if (msg.reply === undefined || msg.reply.length === 0) {
      this.stats.noReply++
      this.stats.refusedWithoutReply++
      return
    }
    const body: { code: string; message: string; data?: unknown } = { code, message: encoded.message }
    if (encoded.data !== undefined) body.data = encoded.data
    this.reply(msg, type, { error: body }, code)
  }

  private reply(msg: Msg, type: ContentType, body: object, errorCode?: string): void {
    let payload: Uint8Array
    try {
      payload = encodePayload(type, body)
    } catch (error) {
      if (errorCode === undefined) {
        // The value has no form in this encoding (a bigint in JSON, say): say so instead of going silent.
        this.refuse(msg, type, new NotSerializableError(`the reply cannot be encoded as ${type}: ${(error as Error).message}`))
        return
      }
      // Only an error's `data` can fail to encode: send the error without it.
      payload = encodePayload(type, { error: { code: errorCode, message: (body as { error: { message: string } }).error.message } })
    }
    if (errorCode === undefined) this.stats.ok++
    const headers = natsHeaders()
    headers.set(GatewayHeaders.ContentType, type)
    if (errorCode !== undefined) headers.set(GatewayHeaders.Error, errorCode)
    try {
      msg.respond(payload, { headers })
    } catch {
      // The connection closed under us; the caller's request times out on its side.
    }
  }
}

function header(headers: MsgHdrs | undefined, name: string): string {
  return headers === undefined ? '' : headers.get(name, Match.IgnoreCase)
}
