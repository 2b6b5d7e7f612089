import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker, type ResourceLimits } from 'node:worker_threads'
import { ShardLoaderError } from './errors.ts'

const TYPESCRIPT = /\.[cm]?tsx?$/

/**
 * The worker entry next to this module: `ShardWorker.ts` when running from sources, `ShardWorker.js`
 * from `dist/` (a `new URL` literal is not rewritten by the build, so the extension follows ours).
 */
export function shardWorkerEntry(): URL {
  return new URL(TYPESCRIPT.test(import.meta.url) ? './ShardWorker.ts' : './ShardWorker.js', import.meta.url)
}

/**
 * The module loader a worker needs, as a URL for `module.register`, or null when none is needed.
 * Worker threads do not inherit a TypeScript loader: on Node 20 tsx registers its hooks on the main
 * thread only, and a test runner's transform never reaches other threads. So when the worker entry
 * (sources) or the app module is TypeScript, the worker starts from a tiny CommonJS bootstrap that
 * registers tsx's ESM hooks, then imports the entry. From `dist/` with a JavaScript app, none is needed.
 */
export function resolveLoader(entry: URL, appUrl: string, loader: string | URL | null | undefined): string | null {
  if (loader === null) return null
  if (loader !== undefined) return loader instanceof URL ? loader.href : loader
  const appPath = appUrl.startsWith('file:') ? new URL(appUrl).pathname : appUrl
  if (!TYPESCRIPT.test(entry.pathname) && !TYPESCRIPT.test(appPath)) return null
  // Prefer the tsx the app resolves (its project), then the one next to the current directory, then ours.
  const bases = [appUrl.startsWith('file:') ? appUrl : null, pathToFileURL(join(process.cwd(), 'noop.js')).href, import.meta.url]
  for (const base of bases) {
    if (base === null) continue
    try {
      return pathToFileURL(createRequire(base).resolve('tsx/esm')).href
    } catch {
      // try the next place
    }
  }
  throw new ShardLoaderError(
    'shard workers run TypeScript here (the app module or troupe from sources) and need tsx to load it: install tsx, pass `loader`, or run from dist/ with a JavaScript app',
  )
}

export interface LaunchOptions {
  readonly entry: URL
  readonly loader: string | null
  readonly workerData: unknown
  readonly resourceLimits?: ResourceLimits
}

export function launchShardWorker(options: LaunchOptions): Worker {
  const base = options.resourceLimits === undefined ? { workerData: options.workerData } : { workerData: options.workerData, resourceLimits: options.resourceLimits }
  if (options.loader === null) return new Worker(options.entry, base)
  const bootstrap = `require('node:module').register(${JSON.stringify(options.loader)}, { data: {} }); import(${JSON.stringify(options.entry.href)})`
  return new Worker(bootstrap, { ...base, eval: true })
}
