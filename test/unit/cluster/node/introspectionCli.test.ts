import { describe, expect, it } from 'vitest'
import { runCli } from '../../../../cluster/node/index.ts'
import { parseExposition } from '../../../../cluster/node/inspect.ts'
import type { NodeStatus, ShardSnapshot } from '../../../../cluster/introspection/types.ts'

const status: NodeStatus = {
  node: 'n1',
  cluster: 'c',
  app: 'bank',
  version: '0.1.0',
  pid: 42,
  uptimeMs: 5000,
  started: true,
  ready: true,
  reasons: [],
  shards: [
    { shard: 0, state: 'up', actors: 3, mailboxTotal: 2, deadLetters: 1, countingForMs: 0 },
    { shard: 1, state: 'down', actors: 0, mailboxTotal: 0, deadLetters: 0, countingForMs: 0 },
  ],
}

const leaf = { path: '/user/top/w', name: 'w', type: 'Worker', shard: 0, status: 'running', mailbox: 2, stashed: 0, processed: 7, rate: 3.5, restarts: 1, lastFailure: { name: 'Error', message: 'boom', method: 'crash', agoMs: 1000 }, childCount: 0, children: [] } as const
const tree: ShardSnapshot[] = [
  {
    shard: 0,
    state: 'up',
    actors: 2,
    mailboxTotal: 2,
    deadLetters: 0,
    countingForMs: 10,
    truncated: false,
    tree: [{ path: '/user/top', name: 'top', type: 'Supervisor', shard: 0, status: 'running', mailbox: 0, stashed: 0, processed: 0, rate: 0, restarts: 0, lastFailure: null, childCount: 1, children: [leaf] }],
  },
]

function fakeFetch(routes: Record<string, { status: number; body: unknown }>): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = new URL(String(input))
    const route = routes[url.pathname]
    if (route === undefined) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })
    return new Response(typeof route.body === 'string' ? route.body : JSON.stringify(route.body), { status: route.status })
  }) as typeof fetch
}

async function run(argv: string[], fetchImpl: typeof fetch, tty: boolean): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli({ argv, env: {}, stdout: (t) => (out += t), stderr: (t) => (err += t), tty, fetch: fetchImpl })
  return { code, out, err }
}

describe('troupe inspect commands', () => {
  const fetchImpl = fakeFetch({
    '/introspect/status': { status: 200, body: status },
    '/introspect/tree': { status: 200, body: { shards: tree } },
    '/introspect/actor': { status: 200, body: { actors: [leaf] } },
    '/metrics': { status: 200, body: '# HELP troupe_x_total X.\n# TYPE troupe_x_total counter\ntroupe_x_total{shard="1",actor_type="A"} 3\n' },
  })

  it('prints tables and trees for people on a terminal', async () => {
    const s = await run(['status'], fetchImpl, true)
    expect(s.code).toBe(0)
    expect(s.out).toContain('node     n1 (cluster c, app bank')
    expect(s.out).toMatch(/^1\s+down\s+0/m)
    const t = await run(['tree'], fetchImpl, true)
    expect(t.out).toBe('shard 0 (up, 2 actors)\n└── top (Supervisor)\n    └── w (Worker)  mailbox 2, 3.5/s, restarts 1, last failure Error\n')
    const a = await run(['actor', '/user/top/w'], fetchImpl, true)
    expect(a.out).toContain('last fail   Error: boom in crash, 1 s ago')
  })

  it('prints JSON when not on a terminal, or with --json', async () => {
    const piped = await run(['status'], fetchImpl, false)
    expect(JSON.parse(piped.out)).toEqual(status)
    const forced = await run(['tree', '--json'], fetchImpl, true)
    expect(JSON.parse(forced.out)).toEqual({ shards: tree })
    const metrics = await run(['metrics'], fetchImpl, false)
    expect(JSON.parse(metrics.out)).toEqual([{ name: 'troupe_x_total', type: 'counter', help: 'X.', samples: [{ name: 'troupe_x_total', labels: { shard: '1', actor_type: 'A' }, value: 3 }] }])
  })

  it('fails with typed codes: unreachable, refused, no such actor, usage', async () => {
    const down = await run(['status', '--url', '127.0.0.1:1'], fakeFetch({}), false)
    expect(down.code).toBe(1)
    expect(down.err).toContain('[ERR_NODE_UNREACHABLE]')
    const refused = await run(['tree'], fakeFetch({ '/introspect/tree': { status: 403, body: { error: 'loopback only', hint: 'use --inspect on' } } }), false)
    expect(refused.code).toBe(1)
    expect(refused.err).toContain('HTTP 403): loopback only: use --inspect on [ERR_INSPECT_REFUSED]')
    const missing = await run(['actor', '/user/x'], fakeFetch({ '/introspect/actor': { status: 404, body: { error: "no live actor at '/user/x'", code: 'ERR_NO_SUCH_ACTOR' } } }), false)
    expect(missing.err).toContain('[ERR_NO_SUCH_ACTOR]')
    const usage = await run(['actor'], fetchImpl, false)
    expect(usage.code).toBe(2)
    expect(usage.err).toContain('[ERR_INSPECT_USAGE]')
    const badShard = await run(['tree', '--shard', 'x'], fetchImpl, false)
    expect(badShard.code).toBe(2)
  })

  it('parses label values with escapes', () => {
    expect(parseExposition('m{a="x\\"y",b="1\\\\2"} 5\n')[0]?.samples[0]?.labels).toEqual({ a: 'x"y', b: '1\\2' })
  })
})
