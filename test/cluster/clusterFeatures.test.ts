import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { TroupeClient, type RemoteActor } from '../../client/index.ts'
import { startNodeProcess, type NodeProcess } from './support.ts'
import { eventually, lines, troupeCluster, type View } from './clusterSupport.ts'
import type { ControlProtocol, FlowOutcome, Processed } from './fixtures/featuresApp.ts'

const processes: NodeProcess[] = []
const dataDir = mkdtempSync(join(tmpdir(), 'troupe-features-'))
let client: TroupeClient | null = null
afterAll(async () => {
  await client?.close()
  for (const p of processes) p.child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

type Singletons = View & { singletonsHere: { name: string; running: boolean; token: { term: number; version: number } | null; starts: number }[] }
const later = (a: { term: number; version: number }, b: { term: number; version: number }): boolean => a.term > b.term || (a.term === b.term && a.version > b.version)

describe('cluster features between three real node processes over NATS', () => {
  it('receptionist, pub-sub and the app’s singleton across nodes; kill -9 of the oldest member: its entries go, the singleton moves with a higher fencing token, the proxy delivers across the hand-over', async () => {
    const natsUrl = inject('natsUrl')
    const cluster = `cf${process.pid}${Date.now() % 100000}`
    const env = { TROUPE_HEARTBEAT_MS: '100', TROUPE_DOWN_AFTER_MS: '1000', TROUPE_RAFT_HEARTBEAT_MS: '50', TROUPE_RAFT_ELECTION_MS: '300', TROUPE_DATA_DIR: dataDir }
    const start = async (name: string, extra: string[]): Promise<{ p: NodeProcess; url: string }> => {
      const p = startNodeProcess(['start', '--app', 'test/cluster/fixtures/featuresApp.ts', '--name', name, '--cluster', cluster, '--nats', natsUrl, '--http', '127.0.0.1:0', '--cluster-state', 'raft', ...extra], env)
      processes.push(p)
      const started = await p.waitForLog((l) => l['msg'] === 'node started', 120_000)
      await p.waitForLog((l) => l['msg'] === 'echo registered', 60_000)
      return { p, url: `http://127.0.0.1:${String(started['http'])}` }
    }
    // n1 bootstraps and is the oldest member: the singleton `counter` (no role) runs there.
    const n1 = await start('n1', [])
    const n2 = await start('n2', ['--seed', 'n1'])
    const n3 = await start('n3', ['--seed', 'n1', '--seed', 'n2'])
    client = await TroupeClient.connect({ servers: natsUrl, cluster })
    const control = (node: string): RemoteActor<ControlProtocol> => (client as TroupeClient).actor<ControlProtocol>(`features.${node}`)
    const [c1, c2, c3] = [control('n1'), control('n2'), control('n3')]

    // Receptionist: every node's Echo is found by a linearizable lookup and by the subscription on the others.
    for (const c of [c2, c3]) {
      await eventually(() => c.ask('lookup'), (nodes) => JSON.stringify(nodes) === '["n1","n2","n3"]', 'lookup lists the three echoes')
      await eventually(() => c.ask('listing'), (nodes) => JSON.stringify(nodes) === '["n1","n2","n3"]', 'subscription lists the three echoes')
    }

    // Pub-sub: once the topic lists the three mediators, 20 headlines from n2 reach each listener once.
    await eventually(() => c2.ask('publish', 0, 0), () => true, 'publish answers')
    await eventually(() => c2.ask('publish', 1, 1), (members) => members === 3, 'the topic lists three members', 30_000)
    await c2.ask('publish', 2, 19)
    for (const c of [c1, c2, c3]) {
      const got = await eventually(() => c.ask('received'), (ids) => Array.isArray(ids) && ids.filter((id) => id >= 2 && id <= 20).length >= 19, 'every headline delivered')
      expect(new Set(got).size, `duplicates in ${JSON.stringify(got)}`).toBe(got.length)
    }

    // The singleton runs on n1; n3 reaches it through its proxy; `troupe cluster status` shows where and with which token.
    const first = await eventually(() => c3.ask('callSingleton', 0), (p: Processed) => p?.node === 'n1', 'the singleton answers from n1')
    const before = (await troupeCluster(n1.url, 'status')).out as Singletons
    expect(before.singletons.find((s) => s.name === 'counter')?.node).toBe('n1')
    expect(before.singletonsHere.find((s) => s.name === 'counter')?.running).toBe(true)

    // A flow of asks through n3's proxy, with kill -9 of n1 (singleton holder, Raft leader) in the middle.
    await c3.ask('flow', 400, 50, 1000)
    await eventually(() => c3.ask('outcomes'), (o: FlowOutcome[]) => Array.isArray(o) && o.filter((x) => x.outcome === 'ok').length >= 10, 'the flow runs')
    const killedAt = Date.now()
    n1.p.child.kill('SIGKILL')
    expect(await n1.p.exited).toBe('SIGKILL')

    // The registry drops n1's echo (its node was downed) on both survivors, for lookups and subscriptions.
    for (const c of [c2, c3]) {
      await eventually(() => c.ask('listing'), (nodes) => JSON.stringify(nodes) === '["n2","n3"]', 'subscription without n1', 60_000)
      await eventually(() => c.ask('lookup'), (nodes) => JSON.stringify(nodes) === '["n2","n3"]', 'lookup without n1', 60_000)
    }

    // Every ask of the flow settles once: processed (on n1 before the kill, on n2 after it) or a typed error.
    const outcomes = await eventually(() => c3.ask('outcomes'), (o: FlowOutcome[]) => Array.isArray(o) && o.length === 400 && o.every((x) => x.outcome !== 'pending'), 'the flow settles', 90_000)
    const unexpected = outcomes.filter((o) => o.outcome !== 'ok' && o.outcome !== 'ERR_SINGLETON_UNAVAILABLE')
    expect(unexpected, JSON.stringify(unexpected)).toEqual([])
    const onN2 = outcomes.filter((o) => o.processed?.node === 'n2')
    const onN1 = outcomes.filter((o) => o.processed?.node === 'n1')
    expect(onN1.length + onN2.length).toBe(outcomes.filter((o) => o.outcome === 'ok').length)
    expect(onN2.length).toBeGreaterThan(0)
    const moved = onN2[0]?.processed as Processed
    // The fencing token of the new instance is later than the old one's (Raft term first, then placement version).
    expect(later(moved.fencing, first.fencing), `${JSON.stringify(moved.fencing)} after ${JSON.stringify(first.fencing)}`).toBe(true)
    // Across the hand-over: an ask sent after the kill and before the new instance started was either
    // held and delivered to it, or answered ERR_SINGLETON_UNAVAILABLE (it went to the dead holder before
    // the proxy learned of the down). Which of the two depends on how long the window lasts on this
    // machine (CI once had none held), so both count; buffering itself is proven in the simulator.
    const acrossHandOver = outcomes.filter((o) => o.sentAt > killedAt && o.sentAt < moved.startedAt)
    for (const o of acrossHandOver) expect(o.processed?.node === 'n2' || o.outcome === 'ERR_SINGLETON_UNAVAILABLE', JSON.stringify(o)).toBe(true)
    // At most once: n2's instance processed each id once, every ask answered from n2 among them, nothing it was not sent.
    const ids = await eventually(() => c2.ask('singletonIds'), (x) => Array.isArray(x), 'the ids n2 processed')
    expect(new Set(ids).size, `duplicates in ${JSON.stringify(ids)}`).toBe(ids.length)
    for (const o of onN2) expect(ids).toContain(o.id)
    const given = new Set(outcomes.filter((o) => o.outcome === 'ok' ? o.processed?.node === 'n2' : true).map((o) => o.id))
    expect(ids.filter((id) => !given.has(id))).toEqual([])

    // Pub-sub after the kill: headlines from n3 reach n2 and n3 once; n1's mediator left the topic.
    await eventually(() => c3.ask('publish', 100, 1), (members) => members === 2, 'the topic lists two members', 30_000)
    await c3.ask('publish', 101, 19)
    for (const c of [c2, c3]) {
      const got = await eventually(() => c.ask('received'), (ids) => Array.isArray(ids) && ids.filter((id) => id >= 101 && id <= 119).length === 19, 'headlines after the kill')
      expect(new Set(got).size, `duplicates in ${JSON.stringify(got)}`).toBe(got.length)
    }

    // `troupe cluster status` on a survivor: n1 out, the singleton on n2 with the later token, running there.
    const after = await eventually(
      () => troupeCluster(n2.url, 'status').then((r) => r.out as Singletons),
      (v) => v.singletons?.find((s) => s.name === 'counter')?.node === 'n2' && v.singletonsHere?.some((s) => s.name === 'counter' && s.running),
      'status shows the singleton running on n2',
    )
    const here = after.singletonsHere.find((s) => s.name === 'counter')
    expect(here?.token).toEqual(moved.fencing)
    expect(after.members.filter((m) => m.status === 'up').map((m) => m.node).sort()).toEqual(['n2', 'n3'])
    const text = await troupeClusterText(n2.url)
    expect(text).toContain('singleton counter: n2#1')
    expect(text).toContain('singleton counter runs here')
    for (const { p } of [n2, n3]) expect(lines(p, 'cluster singleton declared').map((l) => l['singleton'])).toEqual(['counter'])

    for (const { p } of [n3, n2]) {
      p.child.kill('SIGTERM')
      const code = await p.exited
      expect(code, code === 0 ? '' : p.output().slice(-3000)).toBe(0)
    }
  }, 400_000)
})

async function troupeClusterText(url: string): Promise<string> {
  const { runCli } = await import('../../cluster/node/index.ts')
  let out = ''
  await runCli({ argv: ['cluster', 'status', '--url', url], env: {}, tty: true, stdout: (t) => (out += t), stderr: () => {} })
  return out
}
