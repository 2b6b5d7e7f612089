import { connect, errors as natsErrors, headers as natsHeaders, type Msg, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node'
import { Packr } from 'msgpackr'
import type { ActorRef, MethodArgs, MethodName, MethodReply } from '../runtime/index.ts'
import { otel } from './otel.ts'
import { DeadlineExceededError, errorFromReply, TroupeCallError, UnknownActorError } from './errors.ts'
import { readMsgpack, type RemoteRef } from './ReplyReader.ts'

export type Encoding = 'json' | 'msgpack'

export interface TroupeClientOptions {
  /** Cluster name: calls go to `<prefix>.<cluster>.call.<publicName>`. */
  readonly cluster: string
  /** First subject token. Default `troupe`. */
  readonly prefix?: string
  /** Payload encoding. Default `json`. */
  readonly encoding?: Encoding
  /** Deadline of an ask when none is given. Default 5000 ms. */
  readonly timeoutMs?: number
}

export interface ConnectOptions extends TroupeClientOptions {
  /** NATS server(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers?: string | string[]
  /** Anything else nats.js accepts (credentials, TLS, reconnect policy). */
  readonly nats?: Partial<NodeConnectionOptions>
}

export interface CallOptions {
  /** This call's deadline in ms; sent as Troupe-Timeout, so the actor side gives up too. */
  readonly timeoutMs?: number
  readonly encoding?: Encoding
  /** Extra headers, e.g. W3C `traceparent`. */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * NATS headers of a call: the caller's, then the active OpenTelemetry context (W3C traceparent and
 * tracestate, through the global propagator) unless the caller set one, so the actor's spans
 * continue the caller's trace.
 */
function callHeaders(extra: Readonly<Record<string, string>> | undefined, contentType: string): ReturnType<typeof natsHeaders> {
  const headers = natsHeaders()
  for (const [name, value] of Object.entries(extra ?? {})) headers.set(name, value)
  if (otel !== null && !headers.has('traceparent')) {
    const carrier: Record<string, string> = {}
    otel.propagation.inject(otel.context.active(), carrier)
    for (const [name, value] of Object.entries(carrier)) headers.set(name, value)
  }
  headers.set('Content-Type', contentType)
  return headers
}

/** Local slack past the deadline, so the gateway's ERR_DEADLINE_EXCEEDED arrives before our own timeout. */
const LOCAL_TIMEOUT_SLACK_MS = 250

const CONTENT_TYPE: Record<Encoding, string> = { json: 'application/json', msgpack: 'application/msgpack' }
/** Writes requests only: replies are read by readMsgpack (see ReplyReader.ts for why). */
const packr = new Packr({ useRecords: false, mapsAsObjects: true })
const utf8 = new TextDecoder()
const textEncoder = new TextEncoder()

function encode(encoding: Encoding, value: unknown): Uint8Array {
  return encoding === 'json' ? textEncoder.encode(JSON.stringify(value)) : packr.pack(value)
}

function decode(encoding: Encoding, data: Uint8Array): unknown {
  return encoding === 'json' ? (JSON.parse(utf8.decode(data)) as unknown) : readMsgpack(data)
}

/**
 * A reply type as it arrives: every ActorRef in it is its address (`RemoteRef`), in JSON and in
 * msgpack alike; everything else keeps its shape.
 */
export type Remote<T> = 0 extends 1 & T
  ? any
  : T extends ActorRef<any>
    ? RemoteRef
    : T extends Date | Uint8Array
      ? T
      : T extends (...args: any[]) => unknown
        ? never
        : T extends object
          ? { [K in keyof T]: Remote<T[K]> }
          : T

/**
 * A published actor as an external client sees it, typed by the actor's protocol interface `P`
 * (the same interface the actor implements): method names, argument and reply types check at
 * compile time.
 */
export class RemoteActor<P> {
  readonly publicName: string
  private readonly client: TroupeClient
  private readonly subject: string

  /** @internal */
  constructor(client: TroupeClient, publicName: string, subject: string) {
    this.client = client
    this.publicName = publicName
    this.subject = subject
  }

  /** Calls `method` and resolves with its reply; rejects with a TroupeCallError subclass rebuilt from the code. */
  ask<K extends MethodName<P>>(method: K, ...args: MethodArgs<P, K>): Promise<Remote<MethodReply<P, K>>> {
    return this.client.call(this.subject, this.publicName, method, args, {}) as Promise<Remote<MethodReply<P, K>>>
  }

  askWith<K extends MethodName<P>>(options: CallOptions, method: K, ...args: MethodArgs<P, K>): Promise<Remote<MethodReply<P, K>>> {
    return this.client.call(this.subject, this.publicName, method, args, options) as Promise<Remote<MethodReply<P, K>>>
  }

  /** Fire-and-forget: published without a reply subject, delivered as a tell. Errors are not reported back. */
  tell<K extends MethodName<P>>(method: K, ...args: MethodArgs<P, K>): void {
    this.client.send(this.subject, method, args, {})
  }
}

/**
 * Typed client of the external call protocol (`troupe/client`). It needs only NATS and the protocol
 * interfaces of the actors it calls (types only: nothing of the runtime is loaded).
 */
export class TroupeClient {
  readonly connection: NatsConnection
  readonly cluster: string
  readonly encoding: Encoding
  readonly timeoutMs: number
  private readonly root: string
  private readonly ownsConnection: boolean

  /** Connects to NATS; `close()` closes that connection. */
  static async connect(options: ConnectOptions): Promise<TroupeClient> {
    const connection = await connect({ ...options.nats, ...(options.servers === undefined ? {} : { servers: options.servers }) })
    return new TroupeClient(connection, options, true)
  }

  /** Uses a connection the caller owns (and closes). */
  static over(connection: NatsConnection, options: TroupeClientOptions): TroupeClient {
    return new TroupeClient(connection, options, false)
  }

  private constructor(connection: NatsConnection, options: TroupeClientOptions, ownsConnection: boolean) {
    if (!/^[^.*>\s]+$/.test(options.cluster)) throw new TypeError(`cluster '${options.cluster}' cannot be a NATS subject token`)
    this.connection = connection
    this.cluster = options.cluster
    this.encoding = options.encoding ?? 'json'
    this.timeoutMs = options.timeoutMs ?? 5000
    this.root = `${options.prefix ?? 'troupe'}.${options.cluster}.call.`
    this.ownsConnection = ownsConnection
  }

  /** A handle on the actor published as `publicName` (nothing is sent until a call). */
  actor<P>(publicName: string): RemoteActor<P> {
    if (publicName.length === 0 || publicName.split('.').some((t) => !/^[^*>\s]+$/.test(t) || t.length === 0)) {
      throw new TypeError(`public name '${publicName}' must be dot-separated tokens without '*', '>' or whitespace`)
    }
    return new RemoteActor<P>(this, publicName, this.root + publicName)
  }

  async close(): Promise<void> {
    if (this.ownsConnection && !this.connection.isClosed()) await this.connection.drain()
  }

  /** @internal */
  async call(subject: string, publicName: string, method: string, args: readonly unknown[], options: CallOptions): Promise<unknown> {
    const encoding = options.encoding ?? this.encoding
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const headers = callHeaders(options.headers, CONTENT_TYPE[encoding])
    headers.set('Troupe-Timeout', String(timeoutMs))
    let msg: Msg
    try {
      msg = await this.connection.request(subject, encode(encoding, { method, args }), { timeout: timeoutMs + LOCAL_TIMEOUT_SLACK_MS, headers })
    } catch (error) {
      if (error instanceof natsErrors.RequestError && error.isNoResponders()) {
        throw new UnknownActorError(`no gateway answers for '${publicName}' in cluster '${this.cluster}'`, { cause: error })
      }
      if (error instanceof natsErrors.TimeoutError) throw new DeadlineExceededError(`no reply from '${publicName}' within ${timeoutMs} ms`, { cause: error })
      throw error
    }
    const replyType = msg.headers?.get('Content-Type') ?? CONTENT_TYPE[encoding]
    let reply: unknown
    try {
      reply = decode(replyType === CONTENT_TYPE.msgpack ? 'msgpack' : 'json', msg.data)
    } catch (error) {
      throw new TroupeCallError('ERR_MALFORMED', `the reply from '${publicName}' does not decode: ${(error as Error).message}`, { cause: error })
    }
    if (typeof reply === 'object' && reply !== null) {
      if ('ok' in reply) return (reply as { ok: unknown }).ok
      const error = (reply as { error?: { code?: unknown; message?: unknown; data?: unknown } }).error
      if (error !== undefined && typeof error.code === 'string') {
        throw errorFromReply({ code: error.code, message: typeof error.message === 'string' ? error.message : error.code, data: error.data })
      }
    }
    throw new TroupeCallError('ERR_MALFORMED', `the reply from '${publicName}' is neither {ok} nor {error}`)
  }

  /** @internal */
  send(subject: string, method: string, args: readonly unknown[], options: CallOptions): void {
    const encoding = options.encoding ?? this.encoding
    const headers = callHeaders(options.headers, CONTENT_TYPE[encoding])
    this.connection.publish(subject, encode(encoding, { method, args }), { headers })
  }
}
