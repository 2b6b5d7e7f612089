import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS, chromiumPath } from '../support/chromium.ts'
import { ROOT, startNodeProcess, type NodeProcess } from './support.ts'

/** Runs `troupe <args>` as its own process (stdout is a pipe: JSON output). */
function troupe(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cluster/node/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

interface TreeActor {
  path: string
  type: string
  restarts: number
  children: TreeActor[]
}

function flatten(actors: readonly TreeActor[]): TreeActor[] {
  return actors.flatMap((actor) => [actor, ...flatten(actor.children)])
}

describe('a node with --shards 2 and the dashboard on localhost', () => {
  let node: NodeProcess
  let url = ''

  beforeAll(async () => {
    node = startNodeProcess(['start', '--app', 'test/cluster/fixtures/dashboardApp.ts', '--shards', '2', '--http', '127.0.0.1:0', '--dashboard', 'localhost', '--name', 'dash-1'])
    const started = await node.waitForLog((line) => line['msg'] === 'node started', 60_000)
    url = `http://127.0.0.1:${String(started['http'])}`
    await node.waitForLog((line) => line['msg'] === 'dashboard app ready')
  }, 90_000)

  afterAll(async () => {
    node.child.kill('SIGTERM')
    await node.exited
  })

  it('answers troupe status, tree, actor and metrics (JSON when not on a terminal)', async () => {
    const [status, tree, actor, metrics] = await Promise.all([
      troupe(['status', '--url', url]),
      troupe(['tree', '--url', url]),
      troupe(['actor', '/user/bank/accounts', '--url', url]),
      troupe(['metrics', '--url', url]),
    ])
    expect(status.stderr + status.code).toBe('0')
    const parsedStatus = JSON.parse(status.stdout) as { node: string; ready: boolean; shards: { shard: number; state: string }[] }
    expect(parsedStatus.node).toBe('dash-1')
    expect(parsedStatus.ready).toBe(true)
    expect(parsedStatus.shards.map((s) => [s.shard, s.state])).toEqual([
      [0, 'up'],
      [1, 'up'],
      [2, 'up'],
    ])

    expect(tree.code).toBe(0)
    const { shards } = JSON.parse(tree.stdout) as { shards: { shard: number; tree: TreeActor[] }[] }
    expect(shards.map((s) => s.shard)).toEqual([0, 1, 2])
    const main = flatten(shards[0]?.tree ?? []).map((a) => `${a.path} ${a.type}`)
    expect(main).toEqual(expect.arrayContaining(['/user/bank Supervisor', '/user/bank/accounts AccountsDirectory', '/user/bank/transfers Transfers', '/user/bank/accounts/pool/account-0 Account']))
    for (const worker of [1, 2]) expect(flatten(shards[worker]?.tree ?? []).map((a) => `${a.path} ${a.type}`)).toContain('/user/pinger Pinger')

    expect(actor.code).toBe(0)
    const { actors } = JSON.parse(actor.stdout) as { actors: { path: string; status: string; mailbox: number; childCount: number; children: TreeActor[] }[] }
    expect(actors).toHaveLength(1)
    expect(actors[0]).toMatchObject({ path: '/user/bank/accounts', status: 'running', mailbox: 0, childCount: 1 })
    expect(actors[0]?.children.map((c) => c.path)).toEqual(['/user/bank/accounts/pool'])

    expect(metrics.code).toBe(0)
    const families = JSON.parse(metrics.stdout) as { name: string; samples: { labels: Record<string, string> }[] }[]
    const names = families.map((f) => f.name)
    expect(names).toContain('nodejs_eventloop_lag_seconds')
    // Worker shards' metrics reach the node's /metrics, labelled by shard.
    expect(families.flatMap((f) => f.samples.map((s) => s.labels['shard'])).filter((s) => s !== undefined)).toEqual(expect.arrayContaining(['1', '2']))
  }, 60_000)

  it('tree --shard n shows one shard; a path no shard has is ERR_NO_SUCH_ACTOR', async () => {
    const [one, missing] = await Promise.all([troupe(['tree', '--shard', '2', '--url', url]), troupe(['actor', '/user/nobody', '--url', url])])
    expect(one.code).toBe(0)
    expect((JSON.parse(one.stdout) as { shards: { shard: number }[] }).shards.map((s) => s.shard)).toEqual([2])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('ERR_NO_SUCH_ACTOR')
  }, 60_000)

  it('fails with ERR_NODE_UNREACHABLE when no node answers', async () => {
    const result = await troupe(['status', '--url', 'http://127.0.0.1:1'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/no node answers at http:\/\/127\.0\.0\.1:1 .*\[ERR_NODE_UNREACHABLE\]/)
  }, 60_000)

  describe('in a real browser (Debian Chromium through playwright-core)', () => {
    let browser: Browser

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] })
    }, 600_000)

    afterAll(async () => {
      await browser?.close()
    })

    it('shows a crash of the example app as a restart in the tree within a second, and the actor on click', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
      await page.goto(`${url}/dashboard?interval=250`)
      const alice = page.locator('.actor[data-path="/user/bank/accounts/pool/account-0"]')
      await alice.waitFor({ timeout: 15_000 })
      expect(await alice.getAttribute('data-restarts')).toBe('0')
      await expect(page.locator('.shard[data-shard="2"] .actor[data-path="/user/pinger"]').count()).resolves.toBe(1)

      node.child.kill('SIGUSR2')
      // The crash, its restart and the next snapshot (every 250 ms) must all reach the page within a second.
      await page.locator('.actor[data-path="/user/bank/accounts/pool/account-0"][data-restarts="1"]').waitFor({ timeout: 1000 })

      // The tree is redrawn every 250 ms: a click can land on a node that is being replaced, so click
      // again until the details open (a deadline, not a fixed wait).
      const details = page.locator('#actor-details')
      const clickDeadline = Date.now() + 15_000
      for (;;) {
        await alice.click()
        const opened = await details.waitFor({ timeout: 1000 }).then(() => true, () => false)
        if (opened) break
        if (Date.now() > clickDeadline) throw new Error('the actor details did not open within 15 s of clicking')
      }
      const text = await details.innerText()
      expect(text).toContain('/user/bank/accounts/pool/account-0')
      expect(text).toMatch(/restarts\s+1/)
      // The page armed per-actor counting before the crash: the failed deposit was counted.
      expect(text).toMatch(/processed\s+[1-9]/)
      expect(text).toContain('StorageFailureError')

      const reports = join(ROOT, 'reports')
      mkdirSync(reports, { recursive: true })
      await page.screenshot({ path: join(reports, 'dashboard.png'), fullPage: true })
      await page.close()
    }, 60_000)
  })
})
