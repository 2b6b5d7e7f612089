#!/usr/bin/env node
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { isAppDefinition, type AppDefinition } from './App.ts'
import { ConfigError, envLayer, fileLayer, redactConfig, resolveConfig, type ConfigLayer, type NodeConfig } from './Config.ts'
import type { Logger } from '../../runtime/index.ts'
import { TroupeNode, type NetworkFactory } from './Node.ts'

/** Exit codes, so scripts and orchestrators can tell outcomes apart. */
export const ExitCode = {
  /** Clean shutdown. */
  Ok: 0,
  /** The top supervisor gave up (or another fatal runtime failure). */
  Failed: 1,
  /** Bad command line or configuration. */
  Usage: 2,
  /** Shutdown did not complete: a phase timed out, the deadline forced the rest, or a second signal. */
  Forced: 3,
  /** The app failed to start. */
  StartFailed: 4,
} as const

const HELP = `troupe — run a Troupe node

Usage:
  troupe start --app <module> [options]
  troupe help

A node runs one app module (its default export is \`defineApp({ name, actors, start })\`) in an
actor system. Without --nats it runs standalone; with --nats it joins the cluster named by
--cluster and external clients can call the actors the app publishes.

Options (each also settable in the config file and as TROUPE_* environment variables;
precedence: defaults < --config file < environment < flags). In the JSON config file the app
module path is "appModule" and the "app" object holds the app's own settings. Also:
TROUPE_SHUTDOWN_TIMEOUT_MS (10000), TROUPE_HEARTBEAT_MS (1000), TROUPE_DOWN_AFTER_MS (5000).
  --app <module>        App module path (TROUPE_APP).                     required
  --config <file>       JSON config file; its "app" object is handed to the app as settings.
  --name <id>           Node id, unique in the cluster (TROUPE_NAME).    default node-<pid>
  --cluster <name>      Cluster name and NATS subject prefix (TROUPE_CLUSTER). default troupe
  --nats <url>          NATS server URL(s), comma-separated (TROUPE_NATS). default: standalone
  --shards <n>          Worker-thread shards running actors besides the main thread
                        (TROUPE_SHARDS); 0 runs them all on the main thread. default 0
  --http <host:port>    Health and metrics endpoint; "" disables (TROUPE_HTTP). default 127.0.0.1:9464
  --log-level <level>   fatal|error|warn|info|debug|trace|silent (TROUPE_LOG_LEVEL). default info
  -h, --help            This text.

NATS credentials and TLS of the node's connection (docs/security.md; use one credential kind):
  --nats-user <name>    User (TROUPE_NATS_USER); its password only from the config file
                        ("natsPassword") or TROUPE_NATS_PASSWORD, never a flag (ps shows flags).
                        A token likewise: "natsToken" or TROUPE_NATS_TOKEN.
  --nats-nkey <file>    NKey user seed file, SU... (TROUPE_NATS_NKEY_SEED_FILE).
  --nats-creds <file>   .creds file: user JWT + NKey seed, as nsc writes it (TROUPE_NATS_CREDS_FILE).
                        Seed and creds files are read again on every reconnect.
  --nats-tls-ca <file>  CA certificate (PEM) to trust for the server (TROUPE_NATS_TLS_CA_FILE).
  --nats-tls-cert <file>, --nats-tls-key <file>
                        Client certificate and key for mutual TLS (TROUPE_NATS_TLS_CERT_FILE,
                        TROUPE_NATS_TLS_KEY_FILE).

The gateway's connection (external calls) uses the node's unless given its own; when its
servers or credentials differ it opens a second connection. The same settings with "gateway":
  --gateway-nats <url>, --gateway-nats-user <name>, --gateway-nats-nkey <file>,
  --gateway-nats-creds <file>, --gateway-nats-tls-ca <file>, --gateway-nats-tls-cert <file>,
  --gateway-nats-tls-key <file>   (TROUPE_GATEWAY_NATS, TROUPE_GATEWAY_NATS_USER, ...;
                        password/token: "gatewayNatsPassword"/"gatewayNatsToken" or env).
  Any gateway credential replaces the node's credentials; any gateway TLS file replaces its TLS.

Where NATS permissions cannot keep strangers off the node subjects, a cluster secret signs every
node frame and heartbeat (HMAC-SHA256); unsigned or wrongly signed ones are dropped and counted:
  --cluster-secret-file <file>
                        First line: the current secret (>= 16 bytes; 32 random bytes, e.g.
                        \`openssl rand -base64 32\`); optional second line: the previous one, still
                        accepted while a rotation rolls out (TROUPE_CLUSTER_SECRET_FILE; or
                        TROUPE_CLUSTER_SECRET and TROUPE_CLUSTER_SECRET_PREVIOUS). Every node of the
                        cluster needs a key in common.

Endpoints: GET /healthz (alive), /readyz (app started, NATS connected), /startupz, /metrics.

Signals: SIGTERM or SIGINT runs the coordinated shutdown, phase by phase, each logged with its
outcome: leaving (peers route no new work here), stop-intake (gateway; the app's stop),
drain (every shard's mailboxes, in-flight asks answered), leave (peers hear it at once; what they
had sent is still handled), stop-actors (children first; worker threads end), close (NATS drain).
Everything fits in shutdownTimeoutMs (TROUPE_SHUTDOWN_TIMEOUT_MS, default 10000); its last
shutdownForceMs (2000) belong to the forced path (stop actors, leave, close). Phase timeouts:
TROUPE_SHUTDOWN_INTAKE_MS (1000), _DRAIN_MS (4000), _LEAVE_MS (1000), _QUIET_MS (200: how long
no frame may arrive for leave to end), _ACTORS_MS (1000), _CLOSE_MS (1000). A second signal
exits at once.

Exit codes: 0 clean stop; 1 the top supervisor gave up; 2 usage or configuration error;
3 shutdown incomplete (a phase timed out, the deadline forced it, or a second signal);
4 the app failed to start (this includes an unreachable NATS server at start).

Example:
  troupe start --app examples/bank/node.ts --http 127.0.0.1:9464
`

/** Loads an app module and returns its AppDefinition (default export, or an export named `app`). */
/** The URL `import()` takes for an app module path (relative to the current directory). */
export function appModuleUrl(modulePath: string): string {
  return pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(process.cwd(), modulePath)).href
}

export async function loadApp(modulePath: string): Promise<AppDefinition> {
  const url = appModuleUrl(modulePath)
  const module = (await import(url)) as { default?: unknown; app?: unknown }
  const app = module.default ?? module.app
  if (!isAppDefinition(app)) {
    throw new ConfigError(`${modulePath} does not export an app: export default defineApp({ name, actors, start })`, {
      data: { problems: [`app: ${modulePath} has no defineApp() export`] },
    })
  }
  return app
}

/** Credential, TLS and secret flags (file paths and user names only: secret values never go on a command line). */
const SECURITY_FLAGS = {
  'nats-user': 'natsUser',
  'nats-nkey': 'natsNkeySeedFile',
  'nats-creds': 'natsCredsFile',
  'nats-tls-ca': 'natsTlsCaFile',
  'nats-tls-cert': 'natsTlsCertFile',
  'nats-tls-key': 'natsTlsKeyFile',
  'gateway-nats': 'gatewayNats',
  'gateway-nats-user': 'gatewayNatsUser',
  'gateway-nats-nkey': 'gatewayNatsNkeySeedFile',
  'gateway-nats-creds': 'gatewayNatsCredsFile',
  'gateway-nats-tls-ca': 'gatewayNatsTlsCaFile',
  'gateway-nats-tls-cert': 'gatewayNatsTlsCertFile',
  'gateway-nats-tls-key': 'gatewayNatsTlsKeyFile',
  'cluster-secret-file': 'clusterSecretFile',
} as const satisfies Record<string, keyof NodeConfig>

/** Parses `start` flags into a config layer. */
export function flagLayer(argv: readonly string[]): { layer: ConfigLayer; configFile: string | undefined; help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      app: { type: 'string' },
      config: { type: 'string' },
      name: { type: 'string' },
      cluster: { type: 'string' },
      nats: { type: 'string' },
      shards: { type: 'string' },
      http: { type: 'string' },
      'log-level': { type: 'string' },
      ...Object.fromEntries(Object.keys(SECURITY_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
  })
  const layer: ConfigLayer = {}
  if (values.app !== undefined) layer.app = values.app
  if (values.name !== undefined) layer.name = values.name
  if (values.cluster !== undefined) layer.cluster = values.cluster
  if (values.nats !== undefined) layer.nats = values.nats
  if (values.shards !== undefined) layer.shards = values.shards
  if (values.http !== undefined) layer.http = values.http
  if (values['log-level'] !== undefined) layer.logLevel = values['log-level']
  for (const [flag, key] of Object.entries(SECURITY_FLAGS)) {
    const value = (values as Record<string, unknown>)[flag]
    if (value !== undefined) layer[key] = value
  }
  return { layer, configFile: values.config, help: values.help === true }
}

export interface CliIo {
  readonly argv: readonly string[]
  readonly env: NodeJS.ProcessEnv
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Builds the NATS network when --nats is given. */
  readonly network?: NetworkFactory
}

/** Runs the CLI; resolves with the exit code (the caller exits with it). */
export async function runCli(io: CliIo): Promise<number> {
  const [command, ...rest] = io.argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.stdout(HELP)
    return command === undefined ? ExitCode.Usage : ExitCode.Ok
  }
  if (command !== 'start') {
    io.stderr(`troupe: unknown command '${command}'\n\n${HELP}`)
    return ExitCode.Usage
  }
  let config: NodeConfig
  try {
    const flags = flagLayer(rest)
    if (flags.help) {
      io.stdout(HELP)
      return ExitCode.Ok
    }
    const layers: ConfigLayer[] = []
    if (flags.configFile !== undefined) layers.push(fileLayer(flags.configFile))
    layers.push(envLayer(io.env), flags.layer)
    config = resolveConfig(layers)
  } catch (error) {
    io.stderr(`troupe: ${(error as Error).message}\n(see troupe start --help)\n`)
    return ExitCode.Usage
  }
  const logger = pino({ level: config.logLevel, base: { node: config.name, cluster: config.cluster } }) as unknown as Logger
  logger.info({ config: redactConfig(config) }, 'effective configuration')
  let app: AppDefinition
  try {
    app = await loadApp(config.app)
  } catch (error) {
    logger.error({ err: error }, 'cannot load the app module')
    // Not an app (or not found) is a usage error; a module that throws while loading failed to start.
    return error instanceof ConfigError || (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' ? ExitCode.Usage : ExitCode.StartFailed
  }
  // Signals are handled from here on, so one that arrives during boot stops the node once it is up.
  let node: TroupeNode | null = null
  let stopRequested = false
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting at once')
      process.exit(ExitCode.Forced)
    }
    logger.info({ signal }, 'signal received: stopping')
    stopRequested = true
    if (node !== null) void node.stop()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  try {
    const options = { config, app, appUrl: appModuleUrl(config.app), logger }
    node = await TroupeNode.start(io.network === undefined ? options : { ...options, network: io.network })
  } catch (error) {
    logger.error({ err: error }, 'the app failed to start')
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    return ExitCode.StartFailed
  }
  if (stopRequested) void node.stop()
  const outcome = await node.outcome
  process.off('SIGTERM', onSignal)
  process.off('SIGINT', onSignal)
  switch (outcome.kind) {
    case 'stopped':
      return ExitCode.Ok
    case 'failed':
      logger.error({ err: outcome.error }, 'node failed')
      return ExitCode.Failed
    case 'deadline':
      logger.error({ timeoutMs: config.shutdownTimeoutMs, incomplete: outcome.incomplete }, 'shutdown did not complete: phases timed out or were forced')
      return ExitCode.Forced
  }
}
