#!/usr/bin/env node
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { SystemClock, type Clock } from '../../runtime/index.ts'
import { troupeVersion } from './version.ts'
import { isAppDefinition, type AppDefinition } from './App.ts'
import { flagLayer } from './args.ts'
import { ConfigError, envLayer, fileLayer, redactConfig, resolveConfig, unknownEnvVariables, type ConfigLayer, type NodeConfig } from './Config.ts'
import { HELP } from './help.ts'
import { createNodeLogger } from './logging.ts'
import { TroupeNode, type NetworkFactory } from './Node.ts'
import { describeAppLoadError, describeStartError, formatProblem } from './startupErrors.ts'
import { didYouMean } from './suggest.ts'
import { INSPECT_COMMANDS, isInspectError, runInspect, type InspectCommand } from './inspect.ts'
import { ClusterCliErrorCodes, isClusterCliError, runClusterCli } from './clusterCli.ts'

export { flagLayer } from './args.ts'

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
  /** The cluster downed this node (quarantined): restart it to rejoin as a new incarnation. */
  Quarantined: 5,
} as const


/** The URL `import()` takes for an app module path (relative to the current directory). */
export function appModuleUrl(modulePath: string, cwd = process.cwd()): string {
  return pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath)).href
}

/** Loads an app module and returns its AppDefinition (default export, or an export named `app`). */
export async function loadApp(modulePath: string, cwd = process.cwd()): Promise<AppDefinition> {
  const url = appModuleUrl(modulePath, cwd)
  const module = (await import(url)) as { default?: unknown; app?: unknown }
  const app = module.default ?? module.app
  if (!isAppDefinition(app)) {
    throw new ConfigError(`${modulePath} does not export an app: export default defineApp({ name, actors, start })`, {
      data: { problems: [`app: ${modulePath} has no defineApp() export`] },
    })
  }
  return app
}

export interface CliIo {
  readonly argv: readonly string[]
  readonly env: NodeJS.ProcessEnv
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Builds the NATS network when --nats is given. */
  readonly network?: NetworkFactory
  /** stdout is a terminal: logs print pretty instead of JSON lines. Default false. */
  readonly tty?: boolean
  /** The inspect commands' HTTP client. Default the global fetch. */
  readonly fetch?: typeof fetch
  /** Where relative app paths start. Default process.cwd(). */
  readonly cwd?: string
  /** Times signals (a repeat within SIGNAL_ECHO_MS is the same Ctrl-C). Default the system clock. */
  readonly clock?: Clock
}

/**
 * Ctrl-C under `npm start` reaches the node twice: the terminal signals the whole foreground process
 * group, and npm forwards the SIGINT it got to its child as well. A repeat this soon after the first
 * is that echo, not an operator insisting, so it must not force an exit.
 */
export const SIGNAL_ECHO_MS = 1000

export { troupeVersion } from './version.ts'

const COMMANDS = ['start', 'help', 'version', 'cluster', ...INSPECT_COMMANDS]

/** Runs the CLI; resolves with the exit code (the caller exits with it). */
export async function runCli(io: CliIo): Promise<number> {
  const [command, ...rest] = io.argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.stdout(HELP)
    return command === undefined ? ExitCode.Usage : ExitCode.Ok
  }
  if (command === 'version' || command === '--version' || command === '-v') {
    io.stdout(`troupe ${troupeVersion()} (Node.js ${process.version})\n`)
    return ExitCode.Ok
  }
  if ((INSPECT_COMMANDS as readonly string[]).includes(command)) {
    try {
      await runInspect(command as InspectCommand, rest, { stdout: io.stdout, tty: io.tty === true, env: io.env, ...(io.fetch === undefined ? {} : { fetch: io.fetch }) })
      return ExitCode.Ok
    } catch (error) {
      if (!isInspectError(error)) throw error
      io.stderr(`troupe ${command}: ${error.message} [${error.code}]\n`)
      return error.code === 'ERR_INSPECT_USAGE' ? ExitCode.Usage : ExitCode.Failed
    }
  }
  if (command === 'cluster') {
    try {
      await runClusterCli(rest, { stdout: io.stdout, tty: io.tty === true, ...(io.fetch === undefined ? {} : { fetch: io.fetch }) })
      return ExitCode.Ok
    } catch (error) {
      if (!isClusterCliError(error)) throw error
      io.stderr(`troupe cluster: ${error.message} [${error.code}]\n`)
      return error.code === ClusterCliErrorCodes.Usage ? ExitCode.Usage : ExitCode.Failed
    }
  }
  if (command !== 'start') {
    const name = command.replace(/^-+/, '')
    const what = command.startsWith('-') ? 'option' : 'command'
    io.stderr(`troupe: unknown ${what} '${command}'${didYouMean(name, COMMANDS, (c) => (command.startsWith('-') ? `--${c}` : c))}\n(see troupe help)\n`)
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
  const logger = createNodeLogger(config, { write: io.stdout, tty: io.tty === true })
  for (const warning of unknownEnvVariables(io.env)) logger.warn({}, warning)
  logger.info({ config: redactConfig(config) }, 'effective configuration')
  let app: AppDefinition
  try {
    app = await loadApp(config.app, io.cwd)
  } catch (error) {
    const problem = describeAppLoadError(config.app, error, io.cwd ?? process.cwd())
    // The stack goes to the log for whoever debugs the app; the operator reads the problem and its hint.
    logger.debug({ err: error }, 'cannot load the app module')
    io.stderr(formatProblem(problem))
    // Not an app (or not found) is a usage error; a module that throws while loading failed to start.
    const code = (error as { code?: string }).code
    return error instanceof ConfigError || code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNKNOWN_FILE_EXTENSION' ? ExitCode.Usage : ExitCode.StartFailed
  }
  // Signals are handled from here on, so one that arrives during boot stops the node once it is up.
  let node: TroupeNode | null = null
  let stopRequested = false
  let signals = 0
  let firstSignalAt = 0
  const clock = io.clock ?? new SystemClock()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signals > 0 && clock.now() - firstSignalAt < SIGNAL_ECHO_MS) {
      logger.debug({ signal }, 'repeated signal ignored (the same Ctrl-C, forwarded by npm)')
      return
    }
    if (signals++ === 0) firstSignalAt = clock.now()
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
    const options = { config, app, appUrl: appModuleUrl(config.app, io.cwd), logger }
    node = await TroupeNode.start(io.network === undefined ? options : { ...options, network: io.network })
  } catch (error) {
    logger.error({ err: error }, 'the app failed to start')
    io.stderr(formatProblem(describeStartError(error, config)))
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
      if ((outcome.error as { code?: string }).code === 'ERR_CLUSTER_QUARANTINED') {
        io.stderr(`troupe: ${outcome.error.message} [ERR_CLUSTER_QUARANTINED]\n`)
        return ExitCode.Quarantined
      }
      logger.error({ err: outcome.error }, 'node failed')
      return ExitCode.Failed
    case 'deadline':
      logger.error({ timeoutMs: config.shutdownTimeoutMs, incomplete: outcome.incomplete }, 'shutdown did not complete: phases timed out or were forced')
      return ExitCode.Forced
  }
}
