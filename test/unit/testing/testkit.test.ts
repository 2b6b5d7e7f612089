import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../../runtime/index.ts'
import { ActorTestKit, BehaviorTestKit, ExpectationError, SimErrorCodes } from '../../../testing/index.ts'

interface PongProtocol {
  pong(n: number): void
}
interface PingProtocol {
  ping(n: number, replyTo: ActorRef<PongProtocol>): void
  pingLater(n: number, replyTo: ActorRef<PongProtocol>, delayMs: number): void
  lookup(key: string, store: ActorRef<StoreProtocol>): Promise<string>
}
interface StoreProtocol {
  fetch(key: string): string
}

/** Answers pings, now or after a virtual delay (a timer), and looks things up in a store. */
class Pinger extends Actor<PingProtocol> implements PingProtocol {
  private pending = new Map<number, ActorRef<PongProtocol>>()
  ping(n: number, replyTo: ActorRef<PongProtocol>): void {
    replyTo.tell('pong', n)
  }
  pingLater(n: number, replyTo: ActorRef<PongProtocol>, delayMs: number): void {
    this.pending.set(n, replyTo)
    this.context.timers.startSingle(`ping-${n}`, delayMs, 'ping', n, replyTo)
  }
  async lookup(key: string, store: ActorRef<StoreProtocol>): Promise<string> {
    const value = await store.ask('fetch', key)
    return `${key}=${value}`
  }
}

class Store extends Actor<StoreProtocol> implements StoreProtocol {
  fetch(): string {
    return 'stored'
  }
}

describe('ActorTestKit and TestProbe', () => {
  it('expectMessage waits in virtual time and checks the method and arguments', async () => {
    const kit = ActorTestKit.create({ seed: 1 })
    const pinger = kit.spawn(Pinger)
    const probe = kit.createProbe<PongProtocol>()
    pinger.tell('pingLater', 7, probe.ref, 250)
    await probe.expectNoMessage(200)
    const message = await probe.expectMessage('pong', 100, 7)
    expect(message.args).toEqual([7])
    expect(message.sender?.equals(pinger)).toBe(true)
    expect(message.at).toBe(250)
    await kit.shutdown()
  })

  it('fails clearly when the message does not come in time, or another comes', async () => {
    const kit = ActorTestKit.create()
    const pinger = kit.spawn(Pinger)
    const probe = kit.createProbe<PongProtocol>()
    pinger.tell('pingLater', 1, probe.ref, 500)
    await expect(probe.expectMessage('pong', 100)).rejects.toMatchObject({ code: SimErrorCodes.Expectation, message: expect.stringContaining("expected 'pong' within 100 ms") })
    pinger.tell('ping', 2, probe.ref)
    await expect(probe.expectMessage('pong', 1000, 3)).rejects.toBeInstanceOf(ExpectationError)
    await expect(probe.expectNoMessage(1000)).rejects.toMatchObject({ message: expect.stringContaining("got 'pong'(1)") })
  })

  it('fishForMessage skips what does not match', async () => {
    const kit = ActorTestKit.create()
    const pinger = kit.spawn(Pinger)
    const probe = kit.createProbe<PongProtocol>()
    for (let i = 0; i < 5; i++) pinger.tell('ping', i, probe.ref)
    const found = await probe.fishForMessage((m) => m.args[0] === 3)
    expect(found.args).toEqual([3])
    expect(probe.pending.map((m) => m.args[0])).toEqual([4])
  })

  it('a probe can stand in for an actor that answers asks', async () => {
    const kit = ActorTestKit.create()
    const pinger = kit.spawn(Pinger)
    const store = kit.createProbe<StoreProtocol>('store')
    const result = pinger.ask('lookup', 'k', store.ref)
    const request = await store.expectMessage('fetch', 100, 'k')
    expect(request.isAsk).toBe(true)
    request.reply('v')
    expect(await kit.sim.settle(result)).toBe('k=v')
  })

  it('probe.send makes the probe the sender; kit.ask drives virtual time until the reply', async () => {
    const kit = ActorTestKit.create()
    const pinger = kit.spawn(Pinger)
    const probe = kit.createProbe<PongProtocol>()
    probe.send(pinger, 'ping', 9, probe.ref)
    await probe.expectMessage('pong', 10, 9)
    expect(await kit.ask(pinger, 'lookup', 'x', kit.spawn(Store))).toBe('x=stored')
  })

  it('expectTerminated sees a watched actor stop', async () => {
    const kit = ActorTestKit.create()
    const pinger = kit.spawn(Pinger)
    const probe = kit.createProbe()
    probe.watch(pinger)
    await kit.advance(1)
    void kit.system.stop(pinger)
    const terminated = await probe.expectTerminated(pinger, 100)
    expect(terminated.reason.kind).toBe('shutdown')
  })
})

interface CacheProtocol {
  get(key: string, replyTo: ActorRef<{ value(key: string, value: string | null): void }>): void
  loaded(key: string, value: string): void
  expire(key: string): void
  start(): void
}
/** Loads missing keys through a child loader, caches them, and expires them with a timer. */
class Cache extends Actor<CacheProtocol> implements CacheProtocol {
  private readonly entries = new Map<string, string>()
  private readonly ttlMs: number
  private loader: ActorRef<{ load(key: string): void }> | null = null
  constructor(ttlMs: number) {
    super()
    this.ttlMs = ttlMs
  }
  override preStart(): void {
    this.loader = this.context.spawn(Loader, { name: 'loader' })
  }
  start(): void {}
  get(key: string, replyTo: ActorRef<{ value(key: string, value: string | null): void }>): void {
    const value = this.entries.get(key)
    if (value !== undefined) {
      replyTo.tell('value', key, value)
      return
    }
    this.loader?.tell('load', key)
    this.context.stash()
  }
  loaded(key: string, value: string): void {
    this.entries.set(key, value)
    this.context.timers.startSingle(`expire-${key}`, this.ttlMs, 'expire', key)
    this.context.unstashAll()
  }
  expire(key: string): void {
    this.entries.delete(key)
  }
}
class Loader extends Actor<{ load(key: string): void }> {
  load(): void {}
}

describe('BehaviorTestKit', () => {
  it('runs handlers synchronously and records effects: spawned child, sends, stash, timers', async () => {
    const kit = BehaviorTestKit.create(Cache, { args: [1000] })
    await kit.started
    const spawned = kit.expectEffect('spawned')
    expect(spawned.name).toBe('loader')
    expect(spawned.actorClass).toBe(Loader)

    const client = kit.createInbox<{ value(key: string, value: string | null): void }>('client')
    kit.run('get', 'k', client.ref)
    kit.childInbox('loader').expectMessage('load', 'k')
    kit.expectEffect('stashed', (e) => e.method === 'get')
    client.expectNoMessage()

    kit.run('loaded', 'k', 'v')
    expect(kit.expectEffect('timer-started')).toMatchObject({ key: 'expire-k', delayMs: 1000, method: 'expire', args: ['k'] })
    kit.expectEffect('unstashed', (e) => e.count === 1)
    kit.runOne()
    client.expectMessage('value', 'k', 'v')
    expect(kit.activeTimers).toEqual(['expire-k'])
  })

  it('timers fire in virtual time into the self inbox; runOne handles them', async () => {
    const kit = BehaviorTestKit.create(Cache, { args: [50] })
    await kit.started
    const client = kit.createInbox('client')
    kit.run('loaded', 'k', 'v')
    await kit.advance(49)
    expect(() => kit.runOne()).toThrow(ExpectationError)
    await kit.advance(1)
    kit.runOne()
    kit.run('get', 'k', client.ref)
    // Expired: the cache asks its loader again instead of answering.
    client.expectNoMessage()
    kit.childInbox('loader').expectMessage('load', 'k')
  })

  it('records sends from a handler with the actor as sender, and lets the test answer its asks', async () => {
    const kit = BehaviorTestKit.create(Pinger)
    const pong = kit.createInbox<PongProtocol>('pong')
    kit.run('ping', 1, pong.ref)
    const message = pong.expectMessage('pong', 1)
    expect(message.sender?.equals(kit.ref)).toBe(true)

    const store = kit.createInbox<StoreProtocol>('store')
    const reply = kit.runAsk('lookup', 'a', store.ref) as Promise<string>
    store.expectMessage('fetch', 'a').reply('b')
    expect(await reply).toBe('a=b')
  })

  it('records effects made in the constructor too', () => {
    class Eager extends Actor<{ noop(): void }> {
      private readonly worker = this.context.spawn(Loader, { name: 'eager-loader' })
      constructor() {
        super()
        this.context.timers.startPeriodic('tick', 100, 'noop')
      }
      noop(): void {
        this.worker.tell('load', 'x')
      }
    }
    const kit = BehaviorTestKit.create(Eager)
    kit.expectEffect('spawned', (e) => e.name === 'eager-loader')
    kit.expectEffect('timer-started', (e) => e.periodic && e.key === 'tick')
    kit.run('noop')
    kit.childInbox('eager-loader').expectMessage('load', 'x')
  })

  it('unknown handlers and missing messages fail with ExpectationError', () => {
    const kit = BehaviorTestKit.create(Pinger)
    expect(() => (kit.run as (m: string) => unknown)('nope')).toThrow(/no handler 'nope'/)
    expect(() => kit.createInbox('x').receiveMessage()).toThrow(ExpectationError)
  })
})
