/** Starts and drives Raft server processes (test/cluster/fixtures/raftNode.ts) for the multi-process tests and the benchmark. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

export type RaftLine = Record<string, unknown> & { readonly at: number; readonly id: string; readonly ev: string }

export interface RaftProcess {
  readonly id: string
  readonly child: ChildProcess
  readonly exited: Promise<number | string>
  /** Every JSON line the process printed, in order. */
  readonly lines: RaftLine[]
  output(): string
  /** Resolves with the first line (already printed or to come) that matches; rejects after `timeoutMs` or on exit. */
  waitFor(predicate: (line: RaftLine) => boolean, timeoutMs?: number): Promise<RaftLine>
  /** Sends one command and resolves with its reply. */
  request(op: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<RaftLine>
}

export interface RaftProcessOptions {
  readonly id: string
  readonly peers: readonly string[]
  readonly natsUrl: string
  readonly cluster: string
  readonly dir: string
  readonly quiet?: boolean
}

let rids = 0

export function startRaftProcess(options: RaftProcessOptions): RaftProcess {
  const args = ['--import', 'tsx', 'test/cluster/fixtures/raftNode.ts', '--id', options.id, '--peers', options.peers.join(','), '--nats', options.natsUrl, '--cluster', options.cluster, '--dir', options.dir]
  if (options.quiet === true) args.push('--quiet')
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let partial = ''
  const lines: RaftLine[] = []
  const listeners = new Set<() => void>()
  child.stdout.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString()
    const parts = text.split('\n')
    partial = parts.pop() ?? ''
    for (const part of parts) {
      if (!part.startsWith('{')) {
        out += `${part}\n`
        continue
      }
      try {
        lines.push(JSON.parse(part) as RaftLine)
      } catch {
        out += `${part}\n`
      }
    }
    for (const listener of [...listeners]) listener()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const waitFor = (predicate: (line: RaftLine) => boolean, timeoutMs = 20_000): Promise<RaftLine> =>
    new Promise((resolve, reject) => {
      let from = 0
      const check = (): boolean => {
        for (; from < lines.length; from++) {
          const line = lines[from] as RaftLine
          if (predicate(line)) {
            done()
            resolve(line)
            return true
          }
        }
        return false
      }
      const done = (): void => {
        listeners.delete(check)
        clearTimeout(timer)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${options.id}: no matching line within ${timeoutMs} ms; last lines: ${JSON.stringify(lines.slice(-5))}; stderr:\n${out.slice(-4000)}`))
      }, timeoutMs)
      listeners.add(check)
      void exited.then(() => {
        if (!check()) {
          done()
          reject(new Error(`${options.id} exited before the line appeared; stderr:\n${out.slice(-4000)}`))
        }
      })
      check()
    })
  return {
    id: options.id,
    child,
    exited,
    lines,
    output: () => out,
    waitFor,
    request(op, extra = {}, timeoutMs = 20_000) {
      const rid = ++rids
      const reply = waitFor((l) => l.ev === 'reply' && l['rid'] === rid, timeoutMs)
      child.stdin?.write(`${JSON.stringify({ rid, op, ...extra })}\n`)
      return reply
    },
  }
}

/** Polls `probe` until `accept` passes or the deadline; real processes, so no virtual time here. */
export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown = null
  for (;;) {
    try {
      const value = await probe()
      if (accept(value)) return value
      last = value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`${label} not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
