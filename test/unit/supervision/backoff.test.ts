import { describe, expect, it } from 'vitest'
import { DeadLetterTopic, errorCode, type ActorRef, type DeadLetter, type Random } from '../../../runtime/index.ts'
import { backoffDelay, childSpec, Supervisor, type BackoffOptions, type RestartType } from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { childOf, Probe, testSystem, type ProbeProtocol } from './helpers.ts'

function setup(backoff: BackoffOptions, options: { restart?: RestartType; capacity?: number; random?: Random } = {}) {
  const t = testSystem(options.random === undefined ? {} : { random: options.random })
  const sup = t.system.spawn(Supervisor, {
    name: 'sup',
    args: [
      {
        intensity: 100,
        periodMs: 1_000_000,
        children: [
          childSpec({
            id: 'w',
            actor: Probe,
            args: ['w', t.log],
            backoff,
            ...(options.restart === undefined ? {} : { restart: options.restart }),
            ...(options.capacity === undefined ? {} : { spawn: { mailbox: { capacity: options.capacity } } }),
          }),
        ],
      },
    ],
  })
  const info = async () => (await sup.ask('whichChildren'))[0]
  /** Crashes the child and returns the delay the supervisor scheduled, after checking it to the ms. */
  const crashAndMeasure = async (ref: ActorRef<ProbeProtocol>): Promise<number> => {
    const scheduled = t.ofType('restart-scheduled').length
    const restarted = t.ofType('child-restarted').length
    ref.tell('crash')
    await t.waitForEvents('restart-scheduled', scheduled + 1)
    const delay = (t.ofType('restart-scheduled')[scheduled] as { delayMs: number }).delayMs
    expect((await info())?.status).toBe('restarting')
    t.clock.advance(delay - 1)
    await settle()
    expect(t.ofType('child-restarted')).toHaveLength(restarted)
    t.clock.advance(1)
    await t.waitForEvents('child-restarted', restarted + 1)
    return delay
  }
  return { ...t, sup, info, crashAndMeasure }
}

describe('backoff', () => {
  it('delays restarts exponentially from minMs, capped at maxMs (randomFactor 0): exact on the virtual clock', async () => {
    const { sup, crashAndMeasure, ofType } = setup({ minMs: 100, maxMs: 1000, randomFactor: 0, resetAfterMs: 60_000 })
    const w = await childOf(sup, 'w')
    const delays: number[] = []
    for (let i = 0; i < 6; i++) delays.push(await crashAndMeasure(w))
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000])
    expect(ofType('restart-scheduled').map((e) => e.attempt)).toEqual([0, 1, 2, 3, 4, 5])
    expect(await w.ask('ping')).toBe('pong w') // restarted in place throughout
  })

  it('starts again from minMs once the child has run for resetAfterMs', async () => {
    const { sup, clock, crashAndMeasure } = setup({ minMs: 100, maxMs: 10_000, resetAfterMs: 1000 })
    const w = await childOf(sup, 'w')
    expect(await crashAndMeasure(w)).toBe(100)
    expect(await crashAndMeasure(w)).toBe(200)
    clock.advance(999) // not quite long enough
    expect(await crashAndMeasure(w)).toBe(400)
    clock.advance(1000)
    expect(await crashAndMeasure(w)).toBe(100)
    expect(await crashAndMeasure(w)).toBe(200)
  })

  it('Akka typed restartWithBackoff: resetBackoffAfter defaults to (minMs + maxMs) / 2', async () => {
    const { sup, clock, crashAndMeasure } = setup({ minMs: 100, maxMs: 500 })
    const w = await childOf(sup, 'w')
    expect(await crashAndMeasure(w)).toBe(100)
    expect(await crashAndMeasure(w)).toBe(200)
    clock.advance(299) // (100 + 500) / 2 = 300: not quite
    expect(await crashAndMeasure(w)).toBe(400)
    clock.advance(300)
    expect(await crashAndMeasure(w)).toBe(100)
  })

  it('Pekko BackoffSupervisor delay: randomFactor adds up to randomFactor × delay, drawn from the system Random', async () => {
    const random: Random = { next: () => 0.5 }
    const { sup, crashAndMeasure } = setup({ minMs: 100, maxMs: 1000, randomFactor: 0.2 }, { random })
    const w = await childOf(sup, 'w')
    // Delays are not rounded to whole ms (110.00000000000001 here): compare with a tolerance.
    expect(await crashAndMeasure(w)).toBeCloseTo(110, 9)
    expect(await crashAndMeasure(w)).toBeCloseTo(220, 9)
    // backoffDelay is the same function, exported. As in Pekko the random factor applies after the
    // cap: min(1000, 100 * 2^3) = 800, then 800 * 1.99; and 1000 * 1.5 once capped.
    expect(backoffDelay({ minMs: 100, maxMs: 1000, randomFactor: 1 }, 3, { next: () => 0.99 })).toBeCloseTo(1592, 9)
    expect(backoffDelay({ minMs: 100, maxMs: 1000, randomFactor: 0.5 }, 10, { next: () => 1 })).toBe(1500)
  })

  it('a child waiting for its restart shows as restarting; messages sent meanwhile wait and are handled after', async () => {
    const { system, sup, clock, info, waitForEvents } = setup({ minMs: 500, maxMs: 500 })
    const dead: DeadLetter[] = []
    system.subscribe(DeadLetterTopic, (d) => dead.push(d))
    const w = await childOf(sup, 'w')
    w.tell('crash')
    await waitForEvents('restart-scheduled', 1)
    // whichChildren: restarting, with the (same) ref; lookupChild only returns running children.
    const waiting = await info()
    expect(waiting).toMatchObject({ status: 'restarting', restarts: 0 })
    expect(waiting?.ref?.equals(w)).toBe(true)
    expect(await sup.ask('lookupChild', 'w')).toBeNull()
    expect(await sup.ask('countChildren')).toMatchObject({ active: 1 })
    // Messages sent while it waits queue in its mailbox (the ask's timer is 5000 ms: longer than 500).
    w.tell('inc')
    w.tell('inc')
    const reply = w.ask('inc')
    await settle()
    clock.advance(500)
    expect(await reply).toBe(3) // handled by the new instance, in order
    expect((await info())?.status).toBe('running')
    // Only the message that crashed it was dead-lettered.
    expect(dead.map((d) => [d.envelope.method, d.reason])).toEqual([['crash', 'failed']])
  })

  it('what waits is bounded by the child mailbox: past its capacity, tell throws ERR_MAILBOX_FULL', async () => {
    const { sup, waitForEvents } = setup({ minMs: 500, maxMs: 500 }, { capacity: 2 })
    const w = await childOf(sup, 'w')
    w.tell('crash')
    await waitForEvents('restart-scheduled', 1)
    w.tell('inc')
    w.tell('inc')
    let thrown: unknown
    try {
      w.tell('inc')
    } catch (error) {
      thrown = error
    }
    expect(errorCode(thrown)).toBe('ERR_MAILBOX_FULL')
  })

  it('a permanent child that exited normally has no ref while it waits: messages to the old ref are dead letters', async () => {
    const { system, sup, clock, info, waitForEvents } = setup({ minMs: 300, maxMs: 300 })
    const dead: DeadLetter[] = []
    system.subscribe(DeadLetterTopic, (d) => dead.push(d))
    const w = await childOf(sup, 'w')
    w.tell('quit')
    await waitForEvents('restart-scheduled', 1)
    expect(await info()).toMatchObject({ status: 'restarting', ref: null })
    w.tell('inc')
    await waitFor(() => dead.length === 1)
    expect(dead[0]).toMatchObject({ reason: 'stopped' })
    clock.advance(300)
    await waitForEvents('child-restarted', 1)
    const again = await childOf(sup, 'w')
    expect(again.equals(w)).toBe(false)
    expect(await again.ask('count')).toBe(0)
  })

  it('terminateChild during the wait cancels the restart', async () => {
    const { sup, clock, info, waitForEvents, ofType } = setup({ minMs: 300, maxMs: 300 })
    ;(await childOf(sup, 'w')).tell('crash')
    await waitForEvents('restart-scheduled', 1)
    await sup.ask('terminateChild', 'w')
    clock.advance(1000)
    await settle()
    expect(ofType('child-restarted')).toEqual([])
    expect(await info()).toMatchObject({ status: 'terminated', ref: null })
  })

  it('restarts during backoff are counted against intensity when the failure happens', async () => {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, {
      args: [{ intensity: 1, periodMs: 10_000, children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log], backoff: { minMs: 1000, maxMs: 1000 } })] }],
    })
    ;(await childOf(sup, 'w')).tell('crash')
    await t.waitForEvents('restart-scheduled', 1)
    t.clock.advance(1000)
    await t.waitForEvents('child-restarted', 1)
    ;(await childOf(sup, 'w')).tell('crash')
    await t.waitForEvents('gave-up', 1)
    expect(t.ofType('restart-scheduled')).toHaveLength(1)
  })
})
