import { describe, expect, it } from 'vitest'
import { Actor, ActorInitError, ErrorCodes, LifecycleTopic, NameTakenError, SystemTerminatedError, type ActorRef, type LifecycleEvent } from '../../../runtime/index.ts'
import { collectDeadLetters, deferred, settle, track, useSystems, waitFor, type Deferred } from './support/helpers.ts'

const newSystem = useSystems()

interface SlowStartProtocol {
  ping(value: string): string
}
class SlowStart extends Actor<SlowStartProtocol> implements SlowStartProtocol {
  private readonly log: string[]
  private readonly ready: Deferred<void>
  constructor(log: string[], ready: Deferred<void>) {
    super()
    this.log = log
    this.ready = ready
  }
  override async preStart(): Promise<void> {
    this.log.push('preStart begins')
    await this.ready.promise
    this.log.push('preStart ends')
  }
  ping(value: string): string {
    this.log.push(`ping ${value}`)
    return value
  }
}

interface HookProtocol {
  record(value: string): void
  crash(message: string): void
  spawnChild(name: string): ActorRef<HookProtocol>
  stopSelf(): void
  state(): string[]
}
/** Logs every lifecycle hook with its instance number (per name) into a log shared across restarts. */
class Hooked extends Actor<HookProtocol> implements HookProtocol {
  private readonly instance: number
  private readonly seen: string[] = []
  private readonly log: string[]
  constructor(log: string[]) {
    super()
    this.log = log
    const name = this.context.name
    this.instance = log.filter((l) => l.startsWith(`${name}#`) && l.endsWith(' constructor')).length + 1
    log.push(`${name}#${this.instance} constructor`)
  }
  private note(what: string): void {
    this.log.push(`${this.context.name}#${this.instance} ${what}`)
  }
  override preStart(): void {
    this.note('preStart')
  }
  override postStop(): void {
    this.note('postStop')
  }
  override preRestart(error: Error): void {
    this.note(`preRestart(${error.message})`)
  }
  override postRestart(error: Error): void {
    this.note(`postRestart(${error.message})`)
  }
  record(value: string): void {
    this.seen.push(value)
    this.note(`record ${value}`)
  }
  crash(message: string): void {
    throw new Error(message)
  }
  spawnChild(name: string): ActorRef<HookProtocol> {
    return this.context.spawn(Hooked, { name, args: [this.log] })
  }
  stopSelf(): void {
    this.context.stop()
  }
  state(): string[] {
    return this.seen
  }
}

describe('lifecycle', () => {
  it('handles no message before an async preStart completes', async () => {
    const system = newSystem()
    const log: string[] = []
    const ready = deferred()
    const ref = system.spawn(SlowStart, { args: [log, ready] })
    const reply = track(ref.ask('ping', 'early'))
    await waitFor(() => log.length === 1, 'preStart began')
    await settle()
    expect(log).toEqual(['preStart begins'])
    expect(reply.settled).toBe(false)
    ready.resolve()
    await waitFor(() => reply.settled, 'reply')
    expect(reply.value).toBe('early')
    expect(log).toEqual(['preStart begins', 'preStart ends', 'ping early'])
  })

  it('a throwing preStart is an ActorInitError and the default guardian strategy stops the actor', async () => {
    class BadStart extends Actor<{ ping(): void }> {
      override preStart(): void {
        throw new Error('no database')
      }
      ping(): void {}
    }
    const system = newSystem()
    const ref = system.spawn(BadStart)
    const queued = ref.ask('ping')
    const terminated = await system.watch(ref)
    expect(terminated.reason.kind).toBe('failure')
    const error = terminated.reason.kind === 'failure' ? terminated.reason.error : null
    expect(error).toBeInstanceOf(ActorInitError)
    expect(error).toMatchObject({ code: ErrorCodes.ActorInit })
    expect((error?.cause as Error).message).toBe('no database')
    await expect(queued).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' })
  })

  it('an async preStart that rejects is a start failure too', async () => {
    class BadAsyncStart extends Actor<{ ping(): void }> {
      override async preStart(): Promise<void> {
        await Promise.resolve()
        throw new Error('later')
      }
      ping(): void {}
    }
    const system = newSystem()
    const terminated = await system.watch(system.spawn(BadAsyncStart))
    expect(terminated.reason).toMatchObject({ kind: 'failure', error: { code: 'ERR_ACTOR_INIT' } })
  })

  it('a throwing constructor makes spawn throw ActorInitError', () => {
    class BadCtor extends Actor {
      constructor() {
        super()
        throw new Error('bad config')
      }
    }
    const system = newSystem()
    expect(() => system.spawn(BadCtor)).toThrow(ActorInitError)
    expect(system.actorCount).toBe(0)
  })

  it('actors cannot be constructed with new', () => {
    expect(() => new Hooked([])).toThrow(ActorInitError)
  })

  it('publishes started and stopped on the lifecycle topic', async () => {
    const system = newSystem()
    const events: LifecycleEvent[] = []
    system.subscribe(LifecycleTopic, (event) => events.push(event))
    const ref = system.spawn(Hooked, { name: 'observed', args: [[]] })
    await system.stop(ref)
    expect(events.map((e) => [e.ref.path, e.event, e.actorType])).toEqual([
      ['/user/observed', 'started', 'Hooked'],
      ['/user/observed', 'stopped', 'Hooked'],
    ])
    expect(events[1]?.reason).toEqual({ kind: 'shutdown' })
  })

  it('runs postStop when the actor stops', async () => {
    const system = newSystem()
    const log: string[] = []
    const ref = system.spawn(Hooked, { name: 'a', args: [log] })
    await system.stop(ref)
    expect(log.filter((l) => l.includes('postStop'))).toHaveLength(1)
  })

  it('on a handler failure: preRestart on the old instance, then a fresh instance and postRestart, with the error', async () => {
    const system = newSystem()
    const log: string[] = []
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Hooked, { name: 'r', args: [log] })
    ref.tell('record', 'before')
    ref.tell('crash', 'boom')
    ref.tell('record', 'after')
    // The state is the fresh instance's: the failing message is not redelivered and 'before' is gone.
    expect(await ref.ask('state')).toEqual(['after'])
    expect(log).toEqual([
      'r#1 constructor',
      'r#1 preStart',
      'r#1 record before',
      'r#1 preRestart(boom)',
      'r#2 constructor',
      'r#2 postRestart(boom)',
      'r#2 record after',
    ])
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({ reason: 'failed', envelope: { method: 'crash', args: ['boom'] }, error: { message: 'boom' } })
  })

  it('the default hooks: preRestart runs postStop, postRestart runs preStart', async () => {
    const log: string[] = []
    class Defaults extends Actor<{ crash(): void; ping(): string }> {
      override preStart(): void {
        log.push('preStart')
      }
      override postStop(): void {
        log.push('postStop')
      }
      crash(): void {
        throw new Error('x')
      }
      ping(): string {
        return 'pong'
      }
    }
    const system = newSystem()
    const ref = system.spawn(Defaults)
    ref.tell('crash')
    expect(await ref.ask('ping')).toBe('pong')
    expect(log).toEqual(['preStart', 'postStop', 'preStart'])
  })

  it('children get hierarchical paths and resolve by path', async () => {
    const system = newSystem()
    const log: string[] = []
    const a = system.spawn(Hooked, { name: 'a', args: [log] })
    const b = await a.ask('spawnChild', 'b')
    const c = await b.ask('spawnChild', 'c')
    expect(a.path).toBe('/user/a')
    expect(b.path).toBe('/user/a/b')
    expect(c.path).toBe('/user/a/b/c')
    expect(system.resolvePath('/user/a/b')?.equals(b)).toBe(true)
    expect(system.resolvePath('/user/a/b/c')?.equals(c)).toBe(true)
    expect(system.resolvePath('/user/a/x')).toBeUndefined()
    expect(system.topLevel.map((r) => r.path)).toEqual(['/user/a'])
    expect(system.actorCount).toBe(3)
  })

  it('generates unique names when none is given, and refuses a sibling name clash', async () => {
    const system = newSystem()
    const first = system.spawn(Hooked, { args: [[]] })
    const second = system.spawn(Hooked, { args: [[]] })
    expect(first.path).not.toBe(second.path)
    const a = system.spawn(Hooked, { name: 'a', args: [[]] })
    expect(() => system.spawn(Hooked, { name: 'a', args: [[]] })).toThrow(NameTakenError)
    await expect(a.ask('spawnChild', 'kid')).resolves.toBeDefined()
    await expect(a.ask('spawnChild', 'kid')).rejects.toMatchObject({ code: 'ERR_NAME_TAKEN' })
  })

  it('stops after the current message; later messages become dead letters', async () => {
    const system = newSystem()
    const log: string[] = []
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Hooked, { name: 's', args: [log] })
    ref.tell('record', 'one')
    ref.tell('stopSelf')
    ref.tell('record', 'two')
    const terminated = await system.watch(ref)
    expect(terminated.reason.kind).toBe('normal')
    expect(log.filter((l) => l.includes('record'))).toHaveLength(1)
    expect(letters.map((l) => [l.envelope.args[0], l.reason])).toEqual([['two', 'stopped']])
  })

  it('system.poison stops after the messages queued before it', async () => {
    const system = newSystem()
    const log: string[] = []
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Hooked, { name: 'p', args: [log] })
    ref.tell('record', '1')
    ref.tell('record', '2')
    system.poison(ref)
    ref.tell('record', '3')
    const terminated = await system.watch(ref)
    expect(terminated.reason.kind).toBe('normal')
    expect(log.filter((l) => l.includes('record')).map((l) => l.split(' ').at(-1))).toEqual(['1', '2'])
    expect(letters.map((l) => l.envelope.args[0])).toEqual(['3'])
  })

  it('stopping a parent stops its children first (postStop runs bottom-up)', async () => {
    const system = newSystem()
    const log: string[] = []
    const parent = system.spawn(Hooked, { name: 'parent', args: [log] })
    const child = await parent.ask('spawnChild', 'child')
    await parent.ask('spawnChild', 'sibling')
    await child.ask('spawnChild', 'grandchild')
    await system.stop(parent)
    const stops = log.filter((l) => l.endsWith('postStop')).map((l) => l.split('#')[0])
    expect(stops.indexOf('grandchild')).toBeLessThan(stops.indexOf('child'))
    expect(stops.indexOf('child')).toBeLessThan(stops.indexOf('parent'))
    expect(stops.indexOf('sibling')).toBeLessThan(stops.indexOf('parent'))
    expect(stops.at(-1)).toBe('parent')
    expect(system.actorCount).toBe(0)
  })

  it('a restart stops the children of the failed instance', async () => {
    const system = newSystem()
    const log: string[] = []
    const parent = system.spawn(Hooked, { name: 'parent', args: [log] })
    const child = await parent.ask('spawnChild', 'child')
    parent.tell('crash', 'boom')
    const terminated = await system.watch(child)
    expect(terminated.reason.kind).toBe('shutdown')
    expect(await parent.ask('state')).toEqual([])
  })

  it('system.terminate stops every actor, children first, and refuses new spawns', async () => {
    const system = newSystem()
    const log: string[] = []
    const a = system.spawn(Hooked, { name: 'a', args: [log] })
    const b = system.spawn(Hooked, { name: 'b', args: [log] })
    await a.ask('spawnChild', 'a1')
    await b.ask('spawnChild', 'b1')
    await system.terminate()
    expect(system.isTerminated).toBe(true)
    const stops = log.filter((l) => l.endsWith('postStop')).map((l) => l.split('#')[0])
    expect([...stops].sort()).toEqual(['a', 'a1', 'b', 'b1'])
    expect(stops.indexOf('a1')).toBeLessThan(stops.indexOf('a'))
    expect(stops.indexOf('b1')).toBeLessThan(stops.indexOf('b'))
    expect(() => system.spawn(Hooked, { args: [[]] })).toThrow(SystemTerminatedError)
    await expect(system.terminate()).resolves.toBeUndefined()
    await expect(a.ask('state')).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' })
  })

  it('actorCount is 0 after terminate', async () => {
    const system = newSystem()
    system.spawn(Hooked, { args: [[]] })
    await system.terminate()
    expect(system.actorCount).toBe(0)
  })

  it('kill stops at once: the current ask fails with ERR_ACTOR_KILLED and postStop does not run', async () => {
    const log: string[] = []
    const gate = deferred()
    class Busy extends Actor<{ work(): Promise<string> }> {
      async work(): Promise<string> {
        log.push('working')
        await gate.promise
        log.push('finished')
        return 'done'
      }
      override postStop(): void {
        log.push('postStop')
      }
    }
    const system = newSystem()
    const ref = system.spawn(Busy)
    const reply = ref.ask('work')
    const queued = ref.ask('work')
    await waitFor(() => log.length === 1, 'working')
    system.kill(ref)
    await expect(reply).rejects.toMatchObject({ code: 'ERR_ACTOR_KILLED' })
    await expect(queued).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' })
    expect((await system.watch(ref)).reason.kind).toBe('killed')
    gate.resolve()
    await settle()
    // The abandoned handler's continuation may run, but its result goes nowhere and no hook runs.
    expect(log.includes('postStop')).toBe(false)
  })
})
