/**
 * OTP supervisor_SUITE cases about groups of children: significant bystanders during group restarts,
 * a dynamic pool's concurrent shutdown (simple_one_for_one_shutdown) and O(1) lookups by ref, and the
 * exit reason of a supervisor that gives up (shutdown, as seen by its parent's restart type).
 */
import { describe, expect, it } from 'vitest'
import { errorCode, type ActorRef } from '../../../runtime/index.ts'
import { childSpec, DynamicSupervisor, SupervisorGaveUpError, Supervisor, type DynamicSupervisorProtocol, type Strategy, type SupervisorProtocol } from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { childOf, Gate, Probe, started, statuses, testSystem } from './helpers.ts'

describe('significant children during group restarts', () => {
  for (const strategy of ['one_for_all', 'rest_for_one'] as const satisfies readonly Strategy[]) {
    it(`significant_bystander (${strategy}): siblings the supervisor stops in a group restart never trigger auto shutdown, temporary ones included`, async () => {
      const t = testSystem()
      const sup = t.system.spawn(Supervisor, {
        args: [
          {
            strategy,
            autoShutdown: 'any_significant',
            intensity: 5,
            children: [
              childSpec({ id: 'a', actor: Probe, args: ['a', t.log] }),
              childSpec({ id: 'tmp', actor: Probe, args: ['tmp', t.log], restart: 'temporary', significant: true }),
              childSpec({ id: 'tr', actor: Probe, args: ['tr', t.log], restart: 'transient', significant: true }),
            ],
          },
        ],
      })
      ;(await childOf(sup, 'a')).tell('crash')
      await t.waitForEvents('child-restarted', 2) // a and tr; tmp is stopped and forgotten
      await settle()
      expect(t.ofType('auto-shutdown')).toEqual([])
      expect(await statuses(sup)).toEqual({ a: 'running', tr: 'running' })
      expect(t.system.isTerminated).toBe(false)
    })
  }
})

describe('dynamic pools', () => {
  it('simple_one_for_one_shutdown: children stop concurrently, each within its own shutdown', async () => {
    const t = testSystem()
    const stuck = new Gate() // never opened: every child ignores its stop until killed
    const pool = t.system.spawn(DynamicSupervisor, { args: [{ child: { actor: Probe, shutdown: 1000 } }] }) as ActorRef<DynamicSupervisorProtocol<typeof Probe>>
    for (let i = 0; i < 5; i++) await pool.ask('startChild', `c${i}`, t.log, { stopGate: stuck })
    let stopped = false
    void t.system.stop(pool).then(() => (stopped = true))
    await waitFor(() => t.log.filter((l) => l.startsWith('stop ')).length === 5)
    // One shutdown timeout for all five (sequential would need 5 × 1000 ms).
    t.clock.advance(1000)
    await waitFor(() => stopped, { message: 'the pool to stop after one shutdown period' })
    expect(t.clock.now()).toBe(1000)
  })

  it('count_children: one spec for a dynamic pool; terminate_child by ref for many children', async () => {
    const t = testSystem()
    const pool = t.system.spawn(DynamicSupervisor, { args: [{ child: { actor: Probe, restart: 'temporary' } }] }) as ActorRef<DynamicSupervisorProtocol<typeof Probe>>
    const refs: ActorRef<unknown>[] = []
    for (let i = 0; i < 2000; i++) refs.push(await started(pool.ask('startChild', `c${i}`, [])))
    expect(await pool.ask('countChildren')).toEqual({ specs: 1, active: 2000, supervisors: 0, workers: 2000 })
    // In reverse, the worst case for a list scan.
    await Promise.all(refs.reverse().map((ref) => pool.ask('terminateChild', ref)))
    expect(await pool.ask('countChildren')).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 0 })
    expect(errorCode(await pool.ask('terminateChild', refs[0] as ActorRef<unknown>).catch((e: unknown) => e))).toBe('ERR_UNKNOWN_CHILD')
  })
})

describe('a supervisor that gives up', () => {
  function tree(restart: 'permanent' | 'transient') {
    const t = testSystem()
    const top = t.system.spawn(Supervisor, {
      args: [
        {
          intensity: 5,
          children: [
            childSpec({ id: 'mid', actor: Supervisor, restart, args: [{ intensity: 0, children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log] })] }] }),
            childSpec({ id: 'other', actor: Probe, args: ['other', t.log] }),
          ],
        },
      ],
    })
    return { ...t, top }
  }

  it('tree: exits with shutdown to its parent, so a transient supervisor child is not restarted (OTP)', async () => {
    const { top, waitForEvents, ofType } = tree('transient')
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    ;(await childOf(mid, 'w')).tell('crash')
    await waitForEvents('child-stopped', 1, 'mid')
    expect(ofType('child-stopped', 'mid')[0]?.reason).toEqual({ kind: 'shutdown' })
    expect(await statuses(top)).toEqual({ mid: 'terminated', other: 'running' })
  })

  it('tree: a permanent supervisor child that gave up is restarted, the give-up error in the event', async () => {
    const { top, waitForEvents, ofType } = tree('permanent')
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    ;(await childOf(mid, 'w')).tell('crash')
    await waitForEvents('child-restarted', 1, 'mid')
    expect(ofType('child-restarted', 'mid')[0]?.reason).toBeInstanceOf(SupervisorGaveUpError)
    expect(await statuses(top)).toEqual({ mid: 'running', other: 'running' })
  })
})
