import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SimErrorCodes, Simulation, describeFaults, findFailingSeed, forEachSeed, simulationCase, type FaultSchedule } from '../../testing/index.ts'
import { CLIENTS, LEASE_MS, runLeaseLock, seededFaults } from './support/leaseLock.ts'

/** How many seeds the search may use: the bug must show up well within it. */
const SEED_BUDGET = 100

describe('a lease lock without fencing loses updates when a holder pauses (planted bug)', () => {
  it(`the simulator finds it within ${SEED_BUDGET} seeds, and the seed replays it exactly`, async () => {
    const found = await findFailingSeed({ seeds: SEED_BUDGET }, async (sim) => {
      await runLeaseLock(sim, false, seededFaults(sim))
    })
    expect(found, 'no seed found the lost update').not.toBeNull()
    const { seed, error, tried } = found as NonNullable<typeof found>
    expect(tried).toBeLessThanOrEqual(SEED_BUDGET)
    expect(error).toMatchObject({ code: SimErrorCodes.Invariant })
    expect(error.message).toContain("invariant 'no lost update' does not hold")
    expect(error.message).toContain(`TROUPE_SIM_SEED=${seed}`)
    // The report shows what led there, down to the stale write.
    expect(error.message).toMatch(/handles 'write'/)

    const replay = new Simulation({ seed })
    const replayError = await runLeaseLock(replay, false, seededFaults(replay)).then(
      () => null,
      (e: unknown) => e as Error,
    )
    expect(replayError?.message).toBe(error.message)
  })

  it('fast-check shrinks the fault schedule to a single pause of a worker, about as long as its lease', async () => {
    const property = fc.asyncProperty(
      simulationCase(fc, { nodes: CLIENTS, kinds: ['pause', 'partition', 'crash'], horizonMs: 2000, maxFaults: 5, maxDurationMs: 800 }),
      async ({ seed, faults }) => {
        await runLeaseLock(new Simulation({ seed }), false, faults)
      },
    )
    const result = await fc.check(property, { seed: 20240611, numRuns: 300 })
    expect(result.failed, 'fast-check found no failing schedule').toBe(true)
    const [counterexample] = result.counterexample as [{ seed: number; faults: FaultSchedule }]
    const schedule = describeFaults(counterexample.faults)
    // Minimal: one fault, a pause of a worker that, with the work already under way, outlives the lease.
    expect(counterexample.faults, schedule).toHaveLength(1)
    const [fault] = counterexample.faults
    expect(fault?.kind, schedule).toBe('pause')
    expect(fault?.kind === 'pause' && fault.durationMs, schedule).toBeGreaterThan(LEASE_MS - 100)
    expect(result.numShrinks).toBeGreaterThan(0)
  })
})

describe('the same lock with fencing tokens at the register (the fix)', () => {
  it(`passes the same ${SEED_BUDGET}-seed search, and still makes progress`, async () => {
    let writes = 0
    let refused = 0
    await forEachSeed({ seeds: SEED_BUDGET }, async (sim) => {
      const ghost = await runLeaseLock(sim, true, seededFaults(sim))
      expect(ghost.writes).toBeGreaterThan(10)
      writes += ghost.writes
      refused += ghost.refused
    })
    expect(writes).toBeGreaterThan(SEED_BUDGET * 10)
    // The pauses did happen: stale writes arrived and were refused.
    expect(refused).toBeGreaterThan(0)
  })

  it('passes the same fast-check search', async () => {
    await fc.assert(
      fc.asyncProperty(
        simulationCase(fc, { nodes: CLIENTS, kinds: ['pause', 'partition', 'crash'], horizonMs: 2000, maxFaults: 5, maxDurationMs: 800 }),
        async ({ seed, faults }) => {
          await runLeaseLock(new Simulation({ seed }), true, faults)
        },
      ),
      { seed: 20240611, numRuns: 150 },
    )
  })
})
