/** Helpers of the real-process cluster-state tests (Raft and JetStream backends): polling, the CLI, log lines. */
import { runCli } from '../../cluster/node/index.ts'
import type { NodeProcess } from './support.ts'

export interface MemberView {
  node: string
  incarnation: number
  status: string
  voter: boolean
}
export interface View {
  leader: { node: string } | null
  members: MemberView[]
  singletons: { name: string; node: string | null; incarnation: number; version: number }[]
  /** null for the JetStream backend (it does not list its keys). */
  registryKeys: number | null
  /** The Raft group's state; null on the JetStream backend. */
  raft: unknown
}

/** Polls until `accept` holds (real processes: no virtual time), with a deadline. */
export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    last = await probe().catch((error: unknown) => error)
    if (accept(last as T)) return last as T
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** `troupe cluster <args> --json` against a node, in this process; returns the exit code and parsed stdout. */
export async function troupeCluster(url: string, ...args: string[]): Promise<{ code: number; out: unknown; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli({ argv: ['cluster', ...args, '--url', url, '--json'], env: {}, stdout: (t) => (out += t), stderr: (t) => (err += t) })
  return { code, out: out === '' ? null : (JSON.parse(out) as unknown), err }
}

export function lines(p: NodeProcess, msg: string): Record<string, unknown>[] {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l['msg'] === msg)
}
