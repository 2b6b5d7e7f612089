import { readFileSync } from 'node:fs'
import { defineError } from '../../runtime/index.ts'

export const ConfigErrorCodes = { Invalid: 'ERR_CONFIG' } as const
/** The configuration is invalid; `data.problems` lists every problem found. */
export const ConfigError = defineError(ConfigErrorCodes.Invalid, 'ConfigError')
export type ConfigError = InstanceType<typeof ConfigError>

/** One typed object with documented defaults. Layers: defaults ← file ← env TROUPE_* ← flags. */
export interface NodeConfig {
  /** Node id; unique in the cluster. Default: `node-<pid>`. Env TROUPE_NAME, flag --name. */
  readonly name: string
  /** Cluster name: the NATS subject prefix and the actor system name. Default `troupe`. Env TROUPE_CLUSTER. */
  readonly cluster: string
  /** App module path. Required. Env TROUPE_APP, flag --app. */
  readonly app: string
  /** NATS server URL(s), comma-separated; empty runs standalone (no NATS). Env TROUPE_NATS, flag --nats. */
  readonly nats: string
  /**
   * Worker-thread shards running actors besides the main thread (docs/shards.md); 0 runs every
   * actor on the main thread. With NATS, each shard has its own link to the other nodes. Default 0.
   * Env TROUPE_SHARDS, flag --shards.
   */
  readonly shards: number
  /** `host:port` for /healthz, /readyz, /startupz, /metrics; empty disables. Default `127.0.0.1:9464`. Env TROUPE_HTTP, flag --http. */
  readonly http: string
  /** Grace period for a clean shutdown before the node exits anyway. Default 10 000 ms. Env TROUPE_SHUTDOWN_TIMEOUT_MS. */
  readonly shutdownTimeoutMs: number
  /** Heartbeat period on NATS. Default 1000 ms. Env TROUPE_HEARTBEAT_MS. */
  readonly heartbeatMs: number
  /** A node silent this long is down. Default 5000 ms. Env TROUPE_DOWN_AFTER_MS. */
  readonly downAfterMs: number
  /** pino level. Default `info`. Env TROUPE_LOG_LEVEL, flag --log-level. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Settings handed to the app (`app` section of the config file). */
  readonly appSettings: Readonly<Record<string, unknown>>
}

export type ConfigLayer = { -readonly [K in keyof NodeConfig]?: unknown }

export function defaultConfig(pid: number): NodeConfig {
  return {
    name: `node-${pid}`,
    cluster: 'troupe',
    app: '',
    nats: '',
    shards: 0,
    http: '127.0.0.1:9464',
    shutdownTimeoutMs: 10_000,
    heartbeatMs: 1000,
    downAfterMs: 5000,
    logLevel: 'info',
    appSettings: {},
  }
}

const ENV_KEYS: Record<string, keyof NodeConfig> = {
  TROUPE_NAME: 'name',
  TROUPE_CLUSTER: 'cluster',
  TROUPE_APP: 'app',
  TROUPE_NATS: 'nats',
  TROUPE_SHARDS: 'shards',
  TROUPE_HTTP: 'http',
  TROUPE_SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  TROUPE_HEARTBEAT_MS: 'heartbeatMs',
  TROUPE_DOWN_AFTER_MS: 'downAfterMs',
  TROUPE_LOG_LEVEL: 'logLevel',
}

export function envLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  const layer: ConfigLayer = {}
  for (const [variable, key] of Object.entries(ENV_KEYS)) {
    const value = env[variable]
    if (value !== undefined && value !== '') layer[key] = value
  }
  return layer
}

/** Reads a JSON config file: the NodeConfig keys, plus an `app` object handed to the app as settings. */
export function fileLayer(path: string): ConfigLayer {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error, data: { problems: [`file: ${path}`] } })
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`, { data: { problems: ['file: not an object'] } })
  }
  const { app, appModule, ...rest } = parsed as Record<string, unknown>
  const layer: ConfigLayer = { ...rest }
  // `app` in the file is the app's own settings; the module path is `appModule` there.
  if (app !== undefined) layer.appSettings = app
  if (appModule !== undefined) layer.app = appModule
  return layer
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const NAME = /^[A-Za-z0-9_-]+$/

/** Merges layers over the defaults and validates the result, reporting every problem at once. */
export function resolveConfig(layers: readonly ConfigLayer[], pid = process.pid): NodeConfig {
  const merged: Record<string, unknown> = { ...defaultConfig(pid) }
  const known = new Set(Object.keys(merged))
  const problems: string[] = []
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue
      if (!known.has(key)) problems.push(`unknown setting '${key}'`)
      else merged[key] = value
    }
  }
  const text = (key: string): string => String(merged[key])
  const integer = (key: string, min: number): number => {
    const n = Number(merged[key])
    if (!Number.isInteger(n) || n < min) problems.push(`${key} must be an integer >= ${min}, got '${String(merged[key])}'`)
    return n
  }
  const config: NodeConfig = {
    name: text('name'),
    cluster: text('cluster'),
    app: text('app'),
    nats: text('nats'),
    shards: integer('shards', 0),
    http: text('http'),
    shutdownTimeoutMs: integer('shutdownTimeoutMs', 0),
    heartbeatMs: integer('heartbeatMs', 1),
    downAfterMs: integer('downAfterMs', 1),
    logLevel: text('logLevel') as NodeConfig['logLevel'],
    appSettings: (merged['appSettings'] ?? {}) as Record<string, unknown>,
  }
  if (!NAME.test(config.name)) problems.push(`name must match ${NAME}, got '${config.name}'`)
  if (!NAME.test(config.cluster)) problems.push(`cluster must match ${NAME}, got '${config.cluster}'`)
  if (config.app === '') problems.push('app is required (--app <module>, TROUPE_APP, or appModule in the config file)')
  if (config.http !== '' && parseHostPort(config.http) === null) problems.push(`http must be host:port, got '${config.http}'`)
  if (!LOG_LEVELS.has(config.logLevel)) problems.push(`logLevel must be one of ${[...LOG_LEVELS].join(', ')}`)
  if (config.downAfterMs <= config.heartbeatMs) problems.push('downAfterMs must be greater than heartbeatMs')
  if (typeof config.appSettings !== 'object' || config.appSettings === null) problems.push('the app section of the config file must be an object')
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`, { data: { problems } })
  return config
}

export function parseHostPort(text: string): { host: string; port: number } | null {
  const match = /^(.+):(\d{1,5})$/.exec(text)
  if (match === null) return null
  const port = Number(match[2])
  if (port > 65535) return null
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port }
}

/** The config as it is logged: credentials in URLs are masked. */
export function redactConfig(config: NodeConfig): Record<string, unknown> {
  return { ...config, nats: config.nats.replace(/\/\/([^@/]*)@/g, '//***@') }
}
