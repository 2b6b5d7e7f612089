import { accessSync, constants, readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { defineError } from '../../runtime/index.ts'
import { natsAuthProblems, type ClusterSecret, type NatsAuth, type NatsUplinkOptions } from '../../transport/nats/index.ts'
import { configSchema, SETTING_KEYS, SETTINGS, type SettingKey } from './settings.ts'
import { didYouMean } from './suggest.ts'

export const ConfigErrorCodes = { Invalid: 'ERR_CONFIG' } as const
/** The configuration is invalid; `data.problems` lists every problem found. */
export const ConfigError = defineError(ConfigErrorCodes.Invalid, 'ConfigError')
export type ConfigError = InstanceType<typeof ConfigError>

/**
 * One typed object with documented defaults. Layers: defaults ← file ← env TROUPE_* ← flags. Each
 * setting's type, default, description, variable and flag are in settings.ts (docs/operations.md
 * lists them); the names here are the config file's keys.
 */
export interface NodeConfig {
  readonly name: string
  readonly cluster: string
  readonly nats: string
  readonly shards: number
  readonly http: string
  /** Who may open /dashboard (and with it the /introspect API). */
  readonly dashboard: 'off' | 'localhost' | 'on'
  /** Who may read the /introspect API (`troupe status|tree|actor`). */
  readonly inspect: 'off' | 'localhost' | 'on'
  /** The app module path: `--app`, TROUPE_APP, or `"app"` in the config file (one name, one meaning). */
  readonly app: string
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Troupe's head sampling of root sends for tracing (TracingOptions.sampleRatio). */
  readonly traceSampleRatio: number
  readonly heartbeatMs: number
  readonly downAfterMs: number
  /** Shutdown: the hard deadline, the forced path's share of it, and each phase's timeout (docs/protocol.md). */
  readonly shutdownTimeoutMs: number
  readonly shutdownForceMs: number
  readonly shutdownIntakeMs: number
  readonly shutdownDrainMs: number
  readonly shutdownLeaveMs: number
  readonly shutdownQuietMs: number
  readonly shutdownActorsMs: number
  readonly shutdownCloseMs: number
  /** NATS credentials and TLS of the node's connection (docs/security.md); empty when unset. */
  readonly natsUser: string
  readonly natsPassword: string
  readonly natsToken: string
  readonly natsNkeySeedFile: string
  readonly natsCredsFile: string
  readonly natsTlsCaFile: string
  readonly natsTlsCertFile: string
  readonly natsTlsKeyFile: string
  /** The gateway's own connection; empty settings fall back to the node's. */
  readonly gatewayNats: string
  readonly gatewayNatsUser: string
  readonly gatewayNatsPassword: string
  readonly gatewayNatsToken: string
  readonly gatewayNatsNkeySeedFile: string
  readonly gatewayNatsCredsFile: string
  readonly gatewayNatsTlsCaFile: string
  readonly gatewayNatsTlsCertFile: string
  readonly gatewayNatsTlsKeyFile: string
  /** Cluster secret (docs/security.md): as values, or in a file. */
  readonly clusterSecret: string
  readonly clusterSecretPrevious: string
  readonly clusterSecretFile: string
  /** The app's own settings (`"settings"` in the config file), handed to its start as `context.settings`. */
  readonly settings: Readonly<Record<string, unknown>>
  /** Cluster state (docs/cluster-state.md): off, on the built-in Raft log, or on NATS JetStream. */
  readonly clusterState: 'off' | 'raft' | 'jetstream'
  /** Seed nodes (names) to join through. */
  readonly seeds: readonly string[]
  readonly roles: readonly string[]
  /** The node's durable state lives under `<dataDir>/<cluster>/<name>/`. */
  readonly dataDir: string
  readonly raftHeartbeatMs: number
  readonly raftElectionMs: number
  /** Who may read /cluster and use its leave/down actions. */
  readonly clusterApi: 'off' | 'localhost' | 'on'
  /** JetStream cluster state: replicas of its stream and buckets (when it creates them). */
  readonly jetstreamReplicas: number
  /** JetStream cluster state: the leader lease's TTL (the lease bucket's max age). */
  readonly jetstreamLeaseTtlMs: number
}

// settings.ts and NodeConfig name the same keys: a setting added to one and not the other fails here.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false
const sameKeys: SameKeys<NodeConfig, Record<SettingKey, unknown>> = true
void sameKeys

export type ConfigLayer = { -readonly [K in keyof NodeConfig]?: unknown }

export function defaultConfig(pid: number): NodeConfig {
  const defaults: Record<string, unknown> = {}
  for (const key of SETTING_KEYS) defaults[key] = SETTINGS[key].default
  defaults['name'] = `node-${pid}`
  defaults['settings'] = {}
  return defaults as unknown as NodeConfig
}

/** Never logged: redactConfig masks them. */
const SECRET_KEYS = SETTING_KEYS.filter((key) => SETTINGS[key].secret === true)

/** Settings naming a file that must be readable at start. */
const FILE_KEYS = SETTING_KEYS.filter((key) => SETTINGS[key].file === true) as (keyof NodeConfig & `${string}File`)[]

const ENV_KEYS = new Map<string, SettingKey>(SETTING_KEYS.flatMap((key) => (SETTINGS[key].env === null ? [] : [[SETTINGS[key].env as string, key] as const])))

/** Variables of the environment that Troupe reads but are not settings (tests, tooling). */
const OTHER_TROUPE_VARIABLES = new Set(['TROUPE_PYTHON'])

export function envLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  const layer: ConfigLayer = {}
  for (const [variable, key] of ENV_KEYS) {
    const value = env[variable]
    if (value !== undefined && value !== '') layer[key] = value
  }
  return layer
}

/** TROUPE_* variables that name no setting (a typo, most likely), each with a suggestion when one is close. */
export function unknownEnvVariables(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('TROUPE_') && !ENV_KEYS.has(name) && !OTHER_TROUPE_VARIABLES.has(name))
    .map((name) => `unknown variable ${name}${didYouMean(name, ENV_KEYS.keys())}`)
}

/** Reads a JSON config file: the NodeConfig keys (`app`: the module path; `settings`: the app's own settings). */
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
  const { $schema: _schema, ...layer } = parsed as Record<string, unknown>
  // Before 0.2 `app` held the app's settings and `appModule` the module: say so rather than fail obscurely.
  const problems: string[] = []
  if (layer['app'] !== undefined && typeof layer['app'] === 'object') problems.push(`${path}: "app" is the app module path; the app's own settings go in "settings"`)
  if (layer['appModule'] !== undefined) problems.push(`${path}: "appModule" is now "app" (the same name as --app and TROUPE_APP)`)
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`, { data: { problems } })
  // A module path in a file is relative to that file, as in tsconfig or package.json.
  if (typeof layer['app'] === 'string' && layer['app'] !== '' && !isAbsolute(layer['app'])) layer['app'] = resolve(dirname(path), layer['app'])
  return layer
}

const NAME = /^[A-Za-z0-9_-]+$/

/** Env and flag values arrive as text: integers are read before the schema checks them. */
function coerce(key: SettingKey, value: unknown): unknown {
  if (SETTINGS[key].kind === 'integer' && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value)
  if (SETTINGS[key].kind === 'ratio' && typeof value === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)\s*$/.test(value)) return Number(value)
  // A list arrives from env as comma-separated text, from flags as repeated values (either may hold commas).
  if (SETTINGS[key].kind === 'list' && typeof value === 'string') return value.split(',').map((v) => v.trim()).filter((v) => v !== '')
  if (SETTINGS[key].kind === 'list' && Array.isArray(value)) return value.flatMap((v: unknown) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter((x) => x !== '') : [v]))
  return value
}

/** Merges layers over the defaults and validates the result, reporting every problem at once. */
export function resolveConfig(layers: readonly ConfigLayer[], pid = process.pid): NodeConfig {
  const merged: Record<string, unknown> = { ...defaultConfig(pid) }
  const problems: string[] = []
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue
      if (!(key in SETTINGS)) problems.push(`unknown setting '${key}'${didYouMean(key, SETTING_KEYS)}`)
      else merged[key] = coerce(key as SettingKey, value)
    }
  }
  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push(issue.message)
  // The checks across settings run on whatever is well-typed, so one run reports every problem.
  const value = merged as Partial<Record<keyof NodeConfig, unknown>>
  if (typeof value.name === 'string' && !NAME.test(value.name)) problems.push(`name must match ${NAME}, got '${value.name}'`)
  if (typeof value.cluster === 'string' && !NAME.test(value.cluster)) problems.push(`cluster must match ${NAME}, got '${value.cluster}'`)
  if (typeof value.http === 'string' && value.http !== '' && parseHostPort(value.http) === null) problems.push(`http must be host:port, got '${value.http}'`)
  if (typeof value.downAfterMs === 'number' && typeof value.heartbeatMs === 'number' && value.downAfterMs <= value.heartbeatMs) {
    problems.push('downAfterMs must be greater than heartbeatMs')
  }
  problems.push(...clusterProblems(value))
  if (parsed.success) problems.push(...securityProblems(parsed.data as unknown as NodeConfig))
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`, { data: { problems } })
  return parsed.data as unknown as NodeConfig
}

/** Cluster state settings that only make sense together. */
function clusterProblems(value: Partial<Record<keyof NodeConfig, unknown>>): string[] {
  const problems: string[] = []
  const kind = value.clusterState
  const on = kind === 'raft' || kind === 'jetstream'
  if (!on && Array.isArray(value.seeds) && value.seeds.length > 0) problems.push('seeds need the cluster state: add --cluster-state raft (TROUPE_CLUSTER_STATE=raft)')
  if (on && value.nats === '') problems.push(`clusterState ${kind} needs NATS between the nodes: set --nats`)
  if (on && typeof value.shards === 'number' && value.shards > 0) problems.push(`clusterState ${kind} runs on nodes without worker shards for now: use --shards 0`)
  if (on && value.dataDir === '') problems.push(`clusterState ${kind} needs a dataDir for its ${kind === 'raft' ? 'Raft log' : 'incarnation counter'}`)
  // Stream and bucket names derive from the cluster name (JetStream allows only these characters).
  if (kind === 'jetstream' && typeof value.cluster === 'string' && !/^[A-Za-z0-9_-]{1,64}$/.test(value.cluster)) problems.push('clusterState jetstream needs a cluster name of letters, digits, _ and - (at most 64): its stream and buckets are named after it')
  if (typeof value.raftElectionMs === 'number' && typeof value.raftHeartbeatMs === 'number' && value.raftElectionMs <= value.raftHeartbeatMs) problems.push('raftElectionMs must be greater than raftHeartbeatMs')
  return problems
}

/** The node's NATS servers (`nats`, comma-separated). */
export function natsServers(config: NodeConfig): string[] {
  return config.nats.split(',').map((server) => server.trim())
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
