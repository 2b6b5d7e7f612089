import { createHash } from 'node:crypto'
import type { ConnectionOptions } from 'node:tls'
import { Redis, type RedisOptions } from 'ioredis'
import { Actor } from '../../runtime/index.ts'
import { ClientInvalidConfigError, RedisBadCallError, RedisClosedError, type RedisCommandError } from '../errors.ts'
import { resolveCommon, type CommonClientOptions, type ResolvedCommon } from './ClientOptions.ts'
import { ClientMetrics } from './ClientMetrics.ts'
import { ClientSupport } from './ClientSupport.ts'
import { CommandDeadlines } from './CommandDeadlines.ts'
import { fencedError, fenceProblem, REDIS_FENCE_SCRIPT, redisFenceKey, type Fence } from './Fence.ts'
import { backoffDelay, type HealthSnapshot } from './Health.ts'
import type { RedisConnectionPort } from './MemoryRedis.ts'
import { RedisFastPath, type RedisFastPathBinding } from './RedisFastPath.ts'
import { isRedisServiceFault, mapRedisError } from './redisErrors.ts'

/** Reconnection after a lost connection: `baseMs × 2^attempt`, capped at `maxMs`, × (1 + random × jitter). */
export interface RedisReconnectOptions {
  /** Default 50. */
  readonly baseMs?: number
  /** Default 2000. */
  readonly maxMs?: number
  /** [0, 1], default 0.2. */
  readonly jitter?: number
}

export interface RedisClientOptions extends CommonClientOptions {
  /** `redis://[:password@]host:port[/db]` (`rediss://` for TLS); or give the fields in `redis`. */
  readonly url?: string
  /** Passed to ioredis (host, port, password, db, keyPrefix, connectTimeout, …) except what the options below own. */
  readonly redis?: Omit<RedisOptions, 'retryStrategy' | 'commandTimeout' | 'enableOfflineQueue' | 'lazyConnect' | 'tls' | 'maxRetriesPerRequest' | 'replyMapping'>
  /** TLS, passed through to ioredis (node:tls options: ca, cert, key, servername, …). */
  readonly tls?: ConnectionOptions
  /** A command not answered by then fails with ERR_REDIS_TIMEOUT. Default 2000. */
  readonly commandTimeoutMs?: number
  readonly reconnect?: RedisReconnectOptions
  /**
   * Instead of a connection of its own: a command port, e.g. the in-memory twin (MemoryRedis behind
   * testing's SimulatedService) to run under the simulator. `url`, `redis`, `tls` and `reconnect` are then unused.
   */
  readonly connection?: RedisConnectionPort
  /** Prefix of the fence keys `fenced` keeps (`<prefix>{<name>}`). Default `troupe:fence:`. */
  readonly fencePrefix?: string
}

export type RedisArg = string | number | Buffer

/** One command's answer in a pipeline: its value, or the error reply Redis gave it. */
export type PipelineReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: RedisCommandError }

export interface RedisClientProtocol {
  /** Any Redis command (`command('SET', key, value, 'PX', 100)`). Rejects with ERR_REDIS_COMMAND (the reply's prefix in `data`), ERR_REDIS_CONNECTION, ERR_REDIS_TIMEOUT, ERR_CALL_NOT_PERMITTED, ERR_REDIS_CLOSED. */
  command(name: string, ...args: RedisArg[]): Promise<unknown>
  /**
   * Sends the commands in one round trip. Error replies come back per command; a connection
   * failure or timeout rejects the whole pipeline (its commands may or may not have run).
   */
  pipeline(commands: readonly (readonly [string, ...RedisArg[]])[]): Promise<PipelineReply[]>
  /** Runs a Lua script by its SHA1 (EVALSHA), loading it (EVAL) when the server does not know it yet. */
  eval(script: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown>
  /**
   * Runs the commands (writes) atomically with a fence check, in one script: if the fence `name` has
   * seen a newer token than `fence.token`, nothing runs and the call rejects with ERR_FENCED (the
   * highest token in `data`); else the fence is raised to the token and the commands run. Answers
   * their replies. On Redis Cluster the commands' keys must carry the hash tag `{name}`.
   */
  fenced(fence: Fence, commands: readonly (readonly [string, ...RedisArg[]])[]): Promise<unknown[]>
  health(): HealthSnapshot
  stats(): { connected: boolean; status: string; inFlight: number; reconnects: number }
  /** Timer: one health check (PING). */
  checkHealth(): Promise<void>
}

const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9_.|-]{0,63}$/

function validArgs(args: readonly unknown[]): boolean {
  for (const arg of args) if (typeof arg !== 'string' && typeof arg !== 'number' && !Buffer.isBuffer(arg)) return false
  return true
}

function malformedCommands(commands: unknown): boolean {
  return !Array.isArray(commands) || commands.some((c) => !Array.isArray(c) || typeof c[0] !== 'string' || !COMMAND_NAME.test(c[0]) || !validArgs(c.slice(1)))
}

function resolveRedis(options: RedisClientOptions): { common: ResolvedCommon; commandTimeoutMs: number; baseMs: number; maxMs: number; jitter: number } {
  const problems: string[] = []
  const common = resolveCommon(options, problems)
  const commandTimeoutMs = options.commandTimeoutMs ?? 2000
  const baseMs = options.reconnect?.baseMs ?? 50
  const maxMs = options.reconnect?.maxMs ?? 2000
  const jitter = options.reconnect?.jitter ?? 0.2
  if (!(Number.isInteger(commandTimeoutMs) && commandTimeoutMs > 0)) problems.push(`commandTimeoutMs must be a positive integer, got ${commandTimeoutMs}`)
  if (!(Number.isFinite(baseMs) && baseMs > 0)) problems.push(`reconnect.baseMs must be a positive number, got ${baseMs}`)
  if (!(Number.isFinite(maxMs) && maxMs >= baseMs)) problems.push(`reconnect.maxMs must be ≥ reconnect.baseMs, got ${maxMs}`)
  if (!(Number.isFinite(jitter) && jitter >= 0 && jitter <= 1)) problems.push(`reconnect.jitter must be in [0, 1], got ${jitter}`)
  if (options.url !== undefined && typeof options.url !== 'string') problems.push('url must be a string')
  if (problems.length > 0) throw new ClientInvalidConfigError(`invalid RedisClient options: ${problems.join('; ')}`, { data: { problems } })
  return { common, commandTimeoutMs, baseMs, maxMs, jitter }
}

/**
 * A Redis connection as an actor: it owns an ioredis client, runs every command through its
 * breaker child, checks health (PING) with hysteresis and reconnects with backoff.
 *
 * The offline queue is off: while the connection is down a command fails at once with
 * ERR_REDIS_CONNECTION instead of waiting in memory for a server that may not come back, and
 * ioredis reconnects on its own schedule (our backoff, the system's Random for jitter). A down
 * Redis is not an actor failure, so the actor stays up (no restart loop) and says so in its
 * health. Reentrant: commands wait on the server, never on each other.
 */
export class RedisClient extends Actor<RedisClientProtocol> implements RedisClientProtocol {
  static readonly reentrant = true
  private readonly support: ClientSupport
  /** The owned connection, or null when a port stands in for it. */
  private readonly redis: Redis | null
  private readonly port: RedisConnectionPort | null
  private readonly commandTimeoutMs: number
  private reconnects = 0
  private ended = false
  private unregister: (() => void) | null = null
  private readonly shas = new Map<string, string>()
  private readonly fencePrefix: string
  /** The command timeout, one host timer for every command out (ioredis's `commandTimeout` armed one per command). */
  private readonly deadlines: CommandDeadlines
  /** What this incarnation binds to its RedisFastPath (same-shard calls without a message). */
  private readonly fast: RedisFastPathBinding = {
    command: (name, args, buffers) => this.support.run(() => this.call(name, args, buffers), this.closedError),
    eval: (script, keys, args) => this.eval(script, keys, args),
    health: () => this.health(),
  }
  private readonly closedError = (): Error => new RedisClosedError(`Redis client '${this.support.options.name}' is closed`, { data: { client: this.support.options.name } })

  constructor(options: RedisClientOptions) {
    super()
    const resolved = resolveRedis(options)
    this.commandTimeoutMs = resolved.commandTimeoutMs
    this.fencePrefix = typeof options.fencePrefix === 'string' ? options.fencePrefix : 'troupe:fence:'
    this.support = new ClientSupport('redis', resolved.common, this.context, isRedisServiceFault)
    const random = this.context.system.random
    this.deadlines = new CommandDeadlines(this.context.system.clock, resolved.commandTimeoutMs, (error, command) => mapRedisError(error, this.support.options.name, command, this.commandTimeoutMs, this.ended))
    // Replies keep ioredis's default (legacy) mapping: callers see what `redis.call` answers.
    const redisOptions: Omit<RedisOptions, 'replyMapping'> = {
      ...(options.redis ?? {}),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => (this.ended ? null : backoffDelay(times - 1, resolved.baseMs, resolved.maxMs, resolved.jitter, () => random.next())),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    }
    this.port = options.connection ?? null
    this.redis = this.port !== null ? null : options.url === undefined ? new Redis(redisOptions) : new Redis(options.url, redisOptions)
    // Connection errors surface as typed errors on the calls and in health; the emitter must not crash the process.
    this.redis?.on('error', (error: unknown) => this.context.log.debug({ err: String(error) }, 'Redis connection error'))
    this.redis?.on('reconnecting', () => this.reconnects++)
  }

  override async preStart(): Promise<void> {
    this.support.closing = false
    // A Redis that is down now makes the client unhealthy, not a failed start: wait for the first connection at most one
    // health timeout (so the first calls find it ready), then carry on either way; ioredis keeps reconnecting.
    const connected = this.redis === null ? Promise.resolve() : this.redis.connect().catch(() => {})
    const { clock } = this.context.system
    let timer = null as ReturnType<typeof clock.setTimer> | null
    await Promise.race([connected, new Promise<void>((resolve) => (timer = clock.setTimer(this.support.options.health.timeoutMs, resolve)))])
    if (timer !== null) clock.clearTimer(timer)
    await this.support.start()
    if (this.support.options.registry !== null) {
      this.unregister = ClientMetrics.of(this.support.options.registry).add({ support: this.support, connections: () => this.connections() })
    }
    this.context.timers.startSingle('health', 0, 'checkHealth')
    RedisFastPath.of(this.context.system, this.support.options.name).bind(this.fast)
  }

  override async onStopping(): Promise<void> {
    this.context.timers.cancel('health')
    const drained = await this.support.drain()
    if (!drained) this.context.log.warn({ client: this.support.options.name, inFlight: this.support.inFlight }, 'Redis commands still out at the drain deadline: cut off')
    await this.end(drained)
  }

  override async preRestart(): Promise<void> {
    RedisFastPath.of(this.context.system, this.support.options.name).unbind(this.fast)
    this.deadlines.close()
    this.unregister?.()
    this.support.close()
    await this.end(false)
  }

  override postStop(): void {
    RedisFastPath.of(this.context.system, this.support.options.name).unbind(this.fast)
    this.deadlines.close()
    this.unregister?.()
    this.support.close()
  }

  /** QUIT when drained and connected (the server answers what is pending first), else drop the socket. */
  private async end(graceful: boolean): Promise<void> {
    this.ended = true
    if (this.redis === null) return
    if (graceful && this.redis.status === 'ready') {
      const { clock } = this.context.system
      let timer = null as ReturnType<typeof clock.setTimer> | null
      const deadline = new Promise<void>((resolve) => (timer = clock.setTimer(Math.max(1, this.commandTimeoutMs), resolve)))
      await Promise.race([this.redis.quit().catch(() => {}), deadline])
      if (timer !== null) clock.clearTimer(timer)
    }
    this.redis.disconnect(false)
  }

  command(name: string, ...args: RedisArg[]): Promise<unknown> {
    if (typeof name !== 'string' || !COMMAND_NAME.test(name)) return Promise.reject(new RedisBadCallError(`command: not a command name: ${JSON.stringify(name)}`, { data: { method: 'command' } }))
    if (!validArgs(args)) return Promise.reject(new RedisBadCallError(`command ${name}: arguments must be strings, numbers or buffers`, { data: { method: 'command' } }))
    return this.support.run(() => this.call(name, args), this.closedError)
  }

  pipeline(commands: readonly (readonly [string, ...RedisArg[]])[]): Promise<PipelineReply[]> {
    if (malformedCommands(commands)) return Promise.reject(new RedisBadCallError('pipeline: each command must be [name, ...args] with string, number or buffer arguments', { data: { method: 'pipeline' } }))
    if (commands.length === 0) return Promise.resolve([])
    return this.support.run(() => this.execPipeline(commands), this.closedError)
  }

  eval(script: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    if (typeof script !== 'string' || script.length === 0 || !Array.isArray(keys) || !keys.every((k) => typeof k === 'string') || !Array.isArray(args) || !validArgs(args)) {
      return Promise.reject(new RedisBadCallError('eval: script must be a non-empty string, keys strings, args strings, numbers or buffers', { data: { method: 'eval' } }))
    }
    return this.support.run(async () => {
      let sha = this.shas.get(script)
      if (sha === undefined) {
        sha = createHash('sha1').update(script).digest('hex')
        this.shas.set(script, sha)
      }
      try {
        return await this.call('EVALSHA', [sha, keys.length, ...keys, ...args])
      } catch (error) {
        if ((error as { data?: { prefix?: string } }).data?.prefix !== 'NOSCRIPT') throw error
        return await this.call('EVAL', [script, keys.length, ...keys, ...args])
      }
    }, this.closedError)
  }

  async fenced(fence: Fence, commands: readonly (readonly [string, ...RedisArg[]])[]): Promise<unknown[]> {
    const problem = fenceProblem(fence) ?? (malformedCommands(commands) || commands.length === 0 ? 'commands must be a non-empty list of [name, ...args]' : null)
    if (problem !== null) throw new RedisBadCallError(`fenced: ${problem}`, { data: { method: 'fenced' } })
    const args: RedisArg[] = [fence.token.term, fence.token.version]
    for (const [name, ...rest] of commands) args.push(rest.length + 1, name, ...rest)
    const reply = (await this.eval(REDIS_FENCE_SCRIPT, [redisFenceKey(this.fencePrefix, fence.name)], args)) as unknown[]
    if (reply[0] === 0) throw fencedError(this.support.options.name, fence, { term: Number(reply[1]), version: Number(reply[2]) })
    return reply.slice(1)
  }

  health(): HealthSnapshot {
    return this.support.snapshot()
  }

  stats(): { connected: boolean; status: string; inFlight: number; reconnects: number } {
    const status = this.status()
    return { connected: status === 'ready', status, inFlight: this.support.inFlight, reconnects: this.reconnects }
  }

  async checkHealth(): Promise<void> {
    if (this.support.closing) return
    const delay = await this.support.check(
      () => this.call('PING', []),
      (error) => ((error as { code?: string }).code?.startsWith('ERR_') === true ? (error as { code: string }).code : 'ERR_REDIS_CONNECTION'),
      'ERR_REDIS_TIMEOUT',
    )
    if (!this.support.closing) this.context.timers.startSingle('health', delay, 'checkHealth')
  }

  /** `buffers`: bulk replies as Buffers (ioredis `callBuffer`); a port answers as it does. */
  private call(name: string, args: readonly RedisArg[], buffers = false): Promise<unknown> {
    // Not an async function: on the fast path's every call, one promise layer is a little cheaper than an await's resumption.
    let reply: Promise<unknown>
    try {
      if (this.redis !== null) return this.deadlines.bound(buffers ? this.redis.callBuffer(name, args as RedisArg[]) : this.redis.call(name, args as RedisArg[]), name)
      // A port (the simulator's service) bounds its calls itself.
      reply = Promise.resolve((this.port as RedisConnectionPort).call(name, args as RedisArg[]))
    } catch (error) {
      return Promise.reject(mapRedisError(error, this.support.options.name, name, this.commandTimeoutMs, this.ended))
    }
    return reply.then(undefined, (error: unknown) => {
      throw mapRedisError(error, this.support.options.name, name, this.commandTimeoutMs, this.ended)
    })
  }

  private async execPipeline(commands: readonly (readonly [string, ...RedisArg[]])[]): Promise<PipelineReply[]> {
    const name = this.support.options.name
    let results: [Error | null, unknown][] | null
    if (this.redis === null) return this.portPipeline(commands)
    try {
      const pipeline = this.redis.pipeline()
      // By name through `call`: the method table knows only lower-case names, and any command (module ones too) must pass.
      for (const [command, ...args] of commands) pipeline.call(command, ...args)
      results = await this.deadlines.bound(pipeline.exec(), 'pipeline')
    } catch (error) {
      throw mapRedisError(error, name, 'pipeline', this.commandTimeoutMs, this.ended)
    }
    if (results === null) throw mapRedisError(new Error('pipeline was not executed'), name, 'pipeline', this.commandTimeoutMs, this.ended)
    const replies: PipelineReply[] = []
    for (let i = 0; i < results.length; i++) {
      const [error, value] = results[i] as [Error | null, unknown]
      if (error === null) {
        replies.push({ ok: true, value })
        continue
      }
      const typed = mapRedisError(error, name, String(commands[i]?.[0]), this.commandTimeoutMs, this.ended)
      // A lost connection or a timeout fails the pipeline as a whole: the breaker and the caller must see it.
      if ((typed as { code?: string }).code !== 'ERR_REDIS_COMMAND') throw typed
      replies.push({ ok: false, error: typed as RedisCommandError })
    }
    return replies
  }

  private connections(): { total: number; idle: number; waiting: number } {
    const up = this.status() === 'ready' ? 1 : 0
    return { total: up, idle: up === 1 && this.support.inFlight === 0 ? 1 : 0, waiting: 0 }
  }

  /** A port has no connection state of its own: it is 'ready' unless the client has ended. */
  private status(): string {
    return this.redis === null ? (this.ended ? 'end' : 'ready') : this.redis.status
  }

  /** Over a port: one command after another (a pipeline is not atomic on a real server either), same reply shape. */
  private async portPipeline(commands: readonly (readonly [string, ...RedisArg[]])[]): Promise<PipelineReply[]> {
    const replies: PipelineReply[] = []
    for (const [command, ...args] of commands) {
      try {
        replies.push({ ok: true, value: await this.call(command, args) })
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_REDIS_COMMAND') throw error
        replies.push({ ok: false, error: error as RedisCommandError })
      }
    }
    return replies
  }
}
