import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker, type TransferListItem } from 'node:worker_threads'

/**
 * Worker threads do not inherit a TypeScript loader: vitest transforms only its own thread, and on
 * Node 20 tsx registers its hooks on the main thread only, so neither `--import tsx` in the worker's
 * execArgv nor inheriting it loads a `.ts` worker entry ("Unknown file extension"). The worker
 * therefore starts from a tiny CommonJS bootstrap that registers tsx's ESM hooks (`tsx/esm`, resolved
 * here to an absolute URL) with `module.register` and then imports the real entry. Works the same
 * under vitest, `npx tsx` and plain node.
 */
const tsxHooks = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href

export function startWorker(file: URL, workerData?: unknown): Worker {
  const bootstrap = `require('node:module').register(${JSON.stringify(tsxHooks)}, { data: {} }); import(${JSON.stringify(file.href)})`
  return new Worker(bootstrap, { eval: true, workerData })
}

/** A worker that answers each request message with exactly one reply, in order. */
export class WorkerClient {
  readonly worker: Worker
  private readonly replies: Array<{ resolve: (value: unknown) => void; reject: (error: Error) => void }> = []
  private failure: Error | null = null

  constructor(file: URL) {
    this.worker = startWorker(file)
    this.worker.on('message', (message: unknown) => this.replies.shift()?.resolve(message))
    const fail = (error: Error) => {
      this.failure = error
      for (const reply of this.replies.splice(0)) reply.reject(error)
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`test worker exited with code ${code}`)))
  }

  /** Sends `message` and resolves with the worker's reply. */
  request<T>(message: unknown, transfer?: readonly TransferListItem[]): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure)
    return new Promise<T>((resolve, reject) => {
      this.replies.push({ resolve: resolve as (value: unknown) => void, reject })
      this.worker.postMessage(message, transfer)
    })
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit')
    await this.worker.terminate()
  }
}
