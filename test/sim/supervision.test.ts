/**
 * Our own supervision layer under the simulator, unchanged: a flaky worker under a one_for_one
 * supervisor with jittered backoff, across seeds. Restarts follow the backoff in virtual time, the
 * jitter comes from the system's seeded random source, and every seed replays to the same trace.
 */
import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../runtime/index.ts'
import { Supervisor, SupervisorEventTopic, childSpec, type SupervisorEvent } from '../../supervision/index.ts'
import { Simulation, forEachSeed } from '../../testing/index.ts'

interface FlakyProtocol {
  work(): void
}
/** Fails on every message with probability `failRate` (drawn from the system's seeded source). */
class Flaky extends Actor<FlakyProtocol> implements FlakyProtocol {
  private readonly failRate: number
  constructor(failRate: number) {
    super()
    this.failRate = failRate
  }
  work(): void {
    if (this.context.system.random.next() < this.failRate) throw new Error('flaky')
  }
}

interface Outcome {
  readonly hash: string
  readonly restarts: number
  readonly scheduled: { delayMs: number; attempt: number }[]
  readonly restartTimes: number[]
}

async function run(seed: number): Promise<Outcome> {
  const sim = new Simulation({ seed })
  const system = sim.createSystem({ name: 'sup' })
  const events: SupervisorEvent[] = []
  const restartTimes: number[] = []
  system.subscribe(SupervisorEventTopic, (event) => {
    events.push(event)
    if (event.type === 'child-restarted') restartTimes.push(sim.now)
  })
  system.spawn(Supervisor, {
    name: 'sup',
    args: [
      {
        strategy: 'one_for_one',
        intensity: 1000,
        periodMs: 1000,
        children: [childSpec({ id: 'flaky', actor: Flaky, args: [0.3], backoff: { minMs: 10, maxMs: 200, randomFactor: 0.5 } })],
      },
    ],
  })
  // Work arrives every 5 ms for 2 s of virtual time.
  const clock = sim.createProcess('load').clock
  let sent = 0
  const tick = (): void => {
    const flaky = system.resolvePath<FlakyProtocol>('/user/sup/flaky') as ActorRef<FlakyProtocol> | undefined
    flaky?.tell('work')
    if (++sent < 400) clock.setTimer(5, tick)
  }
  clock.setTimer(5, tick)
  await sim.advance(2500)
  const scheduled = events.flatMap((e) => (e.type === 'restart-scheduled' ? [{ delayMs: e.delayMs, attempt: e.attempt }] : []))
  return { hash: sim.traceHash, restarts: restartTimes.length, scheduled, restartTimes }
}

describe('supervision under simulation', () => {
  it('restarts with jittered backoff in virtual time, and each seed replays exactly', async () => {
    const hashes = new Set<string>()
    await forEachSeed({ seeds: 20 }, async (sim) => {
      const first = await run(sim.seed)
      expect(first.restarts).toBeGreaterThan(5)
      // Backoff (Pekko): min(200, 10 * 2^n) * (1 + 0.5 * r): from 10 ms up to 300 ms (the factor applies after the cap).
      for (const { delayMs } of first.scheduled) {
        expect(delayMs).toBeGreaterThanOrEqual(10)
        expect(delayMs).toBeLessThanOrEqual(300)
      }
      expect(await run(sim.seed)).toEqual(first)
      hashes.add(first.hash)
    })
    expect(hashes.size).toBe(20)
  })
})
