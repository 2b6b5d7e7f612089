/**
 * Every node setting in one table: its type, default, description, environment variable and flag.
 * The config file's zod schema, its published JSON Schema (node.config.schema.json), the env and
 * flag layers, `--help` and docs/operations.md are all derived from it, so they cannot drift apart.
 *
 * zod (not valibot) because zod 4 generates JSON Schema itself (`z.toJSONSchema`): one dependency
 * instead of a validator plus a converter, and the app's own schemas (`publish` args) already use it.
 */
import { z } from 'zod'

export type SettingKind = 'string' | 'integer' | 'ratio' | 'level' | 'choice' | 'object' | 'list'

export interface Setting {
  readonly kind: SettingKind
  readonly default: string | number | readonly string[] | Readonly<Record<string, unknown>>
  /** Smallest allowed value of an integer setting. */
  readonly min?: number
  /** The values a `choice` setting takes. */
  readonly choices?: readonly string[]
  readonly description: string
  /** The command-line flag, without `--`; null when the value must never appear on a command line. */
  readonly flag: string | null
  /** The environment variable; null for settings only a config file can hold. */
  readonly env: string | null
  /** Masked when the configuration is logged. */
  readonly secret?: boolean
  /** Names a file that must be readable at start. */
  readonly file?: boolean
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** TROUPE_ + the setting's name in upper snake case (natsTlsCaFile → TROUPE_NATS_TLS_CA_FILE). */
export function envName(key: string): string {
  return `TROUPE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`
}

/** natsTlsCaFile → nats-tls-ca-file. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

type Options = { min?: number; choices?: readonly string[]; flag?: string | null; env?: string | null; secret?: boolean; file?: boolean }

function setting(kind: SettingKind, fallback: Setting['default'], description: string, options: Options = {}): (key: string) => Setting {
  return (key) => ({
    kind,
    default: fallback,
    description,
    flag: options.flag === undefined ? kebab(key) : options.flag,
    env: options.env === undefined ? envName(key) : options.env,
    ...(options.min === undefined ? {} : { min: options.min }),
    ...(options.choices === undefined ? {} : { choices: options.choices }),
    ...(options.secret === true ? { secret: true } : {}),
    ...(options.file === true ? { file: true } : {}),
  })
}

/** Who may reach an HTTP feature: nobody, clients on the loopback interface, or anyone who reaches the port. */
export const EXPOSURES = ['off', 'localhost', 'on'] as const
export type Exposure = (typeof EXPOSURES)[number]
const exposure = (fallback: Exposure, description: string) => setting('choice', fallback, description, { choices: EXPOSURES })

/** Where the cluster state lives: nowhere (heartbeat membership only), the built-in Raft log, or NATS JetStream. */
export const CLUSTER_STATES = ['off', 'raft', 'jetstream'] as const

const ms = (fallback: number, description: string, min = 0) => setting('integer', fallback, description, { min })
const text = (description: string, options: Options = {}) => setting('string', '', description, options)
const secretText = (description: string) => text(description, { flag: null, secret: true })
const fileText = (description: string, flag: string) => text(description, { flag, file: true })

const builders = {
  name: setting('string', 'node-<pid>', 'Node id, unique in the cluster ([A-Za-z0-9_-]+). Default: node-<pid>.'),
  cluster: setting('string', 'troupe', 'Cluster name: the NATS subject prefix and the actor system name ([A-Za-z0-9_-]+).'),
  nats: text('NATS server URL(s), comma-separated; empty runs the node standalone.'),
  shards: setting('integer', 0, 'Worker-thread shards running actors besides the main thread; 0 runs every actor on the main thread.', { min: 0 }),
  http: setting('string', '127.0.0.1:9464', '`host:port` of /healthz, /readyz, /startupz and /metrics; empty disables the endpoint.'),
  dashboard: exposure(
    'off',
    'The live dashboard at /dashboard (actor trees of every shard, mailboxes, restarts, dead letters): off, localhost (loopback clients only) or on (anyone reaching the http port). It also opens the /introspect API to the same clients.',
  ),
  inspect: exposure(
    'localhost',
    'The JSON introspection API under /introspect (what `troupe status|tree|actor` read): off, localhost (loopback clients only) or on. With NATS, any value but off also answers the same requests on troupe.<cluster>.inspect.<node> (`troupe status --node`, other members’ dashboards) to whoever the NATS server lets publish there and, with a cluster secret, signs them.',
  ),
  app: setting('string', '', 'App module path (its default export is `defineApp({ name, actors, start })`), relative to the current directory (in a config file: relative to that file). Required.'),
  logLevel: setting('level', 'info', 'pino log level.'),
  traceSampleRatio: setting(
    'ratio',
    1,
    'Share of root sends (no trace to continue) that start a trace, decided by Troupe before the OpenTelemetry SDK is asked: 1 in round(1/ratio). 1 leaves every decision to the SDK’s sampler; 0.01 keeps tracing’s cost near zero for the messages left out.',
  ),
  heartbeatMs: ms(1000, 'Heartbeat period on NATS, in ms.', 1),
  downAfterMs: ms(5000, 'A node silent this long (ms) is down: watchers get Terminated(node-down), asks to it fail with ERR_NODE_DOWN. Must exceed heartbeatMs.', 1),
  shutdownTimeoutMs: ms(10_000, 'Hard deadline of a shutdown (SIGTERM/SIGINT), in ms: the node exits within it. The phases below run in order, each within its own timeout.'),
  shutdownForceMs: ms(2000, 'The end of shutdownTimeoutMs kept for the forced path (stop actors, leave, close), in ms; at most half of shutdownTimeoutMs.'),
  shutdownIntakeMs: ms(1000, 'Phase stop-intake: the gateway takes no new external calls and the app’s stop runs (ms).'),
  shutdownDrainMs: ms(4000, 'Phase drain: every shard’s mailboxes empty, in-flight asks answered (ms).'),
  shutdownLeaveMs: ms(1000, 'Phase leave: `leave` sent, then what peers had in flight is handled until quiet (ms).'),
  shutdownQuietMs: ms(200, 'How long no frame may arrive for the leave phase to count as quiet (ms).'),
  shutdownActorsMs: ms(1000, 'Phase stop-actors: every shard’s actor tree stops children first; worker threads end (ms).'),
  shutdownCloseMs: ms(1000, 'Phase close: NATS connections drain, the HTTP endpoint closes (ms).'),
  natsUser: text('NATS user of the node’s connection (its password: natsPassword).'),
  natsPassword: secretText('NATS password (config file or env only: flags show in ps).'),
  natsToken: secretText('NATS token (config file or env only).'),
  natsNkeySeedFile: fileText('NKey user seed file (SU...).', 'nats-nkey'),
  natsCredsFile: fileText('.creds file: user JWT + NKey seed, as nsc writes it.', 'nats-creds'),
  natsTlsCaFile: fileText('CA certificate (PEM) to trust for the NATS server.', 'nats-tls-ca'),
  natsTlsCertFile: fileText('Client certificate (PEM) for mutual TLS.', 'nats-tls-cert'),
  natsTlsKeyFile: fileText('Client key (PEM) for mutual TLS.', 'nats-tls-key'),
  gatewayNats: text('The gateway’s own NATS server URL(s); empty: the node’s.'),
  gatewayNatsUser: text('The gateway’s NATS user; any gateway credential replaces the node’s.'),
  gatewayNatsPassword: secretText('The gateway’s NATS password (config file or env only).'),
  gatewayNatsToken: secretText('The gateway’s NATS token (config file or env only).'),
  gatewayNatsNkeySeedFile: fileText('The gateway’s NKey user seed file.', 'gateway-nats-nkey'),
  gatewayNatsCredsFile: fileText('The gateway’s .creds file.', 'gateway-nats-creds'),
  gatewayNatsTlsCaFile: fileText('CA certificate for the gateway’s connection; any gateway TLS file replaces the node’s TLS.', 'gateway-nats-tls-ca'),
  gatewayNatsTlsCertFile: fileText('Client certificate for the gateway’s connection.', 'gateway-nats-tls-cert'),
  gatewayNatsTlsKeyFile: fileText('Client key for the gateway’s connection.', 'gateway-nats-tls-key'),
  clusterSecret: secretText('Cluster secret (>= 16 bytes) signing every node frame and heartbeat (HMAC-SHA256).'),
  clusterSecretPrevious: secretText('The previous cluster secret, still accepted while a rotation rolls out.'),
  clusterSecretFile: fileText('File whose first line is the cluster secret and optional second line the previous one.', 'cluster-secret-file'),
  settings: setting('object', {}, 'The app’s own settings, handed to its `start` as `context.settings` (config file only).', { flag: null, env: null }),
  clusterState: setting(
    'choice',
    'off',
    'Cluster membership and state (docs/cluster-state.md): off (each node judges its peers alone from heartbeats), raft (members, downing by the cluster, registry, singletons on the built-in Raft log; needs nats) or jetstream (the same on NATS JetStream: stream TROUPE_CLUSTER_<cluster>, buckets troupe_cluster_<cluster>[_lease]; docs/cluster-state-jetstream.md).',
    { choices: CLUSTER_STATES },
  ),
  seeds: setting('list', [], 'Nodes (names) to join the cluster state through; repeat --seed for several (env: comma-separated). Without seeds a node with no earlier run bootstraps a new cluster; a restarted one asks the members it knew.', { flag: 'seed' }),
  roles: setting('list', [], 'This member’s roles (singletons may be restricted to a role); repeat --role (env: comma-separated).', { flag: 'role' }),
  dataDir: setting('string', 'troupe-data', 'Directory of the node’s durable state (cluster state: <dataDir>/<cluster>/<name>/, its Raft log and incarnation counter).'),
  raftHeartbeatMs: ms(100, 'Cluster state: Raft leader heartbeat period (ms).', 1),
  raftElectionMs: ms(1000, 'Cluster state: Raft election timeout lower bound (ms); each timeout is drawn in [it, 2 × it). Must exceed raftHeartbeatMs.', 1),
  clusterApi: exposure('localhost', 'The /cluster JSON view and its leave/down actions (what `troupe cluster` uses): off, localhost (loopback clients only) or on.'),
  jetstreamReplicas: setting('integer', 1, 'Cluster state on JetStream: replicas of its stream and KV buckets (3 on a NATS cluster of 3 or more JetStream servers). Used when they are created; existing ones keep theirs (change them with `nats stream edit`).', { min: 1 }),
  jetstreamLeaseTtlMs: ms(5000, 'Cluster state on JetStream: TTL of the leader lease (ms), the longest a dead holder delays the leader’s duties (up, exit, downing). Renewed every TTL/4; the holder gives up TTL/5 for clock drift. Every member must use the same value: a node refuses to start when the lease bucket has another.', 100),
} as const

export type SettingKey = keyof typeof builders

export const SETTINGS: { readonly [K in SettingKey]: Setting } = Object.fromEntries(
  Object.entries(builders).map(([key, build]) => [key, build(key)]),
) as { readonly [K in SettingKey]: Setting }

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[]

/** The zod schema of one setting's (already coerced) value, with its problem message. */
function valueSchema(key: string, spec: Setting): z.ZodType {
  switch (spec.kind) {
    case 'integer': {
      const min = spec.min ?? 0
      return z.int({ error: (issue) => `${key} must be an integer >= ${min}, got '${String(issue.input)}'` }).min(min, {
        error: (issue) => `${key} must be an integer >= ${min}, got '${String(issue.input)}'`,
      })
    }
    case 'ratio':
      return z.number({ error: (issue) => `${key} must be a number within [0, 1], got '${String(issue.input)}'` }).min(0, { error: `${key} must be within [0, 1]` }).max(1, { error: `${key} must be within [0, 1]` })
    case 'level':
      return z.enum(LOG_LEVELS, { error: () => `logLevel must be one of ${LOG_LEVELS.join(', ')}` })
    case 'choice': {
      const choices = (spec.choices ?? []) as [string, ...string[]]
      return z.enum(choices, { error: (issue) => `${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(issue.input)}` })
    }
    case 'list':
      return z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, { error: (issue) => `${key} entries must match [A-Za-z0-9_-]+, got ${JSON.stringify(issue.input)}` }), { error: () => `${key} must be a list of names` })
    case 'object':
      return z.record(z.string(), z.unknown(), { error: () => `${key} must be an object` })
    case 'string':
      if (key === 'app') return z.string().min(1, { error: 'app is required (--app <module>, TROUPE_APP, or "app" in the config file)' })
      return z.string({ error: (issue) => `${key} must be a string, got ${JSON.stringify(issue.input)}` })
  }
}

/** The strict schema of a fully merged configuration (every key present). */
export const configSchema = z.strictObject(
  Object.fromEntries(SETTING_KEYS.map((key) => [key, valueSchema(key, SETTINGS[key])])) as Record<SettingKey, z.ZodType>,
)

/**
 * The JSON Schema of the config file, as published in node.config.schema.json: every key optional
 * (defaults apply), documented, and nothing else allowed. Editors complete and check a file that
 * names it in `"$schema"`.
 */
export function configFileJsonSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = { $schema: { type: 'string', description: 'The JSON Schema this file follows (for editors).' } }
  for (const key of SETTING_KEYS) {
    const spec = SETTINGS[key]
    const generated = z.toJSONSchema(valueSchema(key, spec)) as Record<string, unknown>
    delete generated['$schema']
    if (spec.kind === 'integer') delete generated['maximum']
    const where = [spec.env === null ? null : `env ${spec.env}`, spec.flag === null ? null : `flag --${spec.flag}`].filter((part) => part !== null)
    properties[key] = {
      ...generated,
      description: `${spec.description}${where.length === 0 ? '' : ` (${where.join(', ')})`}`,
      ...(key === 'name' || key === 'app' ? {} : { default: spec.default }),
    }
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Troupe node configuration file',
    description: 'The JSON file given to `troupe start --config`. Precedence: defaults < this file < TROUPE_* environment < flags.',
    type: 'object',
    properties,
    additionalProperties: false,
  }
}
