import { describe, expect, it } from 'vitest'
import type { ActorRef, Terminated } from '../../../runtime/index.ts'
import { childSpec, Supervisor, type Shutdown, type SupervisorProtocol } from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { childOf, Gate, Probe, statuses, testSystem, type ProbeControl } from './helpers.ts'

function setup(control: ProbeControl, shutdown?: Shutdown) {
  const t = testSystem()
  const sup = t.system.spawn(Supervisor, {
    name: 'sup',
    args: [
      {
        children: [
          childSpec({ id: 'a', actor: Probe, args: ['a', t.log] }),
          childSpec({ id: 'w', actor: Probe, args: ['w', t.log, control], ...(shutdown === undefined ? {} : { shutdown }) }),
          childSpec({ id: 'z', actor: Probe, args: ['z', t.log] }),
        ],
      },
    ],
  })
  return { ...t, sup }
}

/** Records when a promise settles, so a test can assert it has not yet. */
function track<T>(promise: Promise<T>): { settled: () => boolean; value: Promise<T> } {
  let done = false
  void promise.then(() => (done = true))
  return { settled: () => done, value: promise }
}

describe('shutdown', () => {
  it('a worker whose postStop never finishes is killed after its default 5000 ms; the rest stop in reverse order', async () => {
    const gate = new Gate()
    const { system, clock, sup, log } = setup({ stopGate: gate })
    const w = await childOf(sup, 'w')
    const wGone = track(system.watch(w))
    log.length = 0
    const supGone = track(system.stop(sup))
    await waitFor(() => log.includes('stop w'))
    expect(log).toEqual(['stop z', 'stop w'])
    clock.advance(4999)
    await settle()
    expect(wGone.settled()).toBe(false)
    clock.advance(1)
    expect((await wGone.value).reason.kind).toBe('killed')
    await supGone.value
    expect(log).toEqual(['stop z', 'stop w', 'stop a'])
  })

  it('a worker whose onStopping never finishes is killed after its shutdown ms (postStop not run)', async () => {
    const { system, clock, sup, log } = setup({ stoppingGate: new Gate() }, 300)
    const w = await childOf(sup, 'w')
    const done = track(sup.ask('terminateChild', 'w'))
    await waitFor(() => log.includes('stopping w'))
    clock.advance(299)
    expect(done.settled()).toBe(false)
    clock.advance(1)
    await done.value
    expect((await system.watch(w)).reason.kind).toBe('killed')
    expect(log).not.toContain('stop w')
    expect(await statuses(sup)).toEqual({ a: 'running', w: 'terminated', z: 'running' })
  })

  it('a worker stuck in an async handler cannot even see the stop; it is killed after its shutdown ms', async () => {
    const { system, clock, sup, log } = setup({}, 1000)
    const w = await childOf(sup, 'w')
    w.tell('hang')
    await waitFor(() => log.includes('hang w'))
    const wGone = track(system.watch(w))
    const supGone = track(system.stop(sup))
    // z stops at once; then the supervisor waits for w under a 1000 ms kill timer.
    await waitFor(() => log.includes('stop z') && clock.nextDue === clock.now() + 1000)
    clock.advance(999)
    expect(wGone.settled()).toBe(false)
    clock.advance(1)
    expect((await wGone.value).reason.kind).toBe('killed')
    await supGone.value
    expect(log).not.toContain('stop w')
  })

  it("'brutal' kills at once: postStop does not run", async () => {
    const { system, sup, log } = setup({}, 'brutal')
    const w = await childOf(sup, 'w')
    await sup.ask('terminateChild', 'w')
    expect((await system.watch(w)).reason.kind).toBe('killed')
    expect(log).not.toContain('stop w')
    await system.stop(sup)
    expect(log).toEqual(['start a', 'start w', 'start z', 'stop z', 'stop a'])
  })

  it("'infinity' waits as long as it takes", async () => {
    const gate = new Gate()
    const { system, clock, sup, log } = setup({ stopGate: gate }, 'infinity')
    const w = await childOf(sup, 'w')
    const wGone = track(system.watch(w))
    // The ask's own timeout runs on the same virtual clock: make it longer than the wait.
    const done = track(sup.askWith({ timeoutMs: 1e9 }, 'terminateChild', 'w'))
    await waitFor(() => log.includes('stop w'))
    clock.advance(3_600_000)
    await settle()
    expect(wGone.settled()).toBe(false)
    gate.open()
    expect((await wGone.value).reason.kind).toBe('shutdown')
    await done.value
    expect(await statuses(sup)).toEqual({ a: 'running', w: 'terminated', z: 'running' })
  })

  it('a supervisor child gets infinity by default: its own children decide how long it takes', async () => {
    const t = testSystem()
    const gate = new Gate()
    const top = t.system.spawn(Supervisor, {
      name: 'top',
      args: [
        {
          children: [
            childSpec({
              id: 'mid',
              actor: Supervisor,
              args: [{ children: [childSpec({ id: 'slow', actor: Probe, args: ['slow', t.log, { stopGate: gate }], shutdown: 'infinity' })] }],
            }),
          ],
        },
      ],
    })
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    const midGone = track(t.system.watch(mid))
    const topGone = track(t.system.stop(top))
    await waitFor(() => t.log.includes('stop slow'))
    t.clock.advance(60_000) // far beyond a worker's 5000 ms default
    await settle()
    expect(midGone.settled()).toBe(false)
    gate.open()
    const terminated: Terminated = await midGone.value
    expect(terminated.reason.kind).toBe('shutdown') // stopped, not killed
    await topGone.value
    expect((await t.system.watch(top as ActorRef<any>)).reason.kind).toBe('shutdown')
  })

  it("a 'brutal' child is never restarted in place: a restart kills it and starts a new incarnation", async () => {
    const { sup, log, waitForEvents } = setup({}, 'brutal')
    const w = await childOf(sup, 'w')
    log.length = 0
    w.tell('crash')
    await waitForEvents('child-restarted', 1)
    expect(log).toEqual(['start w']) // no preRestart/postStop
    expect((await childOf(sup, 'w')).equals(w)).toBe(false)
  })
})
