import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffDelay, ClientHealthTopic, clientReadiness, combineReadiness, Hysteresis, type HealthSnapshot, type HealthTransition } from '../../../../actors/index.ts'
import { Actor, ActorSystem } from '../../../../runtime/index.ts'

describe('Hysteresis', () => {
  it('goes unhealthy after n consecutive failures and back after m consecutive successes', () => {
    const h = new Hysteresis(3, 2)
    expect(h.success()).toEqual({ from: 'starting', to: 'healthy' })
    expect(h.failure('E')).toBeNull()
    expect(h.failure('E')).toBeNull()
    expect(h.success()).toBeNull() // a success resets the failure run
    expect(h.failure('E')).toBeNull()
    expect(h.failure('E')).toBeNull()
    expect(h.failure('ERR_PG_CONNECTION')).toEqual({ from: 'healthy', to: 'unhealthy' })
    expect(h.lastError).toBe('ERR_PG_CONNECTION')
    expect(h.failure('E')).toBeNull() // published once
    expect(h.success()).toBeNull()
    expect(h.failure('E')).toBeNull() // the success run starts again
    expect(h.success()).toBeNull()
    expect(h.success()).toEqual({ from: 'unhealthy', to: 'healthy' })
    expect(h.transitions).toBe(3)
  })

  it('a starting client that never answers goes unhealthy after n failures', () => {
    const h = new Hysteresis(2, 5)
    expect(h.failure('E')).toBeNull()
    expect(h.failure('E')).toEqual({ from: 'starting', to: 'unhealthy' })
  })

  it('property: transitions alternate, each one needs its full run, and none is reported twice', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean(), { maxLength: 200 }), (n, m, outcomes) => {
        const h = new Hysteresis(n, m)
        let run = 0
        let last: boolean | null = null
        let status = h.status
        for (const ok of outcomes) {
          run = ok === last ? run + 1 : 1
          last = ok
          const moved = ok ? h.success() : h.failure('E')
          if (moved !== null) {
            expect(moved.from).toBe(status)
            expect(moved.to).not.toBe(moved.from)
            if (moved.to === 'unhealthy') expect(run).toBe(n)
            else expect(run).toBe(moved.from === 'starting' ? 1 : m)
            status = moved.to
          }
          expect(h.status).toBe(status)
        }
      }),
    )
  })
})

describe('backoffDelay', () => {
  it('doubles from the base, caps, and stays within the jitter band', () => {
    expect(backoffDelay(0, 100, 1000, 0, () => 0.5)).toBe(100)
    expect(backoffDelay(3, 100, 1000, 0, () => 0.5)).toBe(800)
    expect(backoffDelay(10, 100, 1000, 0, () => 0.5)).toBe(1000)
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: 0, max: 0.999, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, 50, 5000, 0.2, () => r)
        expect(d).toBeGreaterThanOrEqual(Math.min(5000, 50 * 2 ** Math.min(attempt, 30)))
        expect(d).toBeLessThanOrEqual(5000)
      }),
    )
  })
})

interface FakeProtocol {
  health(): HealthSnapshot
}
/** Stands in for a client actor: answers `health` from a snapshot the test controls. */
class FakeClient extends Actor<FakeProtocol> implements FakeProtocol {
  static snapshot: HealthSnapshot
  health(): HealthSnapshot {
    return FakeClient.snapshot
  }
}

function transition(to: HealthTransition['to'], seq: number, client = 'db'): HealthTransition {
  return { client, kind: 'pg', from: 'healthy', to, reason: to === 'unhealthy' ? 'ERR_PG_CONNECTION' : null, at: 0, seq }
}

describe('clientReadiness', () => {
  it('mirrors the snapshot, then follows newer transitions of its own client only', async () => {
    const system = ActorSystem.create({ name: 'readiness' })
    FakeClient.snapshot = { client: 'db', kind: 'pg', status: 'healthy', consecutiveFailures: 0, consecutiveSuccesses: 1, lastError: null, checks: 1, transitions: 1 }
    const ref = system.spawn(FakeClient)
    const check = await clientReadiness(system, ref)
    expect(check.ready()).toEqual({ ok: true, reason: null })
    system.publish(ClientHealthTopic, transition('unhealthy', 2, 'other'))
    expect(check.status).toBe('healthy')
    system.publish(ClientHealthTopic, transition('unhealthy', 1)) // older than the snapshot
    expect(check.status).toBe('healthy')
    system.publish(ClientHealthTopic, transition('unhealthy', 2))
    expect(check.ready()).toEqual({ ok: false, reason: 'db unhealthy (ERR_PG_CONNECTION)' })
    expect(() => check.assertReady()).toThrowError(expect.objectContaining({ code: 'ERR_SERVICE_UNHEALTHY' }))
    expect(combineReadiness({ ok: true, reasons: [] }, [check])).toEqual({ ok: false, reasons: ['db unhealthy (ERR_PG_CONNECTION)'] })
    system.publish(ClientHealthTopic, transition('healthy', 3))
    expect(combineReadiness({ ok: true, reasons: [] }, [check])).toEqual({ ok: true, reasons: [] })
    expect(combineReadiness({ ok: false, reasons: ['app not started'] }, [check])).toEqual({ ok: false, reasons: ['app not started'] })
    check.close()
    system.publish(ClientHealthTopic, transition('unhealthy', 4))
    expect(check.status).toBe('healthy')
    await system.terminate()
  })
})
