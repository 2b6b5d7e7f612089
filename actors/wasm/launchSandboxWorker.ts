import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker, type ResourceLimits } from 'node:worker_threads'
import { WasmBadOptionsError } from './errors.ts'

const TYPESCRIPT = /\.[cm]?tsx?$/

/** `SandboxWorker.ts` from sources, `SandboxWorker.js` from dist/ (the build does not rewrite `new URL`). */
export function sandboxWorkerEntry(): URL {
  return new URL(TYPESCRIPT.test(import.meta.url) ? './SandboxWorker.ts' : './SandboxWorker.js', import.meta.url)
}

let cachedLoader: string | null | undefined

/**
 * Worker threads inherit no TypeScript loader (tsx and vitest hook the main thread only), so from
 * sources the worker starts from a bootstrap that registers tsx's ESM hooks first — the approach of
 * transport/shards. From dist/ no loader is needed.
 */
export function sandboxLoader(entry: URL): string | null {
  if (!TYPESCRIPT.test(entry.pathname)) return null
  if (cachedLoader !== undefined) return cachedLoader
  for (const base of [pathToFileURL(join(process.cwd(), 'noop.js')).href, import.meta.url]) {
    try {
      cachedLoader = pathToFileURL(createRequire(base).resolve('tsx/esm')).href
      return cachedLoader
    } catch {
      // try the next place
    }
  }
  throw new WasmBadOptionsError('the sandbox runs from TypeScript sources here and needs tsx to start its worker: install tsx or run from dist/')
}

export function launchSandboxWorker(resourceLimits: ResourceLimits | undefined): Worker {
  const entry = sandboxWorkerEntry()
  const loader = sandboxLoader(entry)
  // No env, argv or stdio of the host reach the worker: an empty env, and stdout/stderr piped (unread).
  const base = { env: {}, argv: [], stdout: true, stderr: true, ...(resourceLimits === undefined ? {} : { resourceLimits }) }
  const bootstrap = `require('node:module').register(${JSON.stringify(loader)}, { data: {} }); import(${JSON.stringify(entry.href)})`
  const worker = loader === null ? new Worker(entry, base) : new Worker(bootstrap, { ...base, eval: true })
  // Discarded, not buffered: nothing in the worker should print, and nothing it prints reaches the host's stdio.
  worker.stdout.resume()
  worker.stderr.resume()
  return worker
}
