/**
 * A node's /metrics: Troupe's families, prom-client's default process and Node.js metrics once,
 * and each worker shard's own event-loop lag labelled `shard`; counters follow the _total rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultConfig, silentLogger, TroupeNode } from '../../../../cluster/node/index.ts'
import app from '../../../../examples/bank/node.ts'

const appUrl = new URL('../../../../examples/bank/node.ts', import.meta.url).href
let node: TroupeNode
let text: string

beforeAll(async () => {
  const config = { ...defaultConfig(process.pid), app: 'examples/bank/node.ts', name: 'metered-node', shards: 1, http: '127.0.0.1:0' }
  node = await TroupeNode.start({ config, app, appUrl, logger: silentLogger })
  const response = await fetch(`http://127.0.0.1:${node.httpPort}/metrics`)
  expect(response.status).toBe(200)
  text = await response.text()
}, 60_000)

afterAll(async () => {
  await node?.stop()
}, 30_000)

/** `# TYPE name type` lines of the exposition. */
function types(): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]))
}

describe('node /metrics', () => {
  it('has the default process metrics once (main thread) and event-loop lag per thread', () => {
    expect(text.match(/^process_cpu_user_seconds_total \d/gm)).toHaveLength(1)
    expect(text).not.toMatch(/^process_cpu_user_seconds_total\{shard=/m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{shard="1"\} \d/m)
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds\{shard="1"\} \d/m)
  })

  it('exports the ask histogram, the timeout counter and the shards’ counters under _total names', () => {
    expect(types().get('troupe_ask_duration_seconds')).toBe('histogram')
    expect(types().get('troupe_ask_timeouts_total')).toBe('counter')
    expect(text).toMatch(/^troupe_ask_duration_seconds_count\{outcome="ok"\} [1-9]/m)
    for (const name of ['troupe_shard_frames_total', 'troupe_shard_parks_total', 'troupe_shard_wakes_total', 'troupe_shard_idle_polls_total', 'troupe_shard_dead_letters_total', 'troupe_remote_frames_total']) {
      expect(types().get(name), name).toBe('counter')
    }
    // The Prometheus rule: a counter's name ends in _total; nothing else does.
    for (const [name, type] of types()) {
      if (!name.startsWith('troupe_')) continue
      expect(name.endsWith('_total'), `${name} is a ${type}`).toBe(type === 'counter')
    }
  })
})
