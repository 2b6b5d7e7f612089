/**
 * An ordering bug of depth 1 that seeded random scheduling almost never hits: it needs one actor to
 * run its whole 60-step job before another actor takes its first step. Under random choice that is
 * a coin flip lost ~15 turns in a row; PCT gives each actor a priority and runs the highest one
 * until it blocks, so it hits the bug with probability about 1/2 per run.
 */
import { describe, expect, it } from 'vitest'
import { Actor } from '../../runtime/index.ts'
import { findFailingSeed, type Simulation } from '../../testing/index.ts'

const JOB_STEPS = 60
const SEEDS = 200

interface Ghost {
  migrated: boolean
  broken: boolean
}

/** Copies records to a new table, one step at a time. */
class Migrator extends Actor<{ step(i: number): void }> {
  private readonly ghost: Ghost
  constructor(ghost: Ghost) {
    super()
    this.ghost = ghost
  }
  step(i: number): void {
    if (i === JOB_STEPS) {
      this.ghost.migrated = true
      return
    }
    this.self.tell('step', i + 1)
  }
}

/** Writes once to the old table: lost if the migration already finished (the bug). */
class Writer extends Actor<{ write(): void }> {
  private readonly ghost: Ghost
  constructor(ghost: Ghost) {
    super()
    this.ghost = ghost
  }
  write(): void {
    if (this.ghost.migrated) this.ghost.broken = true
  }
}

async function scenario(sim: Simulation): Promise<void> {
  const ghost: Ghost = { migrated: false, broken: false }
  const system = sim.createSystem({ name: 'db' })
  const migrator = system.spawn(Migrator, { args: [ghost] })
  const writer = system.spawn(Writer, { args: [ghost] })
  // Some bystanders, as a real system has.
  for (let i = 0; i < 3; i++) system.spawn(Migrator, { args: [{ migrated: false, broken: false }] }).tell('step', 0)
  migrator.tell('step', 0)
  writer.tell('write')
  sim.invariant('no write lands in a migrated table', () => !ghost.broken)
  await sim.runUntilIdle()
}

describe('PCT beside seeded random scheduling', () => {
  it('finds an ordering bug of depth 1 in far fewer runs than random choice', async () => {
    const pct = await findFailingSeed({ seeds: SEEDS, simulation: { strategy: { kind: 'pct', depth: 2, maxSteps: 200 } } }, scenario)
    const random = await findFailingSeed({ seeds: SEEDS }, scenario)
    const pctRuns = pct?.tried ?? Infinity
    const randomRuns = random?.tried ?? Infinity
    console.log(`order bug of depth 1: PCT found it in ${pctRuns} run(s); random ${randomRuns === Infinity ? `did not within ${SEEDS}` : `in ${randomRuns}`}`)
    expect(pct?.error.message).toContain("invariant 'no write lands in a migrated table' does not hold")
    expect(pctRuns).toBeLessThanOrEqual(10)
    expect(pctRuns).toBeLessThan(randomRuns)
  })
})
