import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core'
import {
  AskTimeoutError,
  encodeError,
  ErrorCodes,
  InvalidArgumentError,
  NameTakenError,
  NotSerializableError,
  RateLimitedLog,
  silentLogger,
  type ActorRef,
  type ActorSystem,
  type Logger,
  type MethodName,
  type TimerHandle,
} from '../../runtime/index.ts'
import { DEFAULT_SUBJECT_PREFIX, flushWithin, Subjects } from '../../transport/nats/index.ts'
import { BadRequestError, DeadlineExceededError, GatewayErrorCodes } from './errors.ts'
import { countCall, countOutcome, emptyStats, OK_OUTCOME, outcomeLabel, UNKNOWN_METHOD_LABEL, type GatewayStats } from './GatewayStats.ts'
import { parseCall, Refusal, respond, type Call, type CallLimits, type Published } from './GatewayCall.ts'
import { contentTypeOf, encodePayload } from './PayloadCodec.ts'
import { RemoteNames } from './RemoteNames.ts'
import { checkArgs, compilePublication, type PublishOptions } from './Publication.ts'
import { header } from './RequestHeaders.ts'
import { gatewaySpan } from '../observability/gatewayTracing.ts'
import {
  ContentTypes,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_TIMEOUT_MS,
  GatewayHeaders,
  type ContentType,
  type NamesAnnouncement,
} from './protocol.ts'

export interface GatewayOptions {
  readonly connection: NatsConnection
  /** The system whose actors are published (its clock drives gossip; its ask timeout is the default). */
  readonly system: ActorSystem
  /** Cluster name in the subjects. Default: the system's name. */
  readonly cluster?: string
  readonly prefix?: string
  /** Largest request accepted, payload and header bytes together. Default 256 KiB. */
  readonly maxPayloadBytes?: number
  /** Ask timeout when the request has no Troupe-Timeout header. Default: the system's askTimeoutMs. */
  readonly defaultTimeoutMs?: number
  /** Upper bound on a caller's Troupe-Timeout. Default 60 000. */
  readonly maxTimeoutMs?: number
  /** How often the published names are gossiped to other gateways. Default 2000 ms. */
  readonly namesIntervalMs?: number
  /** Where refusals are logged (rate-limited per code). Default: silent. */
  readonly logger?: Logger
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
  readonly stats: GatewayStats = emptyStats()
  private readonly connection: NatsConnection
  private readonly system: ActorSystem
  private readonly limits: CallLimits
  private readonly namesIntervalMs: number
  private readonly id: string
  /** Refusals are logged the first time per code, then at most once per 10 s per code with a count. */
  private readonly refusals: RateLimitedLog
  private readonly published = new Map<string, Published>()
  /** Names other gateways publish, as far as their gossip says. */
  private readonly remoteNames: RemoteNames
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
    const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
    const defaultTimeoutMs = options.defaultTimeoutMs ?? options.system.askTimeoutMs
    const maxTimeoutMs = options.maxTimeoutMs ?? DEFAULT_MAX_TIMEOUT_MS
    this.limits = { maxPayloadBytes, defaultTimeoutMs, maxTimeoutMs }
    this.namesIntervalMs = options.namesIntervalMs ?? 2000
    if (!(maxPayloadBytes > 0) || !(defaultTimeoutMs > 0) || !(maxTimeoutMs > 0) || !(this.namesIntervalMs > 0)) {
      throw new InvalidArgumentError('gateway limits and intervals must be > 0')
    }
    this.refusals = new RateLimitedLog(options.system.clock, options.logger ?? silentLogger)
    const random = options.system.random
    this.id = `${options.system.node}/${Math.floor(random.next() * 2 ** 32).toString(36)}`
    this.remoteNames = new RemoteNames(this.id)
  }

  /** Public names this gateway serves. */
  get names(): string[] {
    return [...this.published.keys()]
  }

  /** Public names served anywhere in the cluster, as far as this gateway has heard (its own included). */
  knownNames(): string[] {
    const names = new Set(this.published.keys())
    const now = this.system.clock.now()
    this.remoteNames.addTo(names, now)
    return [...names].sort()
  }

  /**
   * Makes `ref` callable from outside as `name`, with only the methods listed in `options.methods`
   * (default-deny; the names are checked against the ref's protocol). Resolves once calls can
   * arrive. A local actor is unpublished automatically when it stops.
   */
  async publish<P, M extends MethodName<P>>(name: string, ref: ActorRef<P>, options: PublishOptions<P, M>): Promise<void> {
    if (this.closed) throw new InvalidArgumentError('the gateway is closed')
    const publication = compilePublication(options)
    const subject = this.subjects.call(name)
    if (this.published.has(name)) throw new NameTakenError(`public name '${name}' is already published`, { data: { name } })
    const entry: Published = {
      name,
      ref,
      publication,
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
    let message: unknown
    try {
      message = msg.json<unknown>()
    } catch {
      return
    }
    this.remoteNames.receive(message, this.system.clock.now())
  }

  private handle(entry: Published, msg: Msg): void {
    this.stats.requests++
    const rawType = header(msg.headers, GatewayHeaders.ContentType)
    const type = contentTypeOf(rawType)
    if (type === null) {
      const error = new BadRequestError(`unsupported content type '${rawType.slice(0, 100)}': use ${ContentTypes.Json} or ${ContentTypes.Msgpack}`)
      this.refuse(entry, msg, ContentTypes.Json, new Refusal(error))
      return
    }
    const call = parseCall(entry, msg, type, this.limits)
    if (call instanceof Refusal) {
      this.refuse(entry, msg, type, call)
      return
    }
    const verdict = checkArgs(entry.publication, call.method, call.args)
    if (!(verdict instanceof Promise)) {
      this.dispatch(entry, msg, type, call, verdict)
      return
    }
    // An async schema: its time counts against the caller's deadline.
    const received = this.system.clock.now()
    void verdict.then((settled) => {
      const left = call.timeoutMs - (this.system.clock.now() - received)
      if (left > 0 || settled instanceof Error) this.dispatch(entry, msg, type, { ...call, timeoutMs: left }, settled)
      else this.refuse(entry, msg, type, new Refusal(new DeadlineExceededError(`the deadline passed while the arguments were validated`), call.method))
    })
  }

  /** Sends a checked call to the actor, as an ask when it has a reply subject, else as a tell. */
  private dispatch(entry: Published, msg: Msg, type: ContentType, call: Call, verdict: unknown[] | Error): void {
    const { method, timeoutMs, headers } = call
    if (verdict instanceof Error) {
      this.refuse(entry, msg, type, new Refusal(verdict, method))
      return
    }
    if (msg.reply === undefined || msg.reply.length === 0) {
      this.stats.noReply++
      try {
        entry.ref.tell(method as never, ...(verdict as never[]))
        countCall(this.stats, entry.name, method, OK_OUTCOME)
      } catch (error) {
        this.refusedTell(entry, method, encodeError(error).code)
      }
      return
    }
    let reply: Promise<unknown>
    const span = gatewaySpan(msg.subject, entry.name, method, headers)
    try {
      reply = span.run(() => entry.ref.askWith({ timeoutMs, headers }, method as never, ...(verdict as never[])))
    } catch (error) {
      span.end(error)
      // Refused at the call (a full outbound buffer toward the actor's node, say): still an answer.
      this.refuse(entry, msg, type, error, method)
      return
    }
    reply.then(
      (value) => {
        span.end(null)
        this.reply(entry, msg, type, method, { ok: value === undefined ? null : value })
      },
      (error: unknown) => {
        span.end(error)
        const failure = error instanceof AskTimeoutError ? new DeadlineExceededError(`no reply within the caller's deadline (${timeoutMs} ms)`) : error
        this.refuse(entry, msg, type, failure, method)
      },
    )
  }

  /** Answers (or, for a tell, counts) a call that ends in an error; `method` is the bounded label. */
  private refuse(entry: Published, msg: Msg, type: ContentType, refusal: Refusal | unknown, method = UNKNOWN_METHOD_LABEL): void {
    const byGateway = refusal instanceof Refusal
    const error = byGateway ? refusal.error : refusal
    const label = byGateway ? refusal.method : method
    const encoded = encodeError(error)
    const code = encoded.code === ErrorCodes.AskTimeout ? GatewayErrorCodes.DeadlineExceeded : encoded.code
    // Refusals by the gateway itself are logged; the actor's own errors are its replies.
    if (byGateway) {
      const codeLabel = outcomeLabel(code)
      this.refusals.note(codeLabel, { publicName: entry.name, method: label, code: codeLabel, message: encoded.message.slice(0, 200) }, 'gateway refused a call')
    }
    if (msg.reply === undefined || msg.reply.length === 0) {
      this.stats.noReply++
      this.refusedTell(entry, label, code)
      return
    }
    const body: { code: string; message: string; data?: unknown } = { code, message: encoded.message }
    if (encoded.data !== undefined) body.data = encoded.data
    this.reply(entry, msg, type, label, { error: body }, code)
  }

  private refusedTell(entry: Published, method: string, code: string): void {
    this.stats.refusedWithoutReply++
    countOutcome(this.stats.errors, code)
    countOutcome(this.stats.refusedTells, code)
    countCall(this.stats, entry.name, method, code)
  }

  private reply(entry: Published, msg: Msg, type: ContentType, method: string, body: object, errorCode?: string): void {
    let payload: Uint8Array
    try {
      payload = encodePayload(type, body)
    } catch (error) {
      if (errorCode === undefined) {
        // The value has no form in this encoding (a bigint in JSON, say): say so instead of going silent.
        this.refuse(entry, msg, type, new NotSerializableError(`the reply cannot be encoded as ${type}: ${(error as Error).message}`), method)
        return
      }
      // Only an error's `data` can fail to encode: send the error without it.
      payload = encodePayload(type, { error: { code: errorCode, message: (body as { error: { message: string } }).error.message } })
    }
    if (errorCode === undefined) this.stats.ok++
    else countOutcome(this.stats.errors, errorCode)
    countCall(this.stats, entry.name, method, errorCode ?? OK_OUTCOME)
    respond(msg, type, payload, errorCode)
  }
}
