import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef, type Directive, type Terminated } from '../../../runtime/index.ts'
import { describeTerminated, useSystems } from './support/helpers.ts'

const newSystem = useSystems()

interface WatcherProtocol {
  watch(target: ActorRef<any>): void
  unwatch(target: ActorRef<any>): void
  seen(): { path: string; kind: string }[]
}
class Watcher extends Actor<WatcherProtocol> implements WatcherProtocol {
  private readonly terminated: Terminated[] = []
  watch(target: ActorRef<any>): void {
    this.context.watch(target)
  }
  unwatch(target: ActorRef<any>): void {
    this.context.unwatch(target)
  }
  override onTerminated(terminated: Terminated): void {
    this.terminated.push(terminated)
  }
  seen(): { path: string; kind: string }[] {
    return this.terminated.map(describeTerminated)
  }
}

interface TargetProtocol {
  stopSelf(): void
  crash(): void
  ping(): void
}
class Target extends Actor<TargetProtocol> implements TargetProtocol {
  stopSelf(): void {
    this.context.stop()
  }
  crash(): void {
    throw new Error('target crashed')
  }
  ping(): void {}
}

describe('death watch', () => {
  function setup(guardianStrategy?: Directive) {
    const system = newSystem(guardianStrategy === undefined ? {} : { guardianStrategy })
    const watcher = system.spawn(Watcher, { name: 'watcher' })
    const target = system.spawn(Target, { name: 'target' })
    return { system, watcher, target }
  }

  it('Terminated carries reason normal when the target stops itself', async () => {
    const { system, watcher, target } = setup()
    await watcher.ask('watch', target)
    target.tell('stopSelf')
    await system.watch(target)
    expect(await watcher.ask('seen')).toEqual([{ path: '/user/target', kind: 'normal' }])
  })

  it('Terminated carries reason shutdown when the system stops the target', async () => {
    const { system, watcher, target } = setup()
    await watcher.ask('watch', target)
    await system.stop(target)
    expect(await watcher.ask('seen')).toEqual([{ path: '/user/target', kind: 'shutdown' }])
  })

  it('Terminated carries reason failure (with the error) when the supervisor stops a failed target', async () => {
    const { system, watcher, target } = setup('stop')
    await watcher.ask('watch', target)
    target.tell('crash')
    const terminated = await system.watch(target)
    expect(terminated.reason).toMatchObject({ kind: 'failure', error: { message: 'target crashed' } })
    expect(await watcher.ask('seen')).toEqual([{ path: '/user/target', kind: 'failure' }])
  })

  it('Terminated carries reason killed after system.kill', async () => {
    const { system, watcher, target } = setup()
    await watcher.ask('watch', target)
    system.kill(target)
    expect((await system.watch(target)).reason.kind).toBe('killed')
    expect(await watcher.ask('seen')).toEqual([{ path: '/user/target', kind: 'killed' }])
  })

  it('watching an already-stopped actor notifies at once, with its exit reason', async () => {
    const { system, watcher, target } = setup()
    await system.stop(target)
    await watcher.ask('watch', target)
    expect(await watcher.ask('seen')).toEqual([{ path: '/user/target', kind: 'shutdown' }])
  })

  it('no Terminated arrives after unwatch', async () => {
    const { system, watcher, target } = setup()
    await watcher.ask('watch', target)
    await watcher.ask('unwatch', target)
    await system.stop(target)
    expect(await watcher.ask('seen')).toEqual([])
  })

  it('a restart does not count as termination', async () => {
    const { watcher, target } = setup()
    await watcher.ask('watch', target)
    target.tell('crash')
    await target.ask('ping')
    expect(await watcher.ask('seen')).toEqual([])
  })

  it('system.watch resolves with the Terminated, at once for a stopped actor', async () => {
    const { system, target } = setup()
    const watched = system.watch(target)
    await system.stop(target)
    const terminated = await watched
    expect(terminated.ref.equals(target)).toBe(true)
    expect(terminated.reason.kind).toBe('shutdown')
    expect((await system.watch(target)).reason.kind).toBe('shutdown')
  })

  it('system.stop resolves with the Terminated', async () => {
    const { system, target } = setup()
    expect(describeTerminated(await system.stop(target))).toEqual({ path: '/user/target', kind: 'shutdown' })
  })

  it('several watchers are all told', async () => {
    const { system, watcher, target } = setup()
    const second = system.spawn(Watcher, { name: 'second' })
    await watcher.ask('watch', target)
    await second.ask('watch', target)
    await system.stop(target)
    expect(await watcher.ask('seen')).toHaveLength(1)
    expect(await second.ask('seen')).toHaveLength(1)
  })

  it('a watcher that stops first is not notified (and does not fail)', async () => {
    const { system, watcher, target } = setup()
    await watcher.ask('watch', target)
    await system.stop(watcher)
    await system.stop(target)
    expect(system.deadLetters.count).toBe(0)
  })
})
