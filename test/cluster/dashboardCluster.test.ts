import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { runCli } from '../../cluster/node/index.ts'
import { parseExposition } from '../../cluster/node/inspect.ts'
import { CHROMIUM_ARGS, chromiumPath } from '../support/chromium.ts'
import { eventually } from './clusterSupport.ts'
import { ROOT, startNodeProcess, type NodeProcess } from './support.ts'

// Three real nodes on --cluster-state raft with a cluster secret; n3 serves no HTTP at all, so only NATS reaches it.
const processes: NodeProcess[] = []
const dataDir = mkdtempSync(join(tmpdir(), 'troupe-dash-cluster-'))
const cluster = `dc${process.pid}${Date.now() % 100000}`
const secret = `k${Date.now().toString(36)}-dashboard-cluster-secret`
afterAll(() => {
  for (const p of processes) p.child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

/** `troupe <argv>` in this process; stdout a terminal or not. */
async function troupe(argv: string[], env: NodeJS.ProcessEnv = {}, tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli({ argv, env, tty, stdout: (t) => (out += t), stderr: (t) => (err += t) })
  return { code, out, err }
}

type Family = ReturnType<typeof parseExposition>[number]
function sample(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name)
  return family?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
}

describe('a cluster of three real nodes: metrics, inspect over NATS, the dashboard', () => {
  let natsUrl = ''
  const nodes: Record<string, { p: NodeProcess; url: string | null }> = {}
  const secretEnv = { TROUPE_CLUSTER_SECRET: secret }

  beforeAll(async () => {
    natsUrl = inject('natsUrl')
    const env = { TROUPE_HEARTBEAT_MS: '100', TROUPE_DOWN_AFTER_MS: '1000', TROUPE_RAFT_HEARTBEAT_MS: '50', TROUPE_RAFT_ELECTION_MS: '300', TROUPE_DATA_DIR: dataDir, ...secretEnv }
    const start = async (name: string, extra: string[]): Promise<void> => {
      const p = startNodeProcess(['start', '--app', 'test/cluster/fixtures/clusterApp.ts', '--name', name, '--cluster', cluster, '--nats', natsUrl, '--cluster-state', 'raft', ...extra], env)
      processes.push(p)
      const started = await p.waitForLog((l) => l['msg'] === 'node started', 120_000)
      await p.waitForLog((l) => l['msg'] === 'cluster member up', 60_000)
      nodes[name] = { p, url: started['http'] == null ? null : `http://127.0.0.1:${String(started['http'])}` }
    }
    await start('n1', ['--http', '127.0.0.1:0', '--dashboard', 'localhost'])
    await start('n2', ['--http', '127.0.0.1:0', '--seed', 'n1', '--role', 'worker'])
    await start('n3', ['--http', '', '--seed', 'n1', '--seed', 'n2'])
  }, 300_000)

  it('exports the cluster on /metrics: members by status, Raft role, term and commit index, state position, leader, unreachable', async () => {
    const url = nodes['n1']?.url as string
    const families = await eventually(
      async () => parseExposition(await (await fetch(`${url}/metrics`)).text()),
      (f) => sample(f, 'troupe_cluster_members', { status: 'up' }) === 3,
      'three up members on n1’s /metrics',
    )
    for (const status of ['joining', 'leaving', 'exiting', 'down', 'removed']) expect(sample(families, 'troupe_cluster_members', { status })).toBe(0)
    expect(families.find((f) => f.name === 'troupe_cluster_members')?.type).toBe('gauge')
    expect(sample(families, 'troupe_cluster_raft_term', { group: 'meta' })).toBeGreaterThanOrEqual(1)
    expect(sample(families, 'troupe_cluster_raft_commit_index', { group: 'meta' })).toBeGreaterThan(0)
    expect(sample(families, 'troupe_cluster_state_applied_position', { backend: 'raft' })).toBeGreaterThan(0)
    expect(sample(families, 'troupe_cluster_state_epoch', { backend: 'raft' })).toBeGreaterThan(0)
    expect(sample(families, 'troupe_cluster_unreachable_members')).toBe(0)
    // n1 bootstrapped: it leads, and says so in both gauges.
    expect(sample(families, 'troupe_cluster_raft_role', { group: 'meta', role: 'leader' })).toBe(1)
    expect(sample(families, 'troupe_cluster_raft_role', { group: 'meta', role: 'follower' })).toBe(0)
    expect(sample(families, 'troupe_cluster_leader')).toBe(1)
    const n2 = parseExposition(await (await fetch(`${nodes['n2']?.url as string}/metrics`)).text())
    expect(sample(n2, 'troupe_cluster_leader')).toBe(0)
  }, 60_000)

  it('troupe status|tree|actor|metrics --node reach a node over NATS, with the same output as over HTTP', async () => {
    const overNats = ['--nats', natsUrl, '--cluster', cluster, '--node']
    // n2 both ways: the same documents (uptime aside), the same human tree.
    const [httpStatus, natsStatus] = await Promise.all([troupe(['status', '--url', nodes['n2']?.url as string]), troupe(['status', ...overNats, 'n2'], secretEnv)])
    expect(natsStatus.err + natsStatus.code).toBe('0')
    // Time-dependent figures aside (uptime, how long counting has run).
    const strip = (text: string): unknown => {
      const status = JSON.parse(text) as { shards: object[] }
      return { ...status, uptimeMs: 0, shards: status.shards.map((s) => ({ ...s, countingForMs: 0 })) }
    }
    expect(strip(natsStatus.out)).toEqual(strip(httpStatus.out))
    await eventually(
      async () => {
        const [viaHttp, viaNats] = await Promise.all([troupe(['tree', '--url', nodes['n2']?.url as string], {}, true), troupe(['tree', ...overNats, 'n2'], secretEnv, true)])
        return viaNats.code === 0 && viaNats.out === viaHttp.out && viaNats.out.includes('target (Target)')
      },
      (same) => same,
      'the same tree over NATS as over HTTP',
    )
    // n3 has no HTTP port: NATS is the only way in.
    const [tree, actor, metrics, missing] = await Promise.all([
      troupe(['tree', ...overNats, 'n3'], secretEnv),
      troupe(['actor', '/user/target', ...overNats, 'n3'], secretEnv),
      troupe(['metrics', ...overNats, 'n3'], secretEnv),
      troupe(['actor', '/user/nobody', ...overNats, 'n3'], secretEnv),
    ])
    expect(tree.err + tree.code).toBe('0')
    expect(JSON.stringify(JSON.parse(tree.out))).toContain('"/user/watcher"')
    expect((JSON.parse(actor.out) as { actors: { path: string; status: string }[] }).actors[0]).toMatchObject({ path: '/user/target', status: 'running' })
    expect(sample(JSON.parse(metrics.out) as Family[], 'troupe_cluster_members', { status: 'up' })).toBe(3)
    expect(missing.code).toBe(1)
    expect(missing.err).toContain('[ERR_NO_SUCH_ACTOR]')
  }, 60_000)

  it('refuses what it should, with typed errors: no cluster key, no such node, hostile requests', async () => {
    const overNats = ['--nats', natsUrl, '--cluster', cluster, '--node']
    const unsigned = await troupe(['status', ...overNats, 'n3'])
    expect(unsigned.code).toBe(1)
    expect(unsigned.err).toMatch(/ERR_INSPECT_UNAUTHENTICATED.*\[ERR_INSPECT_REFUSED\]/)
    const nobody = await troupe(['status', ...overNats, 'nobody'], secretEnv)
    expect(nobody.code).toBe(1)
    expect(nobody.err).toContain('[ERR_NODE_UNREACHABLE]')
    const usage = await troupe(['status', '--nats', natsUrl])
    expect(usage.code).toBe(2)
    expect(usage.err).toContain('[ERR_INSPECT_USAGE]')

    // Raw requests on the subject, as a stranger with a NATS connection would send them.
    const nc = await connect({ servers: natsUrl })
    try {
      const subject = `troupe.${cluster}.inspect.n3`
      const ask = async (data: Uint8Array): Promise<{ ok: boolean; code?: string }> => JSON.parse(new TextDecoder().decode((await nc.request(subject, data, { timeout: 5000 })).data)) as { ok: boolean; code?: string }
      expect(await ask(new Uint8Array(10_000))).toMatchObject({ ok: false, code: 'ERR_INSPECT_BAD_REQUEST' })
      expect(await ask(new TextEncoder().encode('{"op":"status"}'))).toMatchObject({ ok: false, code: 'ERR_INSPECT_UNAUTHENTICATED' })
    } finally {
      await nc.close()
    }
  }, 60_000)

  describe('in a real browser (Debian Chromium through playwright-core)', () => {
    let browser: Browser

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] })
    }, 600_000)

    afterAll(async () => {
      await browser?.close()
    })

    it('lists every member with its leader mark, shows another member’s tree (over NATS), and a killed member as down', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      await page.goto(`${nodes['n1']?.url as string}/dashboard?interval=250`)
      for (const name of ['n1', 'n2', 'n3']) await page.locator(`.member[data-node="${name}"][data-status="up"]`).waitFor({ timeout: 15_000 })
      expect(await page.locator('.member[data-leader="true"]').getAttribute('data-node')).toBe('n1')
      expect(await page.locator('.member[data-node="n2"]').innerText()).toContain('worker')
      expect(await page.locator('.member[data-self="true"]').getAttribute('data-node')).toBe('n1')

      // n3 serves no HTTP: its tree comes over NATS through n1.
      await page.locator('.member[data-node="n3"]').click()
      await page.locator('#trees-title', { hasText: 'n3' }).waitFor({ timeout: 5000 })
      await page.locator('.actor[data-path="/user/target"]').waitFor({ timeout: 5000 })
      await page.locator('.actor[data-path="/user/target"]').click()
      await page.locator('#actor-details', { hasText: 'Target' }).waitFor({ timeout: 5000 })

      nodes['n3']?.p.child.kill('SIGKILL')
      // Unreachable at once (the tree's ask finds no responder), then down in the members panel once the cluster downs it.
      await page.locator('.remote-error[data-node="n3"]').waitFor({ timeout: 5000 })
      await page.locator('.member[data-node="n3"][data-status="down"], .member[data-node="n3"][data-status="removed"]').waitFor({ timeout: 20_000 })
      expect(await page.locator('.member[data-status="up"]').count()).toBe(2)

      // Back to this node: its own live tree.
      await page.locator('.member[data-node="n1"]').click()
      await page.locator('.actor[data-path="/user/watcher"]').waitFor({ timeout: 5000 })
      const reports = join(ROOT, 'reports')
      mkdirSync(reports, { recursive: true })
      await page.screenshot({ path: join(reports, 'dashboard-cluster.png'), fullPage: true })
      await page.close()
    }, 90_000)
  })
})
