import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface NodeProcess {
  readonly child: ChildProcess
  readonly output: () => string
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>
  /** Waits until a JSON log line matches. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
}

/** Starts `troupe <args>` as a real process from the sources (tsx loader). */
export function startNodeProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): NodeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cluster/node/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer): void => {
    out += chunk.toString()
    for (const listener of listeners) listener()
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const lines = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>
        } catch {
          return {}
        }
      })
  return {
    child,
    output: () => out,
    exited,
    waitForLog(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = lines().find(predicate)
          if (found === undefined) return false
          listeners.delete(check)
          clearTimeout(timer)
          resolve(found)
          return true
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${out}`))
        }, timeoutMs)
        listeners.add(check)
        void exited.then(() => {
          if (!check()) {
            listeners.delete(check)
            clearTimeout(timer)
            reject(new Error(`process exited before the log line appeared; output:\n${out}`))
          }
        })
        check()
      })
    },
  }
}
