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
  /** Shutdown did not finish within its deadline, or a second signal forced the exit. */
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

Endpoints: GET /healthz (alive), /readyz (app started, NATS connected), /startupz, /metrics.

Signals: SIGTERM or SIGINT stops the node gracefully (stop intake, drain mailboxes, stop actors
children-first, drain NATS) within shutdownTimeoutMs (TROUPE_SHUTDOWN_TIMEOUT_MS, default 10000);
a second signal exits at once.

Exit codes: 0 clean stop; 1 the top supervisor gave up; 2 usage or configuration error;
3 forced (deadline or second signal); 4 the app failed to start (this includes an unreachable
NATS server at start).

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
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown deadline exceeded')
      return ExitCode.Forced
  }
}
