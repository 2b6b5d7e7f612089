import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { NodeConfig } from './Config.ts'

/** A start-up failure as an operator reads it: what went wrong, and what to do about it. */
export interface StartupProblem {
  readonly message: string
  readonly hint: string | null
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Why `loadApp(modulePath)` failed, with a hint; `cwd` is where relative paths start. */
export function describeAppLoadError(modulePath: string, error: unknown, cwd: string): StartupProblem {
  const absolute = isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath)
  const code = codeOf(error)
  if (code === 'ERR_MODULE_NOT_FOUND' && !existsSync(absolute)) {
    return {
      message: `cannot load the app module '${modulePath}': there is no file ${absolute}`,
      hint: `the path is relative to the current directory (${cwd}), or to the config file when "app" is set there. Try: troupe start --app examples/bank/node.ts`,
    }
  }
  if (code === 'ERR_MODULE_NOT_FOUND') {
    return {
      message: `cannot load the app module '${modulePath}': a module it imports is missing: ${messageOf(error)}`,
      hint: 'install the missing package (npm install), or fix the import path in the app module',
    }
  }
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION') {
    return {
      message: `cannot load the app module '${modulePath}': this Node.js cannot run ${absolute.slice(absolute.lastIndexOf('.'))} files directly`,
      hint: 'run TypeScript apps through tsx (node --import tsx …/troupe start …, or npm run troupe -- start …), use Node.js >= 22.18 (type stripping), or build the app to .js',
    }
  }
  if (code === 'ERR_CONFIG') return { message: messageOf(error), hint: 'an app module ends with: export default defineApp({ name, actors, start })' }
  return {
    message: `the app module '${modulePath}' threw while loading: ${messageOf(error)}`,
    hint: 'the error is in the app module or a module it imports (its stack is in the log at level error)',
  }
}

/** Why `TroupeNode.start` failed, with a hint where the cause is a common one. */
export function describeStartError(error: unknown, config: NodeConfig): StartupProblem {
  const code = codeOf(error)
  const message = messageOf(error)
  switch (code) {
    case 'EADDRINUSE':
      return { message: `the HTTP endpoint cannot listen on ${config.http}: the address is in use`, hint: `another process (or node) uses it: pick another with --http <host:port>, or disable the endpoint with --http ''` }
    case 'EACCES':
      return { message: `the HTTP endpoint cannot listen on ${config.http}: permission denied`, hint: 'ports below 1024 need privileges: use a port >= 1024' }
    case 'ECONNREFUSED':
    case 'CONNECTION_REFUSED':
      return { message: `cannot reach the NATS server at ${config.nats}: ${message}`, hint: 'is nats-server running there? Start one with `nats-server -p 4222`, or run standalone without --nats' }
    default:
      if (/connection refused|ECONNREFUSED/i.test(message)) {
        return { message: `cannot reach the NATS server at ${config.nats}: ${message}`, hint: 'is nats-server running there? Start one with `nats-server -p 4222`, or run standalone without --nats' }
      }
      return { message: `the app failed to start: ${message}`, hint: null }
  }
}

/** The text printed on stderr for a problem. */
export function formatProblem(problem: StartupProblem): string {
  return `troupe: ${problem.message}\n${problem.hint === null ? '' : `  hint: ${problem.hint}\n`}`
}
