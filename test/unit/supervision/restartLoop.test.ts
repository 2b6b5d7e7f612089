/**
 * OTP supervisor_SUITE's hanging_restart_loop cases: a child whose restart keeps failing (its start
 * fails after a delay) must leave the supervisor controllable. which_children/count_children show it
 * restarting, terminate_child ends the loop, the supervisor's own stop completes, rest_for_one starts
 * the later children once the failing one is back (not after every attempt), and a dynamic pool
 * terminates the looping child by the ref it had.
 */
import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../../runtime/index.ts'
import { childSpec, DynamicSupervisor, Supervisor, type DynamicSupervisorProtocol, type Strategy } from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { childOf, started, statuses, testSystem } from './helpers.ts'

interface SlowControl {
  /** Starts of this label fail (after the delay) while this returns true. */
  failing: (label: string) => boolean
}

interface SlowProtocol {
  ping(): string
  crash(): void
}

const START_DELAY_MS = 100

/** A worker whose (re)start takes START_DELAY_MS of virtual time and then may fail. */
class SlowStart extends Actor<SlowProtocol> implements SlowProtocol {
  private readonly label: string
  private readonly log: string[]
  private readonly control: SlowControl
  constructor(label: string, log: string[], control: SlowControl) {
    super()
    this.label = label
    this.log = log
    this.control = control
  }
  override async preStart(): Promise<void> {
    await new Promise<void>((resolve) => this.context.system.clock.setTimer(START_DELAY_MS, resolve))
    if (this.control.failing(this.label)) {
      this.log.push(`start-failed ${this.label}`)
      throw new Error(`start of ${this.label} failed`)
    }
    this.log.push(`start ${this.label}`)
  }
  ping(): string {
    return `pong ${this.label}`
  }
  crash(): void {
    throw new Error(`boom ${this.label}`)
  }
}

function setup(strategy: Strategy) {
  const t = testSystem()
  const failing = new Set<string>()
  const control: SlowControl = { failing: (label) => failing.has(label) }
  const spec = (id: string) => childSpec({ id, actor: SlowStart, args: [id, t.log, control] })
  const sup = t.system.spawn(Supervisor, { name: 'sup', args: [{ strategy, intensity: 'unlimited', children: [spec('a'), spec('b'), spec('c')] }] })
  /** Advances virtual time one start delay at a time until `condition` holds. */
  const advanceUntil = async (condition: () => boolean, message: string) => {
    await waitFor(
      () => {
        if (condition()) return true
        t.clock.advance(START_DELAY_MS)
        return false
      },
      { message, timeoutMs: 20_000 },
    )
  }
  return { ...t, sup, failing, advanceUntil }
}

const starts = (log: readonly string[], label: string) => log.filter((l) => l === `start-failed ${label}`).length

describe('hanging restart loops (OTP hanging_restart_loop)', () => {
  it('hanging_restart_loop: which/count show it restarting; terminate_child ends the loop; no retry after it', async () => {
    const { sup, log, failing, advanceUntil } = setup('one_for_one')
    await advanceUntil(() => log.includes('start c'), 'initial start')
    const b = await childOf<SlowProtocol>(sup, 'b')
    failing.add('b')
    b.tell('crash')
    await advanceUntil(() => starts(log, 'b') >= 3, 'three failed restarts of b')
    expect((await statuses(sup))['b']).toBe('restarting')
    expect(await sup.ask('countChildren')).toMatchObject({ specs: 3, active: 2 })
    const terminated = sup.ask('terminateChild', 'b')
    let done = false
    void terminated.then(() => (done = true))
    await advanceUntil(() => done, 'terminateChild to complete')
    const attempts = starts(log, 'b')
    expect(await statuses(sup)).toEqual({ a: 'running', b: 'terminated', c: 'running' })
    // Time passes: the queued retry does not start it again.
    for (let i = 0; i < 10; i++) {
      sup.tell('countChildren')
      await settle(2)
    }
    expect(starts(log, 'b')).toBe(attempts)
    expect(log.filter((l) => l === 'start b')).toEqual(['start b'])
  })

  it('hanging_restart_loop: the supervisor stops while a child keeps failing to restart', async () => {
    const { system, sup, log, failing, clock, advanceUntil } = setup('one_for_one')
    await advanceUntil(() => log.includes('start c'), 'initial start')
    failing.add('b')
    ;(await childOf<SlowProtocol>(sup, 'b')).tell('crash')
    await advanceUntil(() => starts(log, 'b') >= 2, 'b looping')
    let stopped = false
    void system.stop(sup).then(() => (stopped = true))
    await advanceUntil(() => stopped, 'the supervisor to stop')
    expect(clock.now()).toBeLessThan(60_000)
    expect(system.actorCount).toBe(0)
  })

  it('hanging_restart_loop_rest_for_one: the later children start once the failing one comes back, not after every attempt', async () => {
    const { sup, log, failing, advanceUntil } = setup('rest_for_one')
    await advanceUntil(() => log.includes('start c'), 'initial start')
    failing.add('b')
    ;(await childOf<SlowProtocol>(sup, 'b')).tell('crash')
    await advanceUntil(() => starts(log, 'b') >= 3, 'b looping')
    expect(await statuses(sup)).toEqual({ a: 'running', b: 'restarting', c: 'restarting' })
    expect(log.filter((l) => l === 'start c')).toEqual(['start c']) // only the initial start so far
    failing.delete('b')
    await advanceUntil(() => log.filter((l) => l === 'start c').length === 2, 'c restarted after b')
    const after = log.slice(log.lastIndexOf('start-failed b') + 1)
    expect(after).toEqual(['start b', 'start c'])
    expect(await statuses(sup)).toEqual({ a: 'running', b: 'running', c: 'running' })
  })

  it('hanging_restart_loop_simple: a dynamic pool terminates a looping child by the ref it had', async () => {
    const t = testSystem()
    const failing = new Set<string>()
    const pool = t.system.spawn(DynamicSupervisor, {
      args: [{ intensity: 'unlimited', child: { actor: SlowStart } }],
    }) as ActorRef<DynamicSupervisorProtocol<typeof SlowStart>>
    const advance = async (condition: () => boolean) =>
      waitFor(() => {
        if (condition()) return true
        t.clock.advance(START_DELAY_MS)
        return false
      }, { timeoutMs: 20_000 })
    let one: ActorRef<SlowProtocol> | null = null
    void started(pool.ask('startChild', 'one', t.log, { failing: (l) => failing.has(l) })).then((ref) => (one = ref))
    await advance(() => one !== null)
    failing.add('one')
    ;(one as unknown as ActorRef<SlowProtocol>).tell('crash')
    await advance(() => starts(t.log, 'one') >= 2)
    expect((await pool.ask('whichChildren')).map((c) => c.status)).toEqual(['restarting'])
    let done = false
    void pool.ask('terminateChild', one as unknown as ActorRef<SlowProtocol>).then(() => (done = true))
    await advance(() => done)
    expect(await pool.ask('whichChildren')).toEqual([])
    const attempts = starts(t.log, 'one')
    t.clock.advance(10 * START_DELAY_MS)
    await settle()
    expect(starts(t.log, 'one')).toBe(attempts)
  })
})
