import { describe, expect, it } from 'vitest'
import { SystemFailureTopic, type SystemFailure } from '../../../runtime/index.ts'
import { childSpec, Supervisor, SupervisorGaveUpError } from '../../../supervision/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { childOf, Probe, testSystem } from './helpers.ts'

function setup(intensity: number, periodMs: number) {
  const t = testSystem()
  const failures: SystemFailure[] = []
  t.system.subscribe(SystemFailureTopic, (f) => failures.push(f))
  const sup = t.system.spawn(Supervisor, {
    name: 'sup',
    args: [{ intensity, periodMs, children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log] }), childSpec({ id: 'x', actor: Probe, args: ['x', t.log] })] }],
  })
  /** Crashes `w` at virtual time `at` and waits for the supervisor's decision. */
  const crashAt = async (at: number): Promise<'restarted' | 'gave-up'> => {
    t.clock.advanceTo(at)
    const decided = t.ofType('child-restarted').length + t.ofType('gave-up').length
    ;(await childOf(sup, 'w')).tell('crash')
    await waitFor(() => t.ofType('child-restarted').length + t.ofType('gave-up').length > decided)
    return t.ofType('gave-up').length > 0 ? 'gave-up' : 'restarted'
  }
  return { ...t, sup, failures, crashAt }
}

describe('restart intensity', () => {
  it('allows exactly `intensity` restarts within the period; one more gives up', async () => {
    const { system, crashAt, ofType, failures } = setup(3, 1000)
    expect(await crashAt(0)).toBe('restarted')
    expect(await crashAt(100)).toBe('restarted')
    expect(await crashAt(200)).toBe('restarted')
    expect(await crashAt(300)).toBe('gave-up')
    expect(ofType('gave-up')[0]).toMatchObject({ childId: 'w', restarts: 3, periodMs: 1000 })
    await system.whenTerminated
    expect(system.failure).toBeInstanceOf(SupervisorGaveUpError)
    expect(failures).toHaveLength(1)
  })

  it('intensity 0 gives up at the first failure', async () => {
    const { crashAt } = setup(0, 1000)
    expect(await crashAt(0)).toBe('gave-up')
  })

  it('OTP defaults: 1 restart in 5000 ms', async () => {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, { args: [{ children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log] })] }] })
    ;(await childOf(sup, 'w')).tell('crash')
    await t.waitForEvents('child-restarted', 1)
    t.clock.advance(4999)
    ;(await childOf(sup, 'w')).tell('crash')
    await t.waitForEvents('gave-up', 1)
  })

  it('the window slides: restarts leave it one by one as they age past periodMs', async () => {
    // Intensity 2 in 1000 ms. Fixed 1000 ms buckets would see {0, 600} and {1100, 1500} and never
    // give up; the sliding window (500, 1500] holds 600, 1100 and 1500: one too many.
    const { crashAt } = setup(2, 1000)
    expect(await crashAt(0)).toBe('restarted')
    expect(await crashAt(600)).toBe('restarted')
    expect(await crashAt(1100)).toBe('restarted') // 0 has left the window (100, 1100]
    expect(await crashAt(1500)).toBe('gave-up')
  })

  it('the window slides: a budget spent early is available again once those restarts age out', async () => {
    // A counter reset only when a whole period passes without failures would give up at 1650.
    const { crashAt } = setup(2, 1000)
    expect(await crashAt(0)).toBe('restarted')
    expect(await crashAt(100)).toBe('restarted')
    expect(await crashAt(1050)).toBe('restarted') // window (50, 1050]: 100, 1050
    expect(await crashAt(1101)).toBe('restarted') // window (101, 1101]: 1050, 1101
    expect(await crashAt(1650)).toBe('gave-up') // window (650, 1650]: 1050, 1101, 1650
  })

  it('a restart exactly periodMs old has left the window (half-open window (now - period, now])', async () => {
    const { crashAt } = setup(1, 1000)
    expect(await crashAt(0)).toBe('restarted')
    expect(await crashAt(1000)).toBe('restarted')
    expect(await crashAt(1999)).toBe('gave-up')
  })

  it('restarts of different children share one budget', async () => {
    const t = setup(2, 1000)
    ;(await childOf(t.sup, 'w')).tell('crash')
    await t.waitForEvents('child-restarted', 1)
    ;(await childOf(t.sup, 'x')).tell('crash')
    await t.waitForEvents('child-restarted', 2)
    ;(await childOf(t.sup, 'x')).tell('crash')
    await t.waitForEvents('gave-up', 1)
    expect(t.ofType('gave-up')[0]?.childId).toBe('x')
  })

  it('giving up stops the children in reverse start order before failing', async () => {
    const t = setup(0, 1000)
    const x = await childOf(t.sup, 'x')
    t.log.length = 0
    x.tell('crash')
    await t.system.whenTerminated
    expect(t.log).toEqual(['stop x', 'stop w'])
    expect(t.system.failure?.message).toMatch(/gave up/)
    expect((t.system.failure as Error & { cause?: Error }).cause?.message).toBe('boom x')
  })
})
