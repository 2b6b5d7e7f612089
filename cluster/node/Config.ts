import { accessSync, constants, readFileSync } from 'node:fs'
import { defineError } from '../../runtime/index.ts'
import { natsAuthProblems, type ClusterSecret, type NatsAuth, type NatsUplinkOptions } from '../../transport/nats/index.ts'

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
  /**
   * Hard deadline of a shutdown (SIGTERM/SIGINT): the node exits within it. Default 10 000 ms. Env
   * TROUPE_SHUTDOWN_TIMEOUT_MS. The phases below run in this order, each within its own timeout
   * (docs/protocol.md, "Leaving the cluster"); a phase that times out is logged and the next one runs,
   * and the node then exits 3, not 0.
   */
  readonly shutdownTimeoutMs: number
  /**
   * The end of `shutdownTimeoutMs` kept for the forced path: once the graceful phases reach it, the
   * rest of them is skipped and the node stops its actors, sends `leave` and closes within it.
   * Default 2000 ms, at most half of `shutdownTimeoutMs`. Env TROUPE_SHUTDOWN_FORCE_MS.
   */
  readonly shutdownForceMs: number
  /** Phase `stop-intake`: the gateway takes no new external calls, the app's `stop` runs. Default 1000 ms. Env TROUPE_SHUTDOWN_INTAKE_MS. */
  readonly shutdownIntakeMs: number
  /** Phase `drain`: every shard's mailboxes empty, running handlers (in-flight asks) answered. Default 4000 ms. Env TROUPE_SHUTDOWN_DRAIN_MS. */
  readonly shutdownDrainMs: number
  /** Phase `leave`: `leave` sent, then what peers had in flight is handled until nothing is queued and no frame came for `shutdownQuietMs`. Default 1000 ms. Env TROUPE_SHUTDOWN_LEAVE_MS. */
  readonly shutdownLeaveMs: number
  /** How long no frame may arrive for the `leave` phase to count as quiet. Default 200 ms. Env TROUPE_SHUTDOWN_QUIET_MS. */
  readonly shutdownQuietMs: number
  /** Phase `stop-actors`: every shard's actor tree stops children first; worker threads end. Default 1000 ms. Env TROUPE_SHUTDOWN_ACTORS_MS. */
  readonly shutdownActorsMs: number
  /** Phase `close`: NATS connections drain, the HTTP endpoint closes. Default 1000 ms. Env TROUPE_SHUTDOWN_CLOSE_MS. */
  readonly shutdownCloseMs: number
  /** Heartbeat period on NATS. Default 1000 ms. Env TROUPE_HEARTBEAT_MS. */
  readonly heartbeatMs: number
  /** A node silent this long is down. Default 5000 ms. Env TROUPE_DOWN_AFTER_MS. */
  readonly downAfterMs: number
  /** pino level. Default `info`. Env TROUPE_LOG_LEVEL, flag --log-level. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /**
   * NATS credentials and TLS of the node's connection (frames, heartbeats, worker-shard uplinks, and
   * the gateway unless it has its own). Use one credential kind; see docs/security.md. Default: none.
   * Env TROUPE_NATS_USER, TROUPE_NATS_PASSWORD, TROUPE_NATS_TOKEN, TROUPE_NATS_NKEY_SEED_FILE,
   * TROUPE_NATS_CREDS_FILE, TROUPE_NATS_TLS_CA_FILE, TROUPE_NATS_TLS_CERT_FILE,
   * TROUPE_NATS_TLS_KEY_FILE; flags --nats-user, --nats-nkey, --nats-creds, --nats-tls-ca,
   * --nats-tls-cert, --nats-tls-key (password and token: file or env only, never a flag).
   */
  readonly natsUser: string
  readonly natsPassword: string
  readonly natsToken: string
  readonly natsNkeySeedFile: string
  readonly natsCredsFile: string
  readonly natsTlsCaFile: string
  readonly natsTlsCertFile: string
  readonly natsTlsKeyFile: string
  /**
   * The gateway's connection (external calls), when it must differ from the node's: its own server
   * URL(s) and credentials. Empty settings fall back to the node's: credentials as a whole (any
   * gateway credential replaces the node's), TLS as a whole, URLs. When the result differs from the
   * node's connection, the gateway opens its own. Env TROUPE_GATEWAY_NATS, TROUPE_GATEWAY_NATS_USER, …
   * (the node's names with GATEWAY_); flags --gateway-nats, --gateway-nats-user, --gateway-nats-nkey, ….
   */
  readonly gatewayNats: string
  readonly gatewayNatsUser: string
  readonly gatewayNatsPassword: string
  readonly gatewayNatsToken: string
  readonly gatewayNatsNkeySeedFile: string
  readonly gatewayNatsCredsFile: string
  readonly gatewayNatsTlsCaFile: string
  readonly gatewayNatsTlsCertFile: string
  readonly gatewayNatsTlsKeyFile: string
  /**
   * Cluster secret: signs every node frame and heartbeat; unsigned or wrongly signed ones are dropped
   * (docs/security.md). At least 16 bytes. `clusterSecretPrevious` is also accepted (key rotation).
   * Env TROUPE_CLUSTER_SECRET, TROUPE_CLUSTER_SECRET_PREVIOUS, or a file: `clusterSecretFile` (env
   * TROUPE_CLUSTER_SECRET_FILE, flag --cluster-secret-file) whose first line is the current secret
   * and optional second line the previous one. Default: none.
   */
  readonly clusterSecret: string
  readonly clusterSecretPrevious: string
  readonly clusterSecretFile: string
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
    shutdownForceMs: 2000,
    shutdownIntakeMs: 1000,
    shutdownDrainMs: 4000,
    shutdownLeaveMs: 1000,
    shutdownQuietMs: 200,
    shutdownActorsMs: 1000,
    shutdownCloseMs: 1000,
    heartbeatMs: 1000,
    downAfterMs: 5000,
    logLevel: 'info',
    ...(Object.fromEntries(AUTH_KEYS.map((key) => [key, ''])) as Record<(typeof AUTH_KEYS)[number], string>),
    appSettings: {},
  }
}

/** The credential, TLS and secret settings: strings, empty when unset. */
const AUTH_KEYS = [
  'natsUser',
  'natsPassword',
  'natsToken',
  'natsNkeySeedFile',
  'natsCredsFile',
  'natsTlsCaFile',
  'natsTlsCertFile',
  'natsTlsKeyFile',
  'gatewayNats',
  'gatewayNatsUser',
  'gatewayNatsPassword',
  'gatewayNatsToken',
  'gatewayNatsNkeySeedFile',
  'gatewayNatsCredsFile',
  'gatewayNatsTlsCaFile',
  'gatewayNatsTlsCertFile',
  'gatewayNatsTlsKeyFile',
  'clusterSecret',
  'clusterSecretPrevious',
  'clusterSecretFile',
] as const satisfies readonly (keyof NodeConfig)[]

/** Never logged: redactConfig masks them. */
const SECRET_KEYS = new Set<string>(['natsPassword', 'natsToken', 'gatewayNatsPassword', 'gatewayNatsToken', 'clusterSecret', 'clusterSecretPrevious'])

/** Settings naming a file that must be readable at start. */
const FILE_KEYS = AUTH_KEYS.filter((key) => key.endsWith('File'))

/** TROUPE_ + the setting's name in upper snake case (natsTlsCaFile → TROUPE_NATS_TLS_CA_FILE). */
function envName(key: string): string {
  return `TROUPE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`
}

const ENV_KEYS: Record<string, keyof NodeConfig> = {
  TROUPE_NAME: 'name',
  TROUPE_CLUSTER: 'cluster',
  TROUPE_APP: 'app',
  TROUPE_NATS: 'nats',
  TROUPE_SHARDS: 'shards',
  TROUPE_HTTP: 'http',
  TROUPE_SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  TROUPE_SHUTDOWN_FORCE_MS: 'shutdownForceMs',
  TROUPE_SHUTDOWN_INTAKE_MS: 'shutdownIntakeMs',
  TROUPE_SHUTDOWN_DRAIN_MS: 'shutdownDrainMs',
  TROUPE_SHUTDOWN_LEAVE_MS: 'shutdownLeaveMs',
  TROUPE_SHUTDOWN_QUIET_MS: 'shutdownQuietMs',
  TROUPE_SHUTDOWN_ACTORS_MS: 'shutdownActorsMs',
  TROUPE_SHUTDOWN_CLOSE_MS: 'shutdownCloseMs',
  TROUPE_HEARTBEAT_MS: 'heartbeatMs',
  TROUPE_DOWN_AFTER_MS: 'downAfterMs',
  TROUPE_LOG_LEVEL: 'logLevel',
  ...Object.fromEntries(AUTH_KEYS.map((key) => [envName(key), key])),
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
    shutdownForceMs: integer('shutdownForceMs', 0),
    shutdownIntakeMs: integer('shutdownIntakeMs', 0),
    shutdownDrainMs: integer('shutdownDrainMs', 0),
    shutdownLeaveMs: integer('shutdownLeaveMs', 0),
    shutdownQuietMs: integer('shutdownQuietMs', 0),
    shutdownActorsMs: integer('shutdownActorsMs', 0),
    shutdownCloseMs: integer('shutdownCloseMs', 0),
    heartbeatMs: integer('heartbeatMs', 1),
    downAfterMs: integer('downAfterMs', 1),
    logLevel: text('logLevel') as NodeConfig['logLevel'],
    ...(Object.fromEntries(AUTH_KEYS.map((key) => [key, text(key)])) as Record<(typeof AUTH_KEYS)[number], string>),
    appSettings: (merged['appSettings'] ?? {}) as Record<string, unknown>,
  }
  if (!NAME.test(config.name)) problems.push(`name must match ${NAME}, got '${config.name}'`)
  if (!NAME.test(config.cluster)) problems.push(`cluster must match ${NAME}, got '${config.cluster}'`)
  if (config.app === '') problems.push('app is required (--app <module>, TROUPE_APP, or appModule in the config file)')
  if (config.http !== '' && parseHostPort(config.http) === null) problems.push(`http must be host:port, got '${config.http}'`)
  if (!LOG_LEVELS.has(config.logLevel)) problems.push(`logLevel must be one of ${[...LOG_LEVELS].join(', ')}`)
  if (config.downAfterMs <= config.heartbeatMs) problems.push('downAfterMs must be greater than heartbeatMs')
  if (typeof config.appSettings !== 'object' || config.appSettings === null) problems.push('the app section of the config file must be an object')
  problems.push(...securityProblems(config))
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

/** The config as it is logged: credentials in URLs, passwords, tokens and secrets are masked. */
export function redactConfig(config: NodeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config, nats: maskUrls(config.nats), gatewayNats: maskUrls(config.gatewayNats) }
  for (const key of SECRET_KEYS) if (out[key] !== '') out[key] = '***'
  return out
}

function maskUrls(urls: string): string {
  return urls.replace(/\/\/([^@/]*)@/g, '//***@')
}

function securityProblems(config: NodeConfig): string[] {
  const problems: string[] = []
  for (const key of FILE_KEYS) {
    const path = config[key]
    if (path === '') continue
    try {
      accessSync(path, constants.R_OK)
    } catch {
      problems.push(`${key}: cannot read '${path}'`)
    }
  }
  problems.push(...natsAuthProblems(natsAuthOf(config, 'node'), 'node NATS connection'))
  problems.push(...natsAuthProblems(natsAuthOf(config, 'gateway'), 'gateway NATS connection'))
  if (config.clusterSecretFile !== '' && (config.clusterSecret !== '' || config.clusterSecretPrevious !== '')) {
    problems.push('give the cluster secret either in clusterSecretFile or as clusterSecret/clusterSecretPrevious, not both')
  }
  if (config.clusterSecretPrevious !== '' && config.clusterSecret === '') problems.push('clusterSecretPrevious needs clusterSecret')
  let secret: { current: string; previous: string } = { current: config.clusterSecret, previous: config.clusterSecretPrevious }
  if (config.clusterSecretFile !== '' && !problems.some((problem) => problem.startsWith('clusterSecretFile'))) {
    secret = readSecretFile(config.clusterSecretFile)
    if (secret.current === '') problems.push(`clusterSecretFile: '${config.clusterSecretFile}' holds no secret`)
  }
  for (const [key, value] of [['clusterSecret', secret.current], ['clusterSecretPrevious', secret.previous]] as const) {
    const bytes = Buffer.byteLength(value)
    if (bytes > 0 && bytes < 16) problems.push(`${key} must be at least 16 bytes (32 random bytes recommended), got ${bytes}`)
  }
  if (secret.current !== '' && secret.current === secret.previous) problems.push('clusterSecretPrevious must differ from clusterSecret')
  return problems
}

/** The credentials and TLS of the node's connection, or of the gateway's (falling back to the node's). */
export function natsAuthOf(config: NodeConfig, which: 'node' | 'gateway'): NatsAuth {
  const own = which === 'gateway' ? readAuth(config, 'gatewayNats') : null
  const node = readAuth(config, 'nats')
  const credentials = own !== null && own.credentials !== null ? own.credentials : node.credentials
  const tls = own !== null && own.tls !== null ? own.tls : node.tls
  return { ...credentials, ...(tls === null ? {} : { tls }) }
}

/** The gateway's server URL(s): its own, else the node's. */
export function gatewayServers(config: NodeConfig): string[] {
  return (config.gatewayNats === '' ? config.nats : config.gatewayNats).split(',').map((server) => server.trim())
}

function readAuth(config: NodeConfig, prefix: 'nats' | 'gatewayNats'): { credentials: Omit<NatsAuth, 'tls'> | null; tls: NonNullable<NatsAuth['tls']> | null } {
  const get = (name: string): string | undefined => {
    const value = (config as unknown as Record<string, string>)[`${prefix}${name}`]
    return value === undefined || value === '' ? undefined : value
  }
  const entries: [keyof NatsAuth, string | undefined][] = [
    ['user', get('User')],
    ['pass', get('Password')],
    ['token', get('Token')],
    ['nkeySeedFile', get('NkeySeedFile')],
    ['credsFile', get('CredsFile')],
  ]
  const credentials = Object.fromEntries(entries.filter(([, value]) => value !== undefined)) as Omit<NatsAuth, 'tls'>
  const tlsEntries = [
    ['caFile', get('TlsCaFile')],
    ['certFile', get('TlsCertFile')],
    ['keyFile', get('TlsKeyFile')],
  ].filter(([, value]) => value !== undefined)
  return {
    credentials: Object.keys(credentials).length === 0 ? null : credentials,
    tls: tlsEntries.length === 0 ? null : (Object.fromEntries(tlsEntries) as NonNullable<NatsAuth['tls']>),
  }
}

/** The cluster secret (read from its file when configured that way), or undefined when none is set. */
export function clusterSecretOf(config: NodeConfig): ClusterSecret | undefined {
  const { current, previous } =
    config.clusterSecretFile === '' ? { current: config.clusterSecret, previous: config.clusterSecretPrevious } : readSecretFile(config.clusterSecretFile)
  if (current === '') return undefined
  return previous === '' ? { current } : { current, previous }
}

/** First non-empty line: the current secret; second: the previous one. Lines starting with # are comments. */
function readSecretFile(path: string): { current: string; previous: string } {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  return { current: lines[0] ?? '', previous: lines[1] ?? '' }
}

/** What every shard's NATS uplink of a sharded node connects with: the node's servers, credentials and secret. */
export function natsUplinkOptions(config: NodeConfig): NatsUplinkOptions {
  const secret = clusterSecretOf(config)
  return {
    servers: config.nats.split(',').map((server) => server.trim()),
    cluster: config.cluster,
    heartbeatMs: config.heartbeatMs,
    downAfterMs: config.downAfterMs,
    auth: natsAuthOf(config, 'node'),
    ...(secret === undefined ? {} : { clusterSecret: secret }),
  }
}
