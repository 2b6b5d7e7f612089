import { describe, expect, it } from 'vitest'
import { Actor, ActorSystem, type ActorRef } from '../../../runtime/index.ts'
import { childSpec, Supervisor, SupervisorEventTopic, type SupervisorEvent, type SupervisorProtocol } from '../../../supervision/index.ts'
import { VirtualClock, waitFor } from '../../../testing/index.ts'

const log: string[] = []

interface WorkerProtocol {
  crash(): void
  ping(): string
  quit(): void
}
class Worker extends Actor<WorkerProtocol> implements WorkerProtocol {
  readonly label: string
  constructor(label: string) {
    super()
    this.label = label
  }
  override preStart() {
    log.push(`start ${this.label}`)
  }
  override postStop() {
    log.push(`stop ${this.label}`)
  }
  crash() {
    throw new Error(`boom ${this.label}`)
  }
  ping() {
    return `pong ${this.label}`
  }
  quit() {
    this.context.stop()
  }
}

function setup(strategy: 'one_for_one' | 'one_for_all' | 'rest_for_one', intensity = 3) {
  log.length = 0
  const clock = new VirtualClock()
  const system = ActorSystem.create({ name: 'sup', clock })
  const events: SupervisorEvent[] = []
  system.subscribe(SupervisorEventTopic, (e) => events.push(e))
  const sup = system.spawn(Supervisor, {
    name: 'root',
    args: [
      {
        strategy,
        intensity,
        periodMs: 1000,
        children: ['a', 'b', 'c'].map((id) => childSpec({ id, actor: Worker, args: [id] })),
      },
    ],
  })
  return { system, clock, sup, events }
}

async function child(sup: ActorRef<SupervisorProtocol>, id: string): Promise<ActorRef<WorkerProtocol>> {
  const ref: ActorRef<WorkerProtocol> | null = await sup.ask('lookupChild', id)
  if (ref === null) throw new Error(`no child ${id}`)
  return ref
}

describe('Supervisor', () => {
  it('starts children in order and stops them in reverse', async () => {
    const { system, sup } = setup('one_for_one')
    expect(await sup.ask('countChildren')).toEqual({ specs: 3, active: 3, supervisors: 0, workers: 3 })
    expect(log).toEqual(['start a', 'start b', 'start c'])
    log.length = 0
    await system.stop(sup)
    expect(log).toEqual(['stop c', 'stop b', 'stop a'])
  })

  it('one_for_one restarts only the failed child, in place', async () => {
    const { sup, events } = setup('one_for_one')
    const b = await child(sup, 'b')
    log.length = 0
    b.tell('crash')
    await waitFor(() => events.some((e) => e.type === 'child-restarted'))
    expect(log).toEqual(['stop b', 'start b'])
    expect(await b.ask('ping')).toBe('pong b')
  })

  it('one_for_all stops all in reverse order then starts all in order', async () => {
    const { sup, events } = setup('one_for_all')
    const b = await child(sup, 'b')
    log.length = 0
    b.tell('crash')
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length === 3)
    expect(log).toEqual(['stop c', 'stop b', 'stop a', 'start a', 'start b', 'start c'])
  })

  it('rest_for_one restarts the failed child and those after it', async () => {
    const { sup, events } = setup('rest_for_one')
    const b = await child(sup, 'b')
    log.length = 0
    b.tell('crash')
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length === 2)
    expect(log).toEqual(['stop c', 'stop b', 'start b', 'start c'])
  })

  it('gives up after intensity is exceeded and escalates to the root', async () => {
    const { system, sup, events } = setup('one_for_one', 2)
    const a = await child(sup, 'a')
    for (let i = 0; i < 3; i++) {
      a.tell('crash')
      await waitFor(() => events.filter((e) => e.type === 'child-restarted' || e.type === 'gave-up').length === i + 1)
    }
    expect(events.some((e) => e.type === 'gave-up')).toBe(true)
    await system.whenTerminated
    expect(system.failure?.name).toBe('SupervisorGaveUpError')
  })

  it('restarts a permanent child that stopped normally (new incarnation)', async () => {
    const { sup, events } = setup('one_for_one')
    const c = await child(sup, 'c')
    c.tell('quit')
    await waitFor(() => events.some((e) => e.type === 'child-restarted'))
    const again = await child(sup, 'c')
    expect(again.equals(c)).toBe(false)
    expect(await again.ask('ping')).toBe('pong c')
  })
})

describe('Supervisor strategies, more cases', () => {
  function setupWith(strategy: 'one_for_all' | 'rest_for_one', restartTypes: Record<string, 'permanent' | 'transient' | 'temporary'>, intensity = 5) {
    log.length = 0
    const clock = new VirtualClock()
    const system = ActorSystem.create({ name: 'sup2', clock })
    const events: SupervisorEvent[] = []
    system.subscribe(SupervisorEventTopic, (e) => events.push(e))
    const sup = system.spawn(Supervisor, {
      args: [{ strategy, intensity, periodMs: 1000, children: Object.entries(restartTypes).map(([id, restart]) => childSpec({ id, actor: Worker, args: [id], restart })) }],
    })
    return { system, sup, events }
  }

  it('one_for_all restarts living siblings in place: same refs, fresh instances', async () => {
    const { sup, events } = setupWith('one_for_all', { a: 'permanent', b: 'permanent', c: 'permanent' })
    const refs = await Promise.all(['a', 'b', 'c'].map((id) => child(sup, id)))
    refs[2]?.tell('crash')
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length === 3)
    for (const [i, id] of ['a', 'b', 'c'].entries()) expect((await child(sup, id)).equals(refs[i])).toBe(true)
    expect((await sup.ask('whichChildren')).map((c) => c.restarts)).toEqual([1, 1, 1])
  })

  it('one_for_all: a temporary sibling is stopped and forgotten, not restarted (OTP)', async () => {
    const { sup, events } = setupWith('one_for_all', { a: 'permanent', t: 'temporary', c: 'permanent' })
    const a = await child(sup, 'a')
    log.length = 0
    a.tell('crash')
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length === 2)
    expect(log).toEqual(['stop c', 'stop t', 'stop a', 'start a', 'start c'])
    expect((await sup.ask('whichChildren')).map((c) => c.id)).toEqual(['a', 'c'])
    expect(events.filter((e) => e.type === 'child-stopped').map((e) => e.childId)).toEqual(['t'])
  })

  it('one_for_all: a permanent child that stopped normally restarts the group; it comes back with a new ref', async () => {
    const { sup, events } = setupWith('one_for_all', { a: 'permanent', b: 'permanent' })
    const a = await child(sup, 'a')
    const b = await child(sup, 'b')
    log.length = 0
    b.tell('quit')
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length === 2)
    expect(log).toEqual(['stop b', 'stop a', 'start a', 'start b'])
    expect((await child(sup, 'a')).equals(a)).toBe(true)
    expect((await child(sup, 'b')).equals(b)).toBe(false)
  })

  it('one_for_all: a transient child exiting normally restarts nothing', async () => {
    const { sup, events } = setupWith('one_for_all', { a: 'permanent', b: 'transient' })
    ;(await child(sup, 'b')).tell('quit')
    await waitFor(() => events.some((e) => e.type === 'child-stopped'))
    expect(events.filter((e) => e.type === 'child-restarted')).toEqual([])
    expect(log).toEqual(['start a', 'start b', 'stop b'])
  })

  it('rest_for_one: the last child failing restarts only itself; the first restarts all', async () => {
    const { sup, events } = setupWith('rest_for_one', { a: 'permanent', b: 'permanent', c: 'permanent' })
    const c = await child(sup, 'c')
    log.length = 0
    c.tell('crash')
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length === 1)
    expect(log).toEqual(['stop c', 'start c'])
    log.length = 0
    ;(await child(sup, 'a')).tell('crash')
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length === 4)
    expect(log).toEqual(['stop c', 'stop b', 'stop a', 'start a', 'start b', 'start c'])
  })

  it('one_for_all: two children failing in the same turn cost one restart, as in OTP', async () => {
    const { sup, events } = setupWith('one_for_all', { a: 'permanent', b: 'permanent' }, 1)
    const a = await child(sup, 'a')
    const b = await child(sup, 'b')
    a.tell('crash')
    b.tell('crash')
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length >= 2 || events.some((e) => e.type === 'gave-up'))
    expect(events.some((e) => e.type === 'gave-up')).toBe(false)
    expect(await a.ask('ping')).toBe('pong a')
    expect(await b.ask('ping')).toBe('pong b')
  })

  it('one_for_all: a child that fails again on its next queued message, mid group restart, gets a second group restart', async () => {
    const { sup, events } = setupWith('one_for_all', { a: 'permanent', b: 'permanent', c: 'permanent' }, 2)
    const a = await child(sup, 'a')
    log.length = 0
    a.tell('crash')
    a.tell('crash') // reaches the restarted a while b and c are still being started
    await waitFor(() => events.filter((e) => e.type === 'child-restarted').length === 6)
    expect(events.some((e) => e.type === 'gave-up')).toBe(false)
    expect((await sup.ask('whichChildren')).map((c) => c.restarts)).toEqual([2, 2, 2])
    expect(log).toEqual(['stop c', 'stop b', 'stop a', 'start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a', 'start a', 'start b', 'start c'])
  })
})
