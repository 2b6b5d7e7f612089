import { inject } from 'vitest'
import { TroupeClient } from '../../client/index.ts'
import type { ControlProtocol, SenderReport } from './fixtures/faultsApp.ts'
import { startNodeProcess, type NodeProcess } from './support.ts'

/** Polls an async probe until it passes (real processes: no virtual time here). */
export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
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
    if (Date.now() > deadline) throw new Error(`not accepted within ${timeoutMs} ms: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0)
}

/** Every JSON log line of a node process so far. */
export function logLines(node: NodeProcess): Record<string, unknown>[] {
  return node
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return []
      }
    })
}

/** A cluster of `troupe start` processes running the faults app, and a client to drive them. */
export class FaultsCluster {
  readonly natsUrl = inject('natsUrl')
  readonly cluster = `f${process.pid}${Date.now() % 1_000_000}`
  readonly nodes: NodeProcess[] = []
  private client: TroupeClient | null = null

  start(name: string, flags: readonly string[] = [], env: NodeJS.ProcessEnv = {}): NodeProcess {
    const node = startNodeProcess(
      ['start', '--app', 'test/cluster/fixtures/faultsApp.ts', '--name', name, '--cluster', this.cluster, '--nats', this.natsUrl, '--http', '', ...flags],
      { TROUPE_HEARTBEAT_MS: '500', TROUPE_DOWN_AFTER_MS: '10000', ...env },
    )
    this.nodes.push(node)
    return node
  }

  /** The node's Control actor, once its published name answers. */
  async control(name: string): Promise<{ ask: TroupeControl }> {
    this.client ??= await TroupeClient.connect({ servers: this.natsUrl, cluster: this.cluster })
    const actor = this.client.actor<ControlProtocol>(`faults.${name}`)
    await eventually(() => actor.ask('rss'), (rss) => typeof rss === 'number')
    return { ask: ((method: string, ...args: unknown[]) => (actor.ask as (m: string, ...a: unknown[]) => Promise<unknown>)(method, ...args)) as TroupeControl }
  }

  async close(): Promise<void> {
    await this.client?.close()
    for (const node of this.nodes) node.child.kill('SIGKILL')
  }
}

/** Typed asks to Control through the client. */
export type TroupeControl = <K extends keyof ControlProtocol>(method: K, ...args: Parameters<ControlProtocol[K]>) => Promise<Awaited<ReturnType<ControlProtocol[K]>>>

/** Stops the sender and waits until every ask it made has settled; returns its counts. */
export async function finalReport(control: { ask: TroupeControl }, shard: number): Promise<SenderReport> {
  await control.ask('stopSender', shard)
  let previous = ''
  return eventually(
    () => control.ask('senderReport', shard),
    (report) => {
      // Settled, and stable over two polls (dead letters from a last flush included).
      const text = JSON.stringify(report)
      const stable = text === previous
      previous = text
      return stable && report.asksOk + sum(report.askErrors) === report.asksMade
    },
    40_000,
  )
}
