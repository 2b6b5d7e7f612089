import { describe, expect, it } from 'vitest'
import { Actor, ErrorCodes, errorCode, SystemFailureTopic, type ActorRef, type ActorSystem, type SystemFailure } from '../../../runtime/index.ts'
import { childSpec, Supervisor, SupervisorGaveUpError, type AnyChildSpec, type SupervisorProtocol } from '../../../supervision/index.ts'
import { settle } from '../../../testing/index.ts'
import { childOf, Probe, testSystem } from './helpers.ts'

function setup(topIntensity: number, leafDecider?: (error: Error) => 'escalate' | 'restart') {
  const t = testSystem()
  const failures: SystemFailure[] = []
  t.system.subscribe(SystemFailureTopic, (f) => failures.push(f))
  const leaf = (id: string) => childSpec({ id, actor: Probe, args: [id, t.log], ...(leafDecider === undefined ? {} : { decider: leafDecider }) })
  const top = t.system.spawn(Supervisor, {
    name: 'top',
    args: [
      {
        intensity: topIntensity,
        periodMs: 1000,
        children: [
          childSpec({ id: 'mid', actor: Supervisor, args: [{ intensity: 1, periodMs: 1000, children: [leaf('a'), leaf('b')] }] }),
          childSpec({ id: 'side', actor: Probe, args: ['side', t.log] }),
        ],
      },
    ],
  })
  return { ...t, top, failures }
}

/** top → mid (which its parent resumes on failure) → `child`. */
function underResumingSupervisor(system: ActorSystem, child: AnyChildSpec): ActorRef<SupervisorProtocol> {
  return system.spawn(Supervisor, { args: [{ children: [childSpec({ id: 'mid', actor: Supervisor, decider: () => 'resume', args: [{ children: [child] }] })] }] })
}

describe('escalation', () => {
  it('a nested supervisor that gives up is restarted in place by its parent, and its children with it', async () => {
    const { top, log, ofType, waitForEvents } = setup(3)
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    const side = await childOf(top, 'side')
    expect(await top.ask('whichChildren')).toMatchObject([{ id: 'mid', kind: 'supervisor' }, { id: 'side', kind: 'worker' }])
    const a = await childOf(mid, 'a')
    log.length = 0

    a.tell('crash')
    await waitForEvents('child-restarted', 1, 'a')
    ;(await childOf(mid, 'a')).tell('crash')
    await waitForEvents('child-restarted', 1, 'mid')

    const gaveUp = ofType('gave-up')
    expect(gaveUp).toHaveLength(1)
    expect(gaveUp[0]?.supervisor.equals(mid)).toBe(true)
    const restarted = ofType('child-restarted', 'mid')[0]
    expect(restarted?.supervisor.equals(top)).toBe(true)
    expect(restarted?.child.equals(mid)).toBe(true)
    expect(restarted?.reason).toBeInstanceOf(SupervisorGaveUpError)
    // mid stopped its children in reverse order when it gave up, then its new instance started them.
    expect(log).toEqual(['stop a', 'start a', 'stop b', 'stop a', 'start a', 'start b'])
    // Same ref for the restarted supervisor; fresh incarnations below it; the sibling untouched.
    expect((await childOf(top, 'mid')).equals(mid)).toBe(true)
    expect(await mid.ask('countChildren')).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 })
    expect(await (await childOf(mid, 'b')).ask('ping')).toBe('pong b')
    expect(await side.ask('ping')).toBe('pong side')
    expect((await top.ask('whichChildren')).find((c) => c.id === 'mid')?.restarts).toBe(1)
  })

  it('a decider that escalates fails the parent supervisor with the child error; the grandparent restarts it', async () => {
    const { top, ofType, waitForEvents } = setup(3, () => 'escalate')
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    ;(await childOf(mid, 'b')).tell('crash', 'escalate me')
    await waitForEvents('child-restarted', 1, 'mid')
    expect(ofType('escalated')).toMatchObject([{ childId: 'b', error: { message: 'escalate me' } }])
    expect(ofType('escalated')[0]?.supervisor.equals(mid)).toBe(true)
    expect(ofType('child-restarted', 'mid')[0]?.reason).toMatchObject({ message: 'escalate me' })
    expect(await (await childOf(mid, 'b')).ask('ping')).toBe('pong b')
  })

  it('a root supervisor that gives up terminates the system with SupervisorGaveUpError', async () => {
    const { system, top, failures, ofType, log, waitForEvents } = setup(0)
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    ;(await childOf(mid, 'a')).tell('crash')
    await waitForEvents('child-restarted', 1, 'a')
    ;(await childOf(mid, 'a')).tell('crash')
    await system.whenTerminated
    expect(system.isTerminated).toBe(true)
    expect(system.failure).toBeInstanceOf(SupervisorGaveUpError)
    expect(errorCode(system.failure)).toBe(ErrorCodes.SupervisorGaveUp)
    // The top gave up because mid did: the cause chain says so.
    const cause = (system.failure as Error & { cause?: unknown }).cause
    expect(cause).toBeInstanceOf(SupervisorGaveUpError)
    expect(ofType('gave-up').map((e) => e.supervisor.path)).toEqual([mid.path, top.path])
    expect(failures).toHaveLength(1)
    expect(failures[0]?.error).toBe(system.failure)
    // Everything was stopped, children before parents, in reverse start order.
    expect(log.slice(-3)).toEqual(['stop b', 'stop a', 'stop side'])
  })

  it('a supervisor resumed after an escalation resumes the child that escalated (Akka: resume covers subordinates)', async () => {
    const t = testSystem()
    const top = underResumingSupervisor(t.system, childSpec({ id: 'esc', actor: Probe, args: ['esc', t.log], decider: () => 'escalate' }))
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    const esc = await childOf(mid, 'esc')
    esc.tell('crash')
    await t.waitForEvents('child-resumed', 1, 'mid')
    expect((await mid.ask('whichChildren'))[0]?.status).toBe('running')
    const reply = esc.askWith({ timeoutMs: 100 }, 'ping')
    await settle()
    t.clock.advance(100)
    expect(await reply).toBe('pong esc')
  })

  it('a child that fails while its restart completes and escalates is resumed with its resumed supervisor', async () => {
    interface EagerProtocol {
      ping(): string
      boom(): void
      crash(): void
    }
    /** Fails on a message it sends itself in preStart: the failure reaches the supervisor mid-start. */
    class Eager extends Actor<EagerProtocol> implements EagerProtocol {
      private readonly state: { starts: number }
      constructor(state: { starts: number }) {
        super()
        this.state = state
      }
      override preStart(): void {
        // The restarted incarnation fails at once, while its supervisor is still completing the restart.
        if (this.state.starts++ === 1) this.self.tell('boom')
      }
      crash(): void {
        throw new Error('crash')
      }
      ping(): string {
        return 'pong eager'
      }
      boom(): void {
        throw new Error('boom during start')
      }
    }
    const t = testSystem()
    const state = { starts: 0 }
    const top = underResumingSupervisor(t.system, childSpec({ id: 'eager', actor: Eager, args: [state], decider: (e) => (e.message === 'crash' ? 'restart' : 'escalate') }))
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    const eager = await childOf<EagerProtocol>(mid, 'eager')
    eager.tell('crash')
    await t.waitForEvents('child-resumed', 1, 'mid')
    expect(t.ofType('escalated', 'eager')).toHaveLength(1)
    const reply = eager.askWith({ timeoutMs: 100 }, 'ping')
    await settle()
    t.clock.advance(100)
    expect(await reply).toBe('pong eager')
    expect(state.starts).toBe(2)
  })
})
