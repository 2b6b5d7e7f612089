import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, type MailboxHooks } from '../../../../runtime/index.ts'
import { childSpec, Supervisor } from '../../../../supervision/index.ts'
import { VirtualClock, waitFor } from '../../../../testing/index.ts'
import { ActorActivity, WATCH_LEASE_MS } from '../../../../cluster/introspection/ActorActivity.ts'
import { SystemIntrospector } from '../../../../cluster/introspection/SystemIntrospector.ts'
import type { ActorSnapshot } from '../../../../cluster/introspection/types.ts'

class Worker extends Actor<{ work(): number; crash(): void; hold(ms: number): Promise<void> }> {
  private done = 0
  work(): number {
    return ++this.done
  }
  crash(): void {
    throw new Error('boom')
  }
  async hold(ms: number): Promise<void> {
    await new Promise<void>((resolve) => this.context.system.clock.setTimer(ms, resolve))
  }
}

class Leaf extends Actor<{ spawnChild(): void }> {
  spawnChild(): void {
    this.context.spawn(Worker, { name: 'inner' })
  }
}

const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((system) => system.terminate()))
})

function start(base: MailboxHooks = {}, clock?: VirtualClock): { system: ActorSystem; activity: ActorActivity; introspector: SystemIntrospector } {
  const activity = new ActorActivity(base)
  const system = ActorSystem.create({ name: 'intro', mailboxHooks: activity.hooks, ...(clock === undefined ? {} : { clock }) })
  systems.push(system)
  activity.attach(system)
  return { system, activity, introspector: new SystemIntrospector(system, activity) }
}

function find(tree: readonly ActorSnapshot[], path: string): ActorSnapshot | undefined {
  for (const actor of tree) {
    if (actor.path === path) return actor
    const inner = find(actor.children, path)
    if (inner !== undefined) return inner
  }
  return undefined
}

describe('introspection snapshots', () => {
  it('shows the supervision tree with types, statuses and children', async () => {
    const { system, introspector } = start()
    const supervisor = system.spawn(Supervisor, { name: 'top', args: [{ strategy: 'one_for_one', children: [childSpec({ id: 'w', actor: Worker })] }] })
    const leaf = system.spawn(Leaf, { name: 'leaf' })
    await leaf.ask('spawnChild')
    await waitFor(() => find(introspector.tree().tree, '/user/top/w')?.status === 'running' && find(introspector.tree().tree, '/user/top')?.status === 'running', { timeoutMs: 2000 })
    const shard = introspector.tree()
    expect(shard).toMatchObject({ shard: 0, state: 'up', truncated: false, actors: 4 })
    expect(find(shard.tree, '/user/top')).toMatchObject({ type: 'Supervisor', status: 'running', childCount: 1 })
    expect(find(shard.tree, '/user/top/w')).toMatchObject({ type: 'Worker', name: 'w', restarts: 0, lastFailure: null })
    expect(find(shard.tree, '/user/leaf/inner')).toMatchObject({ type: 'Worker', status: 'running' })
    expect(introspector.actor('/user/leaf')?.children.map((c) => c.path)).toEqual(['/user/leaf/inner'])
    expect(introspector.actor('/user/nobody')).toBeNull()
    void supervisor
  })

  it('cuts the walk at maxActors and says so', () => {
    const { system, introspector } = start()
    for (let i = 0; i < 10; i++) system.spawn(Worker, { name: `w${i}` })
    const shard = introspector.tree(4)
    expect(shard.truncated).toBe(true)
    expect(shard.tree).toHaveLength(4)
    expect(shard.actors).toBe(10)
  })

  it('reports mailbox depth of a busy actor', async () => {
    const { system, introspector } = start()
    const worker = system.spawn(Worker, { name: 'busy' })
    void worker.ask('hold', 200)
    for (let i = 0; i < 5; i++) worker.tell('work')
    await waitFor(() => introspector.actor('/user/busy')?.mailbox === 5, { timeoutMs: 2000 })
    expect(introspector.health().mailboxTotal).toBe(5)
  })

  it('counts a Supervisor child restart once, with the last failure', async () => {
    const { system, introspector } = start()
    system.spawn(Supervisor, { name: 'top', args: [{ strategy: 'one_for_one', children: [childSpec({ id: 'w', actor: Worker })] }] })
    await waitFor(() => system.resolvePath('/user/top/w') !== undefined, { timeoutMs: 2000 })
    const worker = system.resolvePath<{ crash(): void; work(): number }>('/user/top/w')
    worker?.tell('crash')
    await waitFor(() => introspector.actor('/user/top/w')?.restarts === 1, { timeoutMs: 2000 })
    const actor = introspector.actor('/user/top/w')
    expect(actor?.lastFailure).toMatchObject({ name: 'Error', message: 'boom', method: 'crash' })
    // Settled: still one.
    await system.resolvePath<{ work(): number }>('/user/top/w')?.ask('work')
    expect(introspector.actor('/user/top/w')?.restarts).toBe(1)
  })

  it('records dead letters with their target and method', async () => {
    const { system, activity } = start()
    const worker = system.spawn(Worker, { name: 'gone' })
    await system.stop(worker)
    worker.tell('work')
    await waitFor(() => activity.deadLetters().length === 1, { timeoutMs: 2000 })
    expect(activity.deadLetters()[0]).toMatchObject({ target: '/user/gone', method: 'work', shard: 0 })
    const seq = activity.deadLetters()[0]?.seq ?? 0
    expect(activity.deadLetters(seq)).toEqual([])
  })
})

describe('per-actor processed counting costs nothing until someone watches', () => {
  it('leaves the base hooks in place when idle, counts while watched, and swaps back after the lease', async () => {
    const seen: string[] = []
    const base: MailboxHooks = { received: (actor) => seen.push(actor.path) }
    const clock = new VirtualClock()
    const { system, activity, introspector } = start(base, clock)
    expect(activity.hooks.received).toBe(base.received)
    const worker = system.spawn(Worker, { name: 'w' })
    await worker.ask('work')
    expect(introspector.actor('/user/w')?.processed).toBe(0)
    // That request armed the counter.
    expect(activity.watching).toBe(true)
    expect(activity.hooks.received).not.toBe(base.received)
    for (let i = 0; i < 3; i++) await worker.ask('work')
    expect(introspector.actor('/user/w')?.processed).toBe(3)
    expect(seen.filter((path) => path === '/user/w')).toHaveLength(4)
    clock.advance(WATCH_LEASE_MS + 1)
    expect(activity.watching).toBe(false)
    expect(activity.hooks.received).toBe(base.received)
  })

  it('keeps counting while requests renew the lease', () => {
    const clock = new VirtualClock()
    const { activity, introspector } = start({}, clock)
    introspector.health()
    clock.advance(WATCH_LEASE_MS - 1000)
    introspector.health()
    clock.advance(WATCH_LEASE_MS - 1000)
    expect(activity.watching).toBe(true)
    clock.advance(2000)
    expect(activity.watching).toBe(false)
  })
})
