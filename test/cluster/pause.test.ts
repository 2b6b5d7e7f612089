import { afterAll, describe, expect, inject, it } from 'vitest'
import { TroupeClient } from '../../client/index.ts'
import type { FloodOutcomes, ProbeProtocol } from './fixtures/probeApp.ts'
import { startNodeProcess, type NodeProcess } from './support.ts'

const processes: NodeProcess[] = []
afterAll(() => {
  for (const node of processes) {
    node.child.kill('SIGCONT')
    node.child.kill('SIGKILL')
  }
})

/** Polls an async probe until it passes (real processes: no virtual time here). */
async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch((error: unknown) => error as T)
    if (accept(value)) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function startNode(name: string, cluster: string, natsUrl: string): NodeProcess {
  const node = startNodeProcess(['start', '--app', 'test/cluster/fixtures/probeApp.ts', '--name', name, '--cluster', cluster, '--nats', natsUrl, '--http', ''], {
    TROUPE_HEARTBEAT_MS: '200',
    TROUPE_DOWN_AFTER_MS: '1500',
  })
  processes.push(node)
  return node
}

const count = (outcomes: FloodOutcomes, key: string): number => outcomes.byOutcome[key]?.length ?? 0
const settledCount = (outcomes: FloodOutcomes): number => Object.values(outcomes.byOutcome).reduce((sum, ids) => sum + ids.length, 0)

describe('a node paused 5 s (SIGSTOP) under load, then resumed (SIGCONT)', () => {
  it('is quarantined by the healthy node, declares nobody down itself, nothing failed with ERR_NODE_DOWN was processed, and it rejoins only as a new run', async () => {
    const natsUrl = inject('natsUrl')
    const cluster = `p${process.pid}${Date.now() % 100000}`
    const healthy = startNode('n1', cluster, natsUrl)
    let paused = startNode('n2', cluster, natsUrl)
    await Promise.all([healthy, paused].map((n) => n.waitForLog((l) => l['msg'] === 'node started', 30_000)))

    const client = await TroupeClient.connect({ servers: natsUrl, cluster })
    try {
      const probe1 = client.actor<ProbeProtocol>('probe.n1')
      const probe2 = client.actor<ProbeProtocol>('probe.n2')
      const address1 = await eventually(() => probe1.ask('address'), (a) => typeof a === 'object' && a !== null && 'path' in a, 'probe.n1 answers')
      const address2 = await eventually(() => probe2.ask('address'), (a) => typeof a === 'object' && a !== null && 'path' in a, 'probe.n2 answers')
      await eventually(() => probe1.ask('whereIs', address2), (w) => w === 'n2:0', 'n1 reaches n2')
      await eventually(() => probe2.ask('whereIs', address1), (w) => w === 'n1:0', 'n2 reaches n1')

      // Both ask each other's ledger, 10 asks every 10 ms, for about 15 s (timers stretch under load).
      const ticks = 1500
      await probe1.ask('flood', address2, 10, ticks, 10_000)
      await probe2.ask('flood', address1, 10, ticks, 10_000)
      await eventually(() => probe1.ask('outcomes'), (o) => count(o, 'ok') > 500, 'traffic flows n1 → n2')
      await eventually(() => probe2.ask('outcomes'), (o) => count(o, 'ok') > 500, 'traffic flows n2 → n1')

      paused.child.kill('SIGSTOP')
      const stoppedAt = Date.now()
      await healthy.waitForLog((l) => l['msg'] === 'peer node down' && l['peer'] === 'n2', 20_000)
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + 5000 - Date.now()))) // the scenario: a 5 s pause
      paused.child.kill('SIGCONT')

      // Resumed, it learns that it was quarantined: its sends now fail with ERR_QUARANTINED.
      await eventually(() => probe2.ask('askPeer', address1, 2000), (code) => code === 'ERR_QUARANTINED', 'n2 knows it is quarantined')
      // n1 never takes it back: its asks to that run keep failing with node-down.
      expect(await probe1.ask('askPeer', address2, 2000)).toBe('ERR_NODE_DOWN')

      // Every ask of both floods settles exactly once.
      const out1 = await eventually(() => probe1.ask('outcomes'), (o) => o.sent === ticks * 10 && settledCount(o) === o.sent, 'n1 flood settled', 40_000)
      const out2 = await eventually(() => probe2.ask('outcomes'), (o) => o.sent === ticks * 10 && settledCount(o) === o.sent, 'n2 flood settled', 40_000)
      expect(out1.settledTwice).toEqual([])
      expect(out2.settledTwice).toEqual([])
      const ledger1 = await probe1.ask('ledger')
      const ledger2 = await probe2.ask('ledger')
      const processedAt2 = new Set(ledger2.filter((e) => e.startsWith('n1:')).map((e) => Number(e.slice(3))))
      const processedAt1 = new Set(ledger1.filter((e) => e.startsWith('n2:')).map((e) => Number(e.slice(3))))
      // Nothing processed twice within one run.
      expect(processedAt2.size).toBe(ledger2.length)
      expect(processedAt1.size).toBe(ledger1.length)

      const summary = (o: FloodOutcomes): string => Object.entries(o.byOutcome).map(([k, ids]) => `${k} ${ids.length}`).join(', ')
      console.log(`n1 → n2: ${summary(out1)}; n2 processed ${processedAt2.size}. n2 → n1: ${summary(out2)}; n1 processed ${processedAt1.size}`)
      // The healthy node: asks in flight when it gave up failed with ERR_NODE_DOWN (and later ones at
      // the call); the paused node processed NONE of them after it resumed.
      const nodeDown1 = out1.byOutcome['ERR_NODE_DOWN'] ?? []
      expect(nodeDown1.length).toBeGreaterThan(0)
      expect(nodeDown1.filter((id) => processedAt2.has(id))).toEqual([])
      // Acknowledged means processed.
      for (const id of out1.byOutcome['ok'] ?? []) expect(processedAt2.has(id)).toBe(true)

      // The paused node declared nobody down: none of its asks failed with ERR_NODE_DOWN; the ones
      // in flight or sent after it learned of its quarantine failed with ERR_QUARANTINED (outcome unknown).
      expect(count(out2, 'ERR_NODE_DOWN')).toBe(0)
      expect(count(out2, 'ERR_QUARANTINED')).toBeGreaterThan(0)
      for (const id of out2.byOutcome['ok'] ?? []) expect(processedAt1.has(id)).toBe(true)
      const unexpected = Object.keys(out1.byOutcome).filter((k) => k !== 'ok' && k !== 'ERR_NODE_DOWN')
      expect(unexpected).toEqual([])

      // Only a restart (a new incarnation) rejoins.
      paused.child.kill('SIGKILL')
      await paused.exited
      paused = startNode('n2', cluster, natsUrl)
      await paused.waitForLog((l) => l['msg'] === 'node started', 30_000)
      const fresh = await eventually(() => probe2.ask('address'), (a) => typeof a === 'object' && a !== null && 'path' in a, 'the new n2 answers')
      await eventually(() => probe1.ask('whereIs', fresh), (w) => w === 'n2:0', 'n1 reaches the new n2')
      await eventually(() => probe2.ask('whereIs', address1), (w) => w === 'n1:0', 'the new n2 reaches n1')
    } finally {
      await client.close()
    }
  }, 120_000)
})
