import { describe, expect, it } from 'vitest'
import { startNodeProcess } from './support.ts'

describe('troupe CLI (real processes)', () => {
  it('serves probes and metrics, and exits 0 on SIGTERM after a clean shutdown', async () => {
    const node = startNodeProcess(['start', '--app', 'examples/bank/node.ts', '--config', 'examples/bank/node.config.json', '--http', '127.0.0.1:0', '--name', 'probe-1'])
    const started = await node.waitForLog((l) => l['msg'] === 'node started')
    const base = `http://127.0.0.1:${String(started['http'])}`
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(200)
    expect((await fetch(`${base}/startupz`)).status).toBe(200)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toContain('troupe_messages_processed_total{actor_type="AccountsDirectory",outcome="ok"}')
    expect((await fetch(`${base}/nope`)).status).toBe(404)
    node.child.kill('SIGTERM')
    expect(await node.exited).toBe(0)
    expect(node.output()).toContain('"outcome":"stopped"')
  })

  it('a standalone node with worker shards exports their metrics and stops them on SIGTERM', async () => {
    const node = startNodeProcess(['start', '--app', 'examples/bank/node.ts', '--config', 'examples/bank/node.config.json', '--http', '127.0.0.1:0', '--name', 'sharded-1', '--shards', '2'])
    const started = await node.waitForLog((l) => l['msg'] === 'node started')
    expect(node.output()).toContain('"msg":"worker shards started"')
    const metrics = await (await fetch(`http://127.0.0.1:${String(started['http'])}/metrics`)).text()
    for (const shard of ['0', '1', '2']) expect(metrics).toMatch(new RegExp(`troupe_shard_ring_capacity_bytes\\{shard="${shard}"\\} [1-9]`))
    // Each worker shard's own instrumentation, on its own registry, merged into the node's scrape.
    for (const shard of ['1', '2']) expect(metrics).toContain(`troupe_actor_lifecycle_total{actor_type="ShardAgent",event="started",shard="${shard}"} 1`)
    node.child.kill('SIGTERM')
    expect(await node.exited).toBe(0)
    expect(node.output()).toContain('"outcome":"stopped"')
  })

  it('exits 2 with every configuration problem listed', async () => {
    const node = startNodeProcess(['start', '--shards', 'zero'])
    expect(await node.exited).toBe(2)
    expect(node.output()).toMatch(/shards must be an integer[\s\S]*app is required/)
  })

  it('exits 2 on an unknown flag, and --help teaches', async () => {
    const bad = startNodeProcess(['start', '--frobnicate'])
    expect(await bad.exited).toBe(2)
    const help = startNodeProcess(['start', '--help'])
    expect(await help.exited).toBe(0)
    expect(help.output()).toContain('Exit codes:')
  })

  it('exits 4 when the app fails to start', async () => {
    const node = startNodeProcess(['start', '--app', 'test/cluster/fixtures/brokenApp.ts', '--http', ''])
    expect(await node.exited).toBe(4)
    expect(node.output()).toContain('cannot start')
  })

  it('exits 1 when the top supervisor gives up', async () => {
    const node = startNodeProcess(['start', '--app', 'test/cluster/fixtures/giveUpApp.ts', '--http', ''])
    expect(await node.exited).toBe(1)
    expect(node.output()).toContain('SupervisorGaveUpError')
  })
})
