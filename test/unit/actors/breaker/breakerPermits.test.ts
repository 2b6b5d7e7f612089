/**
 * The half-open permit invariants under any call/outcome sequence (fast-check; the seed and the
 * shrunk sequence are printed on failure): permits in flight never exceed permittedCallsInHalfOpen,
 * every permit is released (completion of any kind, ignored included, or a transition that voids
 * it), and a half-open breaker whose probes have all come back can always admit another or has
 * left half-open — the reference design's wedged breaker cannot happen. Checked on the pure core,
 * then end to end through the actor and its client on the simulator.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../../../runtime/index.ts'
import { ActorTestKit, VirtualClock } from '../../../../testing/index.ts'
import { BreakerCore, REJECTED, resolveBreakerOptions, spawnBreaker, type CallOutcome } from '../../../../actors/index.ts'

const outcomeArb = fc.constantFrom<CallOutcome>('success', 'failure', 'ignored', 'timeout')

const stepArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('acquire' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat(), outcome: outcomeArb, durationMs: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('forceOpen' as const, 'reset' as const, 'close' as const, 'disable' as const, 'trip' as const) }) },
)

const configArb = fc.record({
  permittedCallsInHalfOpen: fc.integer({ min: 1, max: 4 }),
  singleProbe: fc.boolean(),
  windowSize: fc.integer({ min: 1, max: 6 }),
  maxWaitInHalfOpenMs: fc.constantFrom(0, 300, 1000),
})

describe('half-open permits (pure core)', () => {
  it('never exceed the configured number, and every one is released', () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { maxLength: 120 }), (config, steps) => {
        const permitted = config.singleProbe ? 1 : config.permittedCallsInHalfOpen
        const clock = new VirtualClock()
        const core = new BreakerCore(
          resolveBreakerOptions({ name: 'p', ...config, permittedCallsInHalfOpen: permitted, minimumCalls: 1, waitInOpenMs: 100, slowCallDurationMs: 200 }),
          clock,
          new SeededRandom(3),
          () => {},
        )
        const held: { epoch: number; permit: number }[] = []
        const check = (): void => {
          expect(core.halfOpenInFlight).toBeLessThanOrEqual(permitted)
          if (core.state !== 'half_open') expect(core.halfOpenInFlight).toBe(0)
        }
        for (const step of steps) {
          if (step.kind === 'acquire') {
            // acquire may first apply a due transition: the permit belongs to the epoch after it.
            const permit = core.acquire()
            if (permit !== REJECTED) held.push({ epoch: core.epoch, permit })
          } else if (step.kind === 'complete') {
            if (held.length === 0) continue
            const [call] = held.splice(step.pick % held.length, 1)
            core.complete(call!.epoch, call!.permit, step.outcome, step.durationMs)
          } else if (step.kind === 'wait') {
            clock.advance(step.ms)
            core.tick()
          } else {
            core[step.kind]()
          }
          check()
        }
        // Every caller finishes: nothing may stay held.
        for (const call of held) core.complete(call.epoch, call.permit, 'success', 1)
        check()
        expect(core.halfOpenInFlight).toBe(0)
        // Not wedged: a half-open breaker with nothing out admits a probe.
        if (core.state === 'half_open') expect(core.acquire()).toBeGreaterThan(0)
      }),
      { numRuns: 300 },
    )
  })
})

describe('half-open permits (actor and client, simulated)', () => {
  it('hold end to end, with calls that settle in any order', async () => {
    let probed = 0
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.record({ outcome: outcomeArb, afterMs: fc.integer({ min: 0, max: 250 }), gapMs: fc.integer({ min: 0, max: 120 }) }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        async (permitted, calls, seed) => {
          const kit = ActorTestKit.create({ seed })
          try {
            const { ref, client } = await kit.sim.settle(
              spawnBreaker(kit.system, { name: 'e2e', windowSize: 2, minimumCalls: 2, permittedCallsInHalfOpen: permitted, waitInOpenMs: 100, maxWaitInHalfOpenMs: 0, reportBatch: 1 }),
            )
            const pending: Promise<unknown>[] = []
            for (const c of calls) {
              const run = client.execute(
                () =>
                  new Promise<string>((resolve, reject) => {
                    kit.system.clock.setTimer(c.afterMs, () => (c.outcome === 'success' ? resolve('ok') : reject(new Error(c.outcome))))
                  }),
              )
              pending.push(run.catch(() => undefined))
              await kit.advance(c.gapMs)
              const snap = await kit.ask(ref, 'snapshot')
              expect(snap.halfOpenInFlight).toBeLessThanOrEqual(permitted)
            }
            await kit.sim.settle(Promise.all(pending))
            await kit.advance(0)
            const end = await kit.ask(ref, 'snapshot')
            expect(end.halfOpenInFlight).toBe(0)
            if (client.stats.slowPermits > 0) probed++
          } finally {
            await kit.shutdown()
          }
        },
      ),
      { numRuns: 40 },
    )
    // The property is about half-open: make sure the runs went there.
    expect(probed).toBeGreaterThan(10)
  })
})
