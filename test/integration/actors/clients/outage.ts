/**
 * The outage scenario both client actors must pass, against a server the test owns and kills:
 * load runs throughout; the server is SIGKILLed and brought back. Asserted: typed errors only, the
 * breaker opens, health flips after n failed checks and back after m good ones (each transition
 * published once), `/readyz` of the node's HTTP server follows, checks back off during the outage,
 * nothing restarts, and calls succeed again.
 */
import { expect } from 'vitest'
import { clientReadiness, combineReadiness, type HealthSnapshot } from '../../../../actors/index.ts'
import { HttpServer } from '../../../../cluster/index.ts'
import type { ActorRef, ActorSystem } from '../../../../runtime/index.ts'
import { waitFor, waitForValue } from '../../../../testing/index.ts'
import { load, type record } from './support.ts'

export const HEALTH = { intervalMs: 100, maxIntervalMs: 500, timeoutMs: 500, unhealthyAfter: 3, healthyAfter: 2, jitter: 0.2 }
export const BREAKER = { waitInOpenMs: 200, backoff: { factor: 2, maxMs: 1000, jitter: 0.2 } }
/** Typed answers a caller may get while the server is down. */
export const OUTAGE_CODES = /^ERR_(PG|REDIS)_(CONNECTION|TIMEOUT)$|^ERR_CALL_NOT_PERMITTED$/

async function readyz(port: number): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`)
  const body = (await response.json()) as { reasons: string[] }
  return { status: response.status, reasons: body.reasons }
}

export async function outageScenario(options: {
  system: ActorSystem
  seen: ReturnType<typeof record>
  client: ActorRef<{ health(): HealthSnapshot }>
  name: string
  breakerName: string
  call: (i: number) => Promise<unknown>
  crash: () => Promise<void>
  resume: () => Promise<void>
}): Promise<void> {
  const { system, seen, client, name } = options
  const readiness = await clientReadiness(system, client)
  const http = new HttpServer({ alive: () => true, started: () => true, ready: () => combineReadiness({ ok: true, reasons: [] }, [readiness]) }, new (await import('prom-client')).Registry())
  const port = await http.listen('127.0.0.1', 0)
  await waitForValue(() => client.ask('health'), (h) => h.status === 'healthy', { timeoutMs: 10_000 })
  const run = load(8, options.call)
  try {
    await waitFor(() => run.ok.length > 200, { timeoutMs: 15_000, message: 'no successful calls before the outage' })
    expect(await readyz(port)).toEqual({ status: 200, reasons: [] })
    expect(run.errors).toEqual([])

    await options.crash()
    const crashedAt = performance.now()
    const checksAtCrash = (await client.ask('health')).checks
    await waitFor(() => seen.health.some((t) => t.client === name && t.to === 'unhealthy'), { timeoutMs: 15_000, message: 'health did not flip to unhealthy' })
    await waitFor(() => seen.breaker.some((t) => t.breaker === options.breakerName && t.to === 'open'), { timeoutMs: 15_000, message: 'the breaker did not open' })
    const down = await readyz(port)
    expect(down.status).toBe(503)
    expect(down.reasons).toEqual([expect.stringMatching(new RegExp(`^${name} unhealthy \\(ERR_`))])
    await waitFor(() => run.codes().has('ERR_CALL_NOT_PERMITTED'), { timeoutMs: 15_000, message: 'no call was refused fast by the open breaker' })
    // Let the outage last a while: the checks must back off, not hammer the dead server.
    const stalled = (await client.ask('health')).checks
    await waitForValue(() => client.ask('health'), (h) => h.checks >= stalled + 3, { timeoutMs: 10_000 })
    const outageMs = performance.now() - crashedAt
    const checksDuringOutage = (await client.ask('health')).checks - checksAtCrash
    // 3 checks at the interval to go unhealthy, then ≥ 100·2^k ms apart, capped at 500 ms (× ≤ 1.2 jitter, capped).
    expect(checksDuringOutage).toBeLessThanOrEqual(HEALTH.unhealthyAfter + 4 + Math.ceil(outageMs / 400))
    const okBeforeResume = run.ok.length

    await options.resume()
    await waitFor(() => seen.health.filter((t) => t.client === name).at(-1)?.to === 'healthy' && seen.health.filter((t) => t.client === name).length === 3, {
      timeoutMs: 20_000,
      message: 'health did not come back',
    })
    await waitFor(() => run.ok.length > okBeforeResume + 200, { timeoutMs: 20_000, message: 'calls did not succeed again after the restart' })
    await waitFor(() => readiness.ready().ok, { timeoutMs: 5000 })
    expect(await readyz(port)).toEqual({ status: 200, reasons: [] })
  } finally {
    await run.stop()
    readiness.close()
    await http.close()
  }
  // Each transition once, in order; no restart of the client at all (no hot restart loop).
  expect(seen.health.filter((t) => t.client === name).map((t) => `${t.from}->${t.to}`)).toEqual(['starting->healthy', 'healthy->unhealthy', 'unhealthy->healthy'])
  expect(seen.supervisor.filter((e) => e.type === 'child-restarted' || e.type === 'gave-up' || e.type === 'restart-scheduled')).toEqual([])
  // Nothing lost silently: every failure is one of the typed outage answers.
  for (const code of run.codes()) expect(code).toMatch(OUTAGE_CODES)
  expect(run.errors.length).toBeGreaterThan(0)
}
