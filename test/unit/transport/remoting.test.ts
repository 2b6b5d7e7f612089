import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, type ActorRef, type DeadLetter } from '../../../runtime/index.ts'
import { Remoting, TransportFullError } from '../../../transport/index.ts'
import { LoopbackNetwork, settle, waitFor, waitForValue } from '../../../testing/index.ts'
import { Echo, Watcher, type EchoProtocol } from '../../support/remoteActors.ts'


const systems: ActorSystem[] = []
function node(network: LoopbackNetwork, name: string): ActorSystem {
  const system = ActorSystem.create({ name: 'cluster', node: name })
  new Remoting(system, network.attach({ system: 'cluster', node: name, shard: 0 }))
  systems.push(system)
  return system
}

/** A ref to an actor on another node, as a node would get it from a message or a directory. */
function remoteRef<P>(from: ActorSystem, to: ActorRef<P>): ActorRef<P> {
  return from.refFor<P>(to.address)
}

afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})

describe('Remoting over a frame transport', () => {
  it('tells and asks an actor on another node through the same ref API, in order', async () => {
    const network = new LoopbackNetwork()
    const a = node(network, 'a')
    const b = node(network, 'b')
    const echo = b.spawn(Echo, { name: 'echo' })
    const remote = remoteRef(a, echo)
    expect(remote.cell).toBeNull()
    for (let i = 0; i < 100; i++) remote.tell('remember', `m${i}`)
    expect(await remote.ask('echo', 'hi')).toBe('echo:hi')
    expect(await remote.ask('recall')).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`))
  })

  it('carries refs inside messages and resolves them on arrival', async () => {
    const network = new LoopbackNetwork()
    const a = node(network, 'a')
    const b = node(network, 'b')
    const onB = b.spawn(Echo, { name: 'echo' })
    const onA = a.spawn(Echo, { name: 'echo' })
    // b receives a ref to a's actor inside the message, and uses it to send back to a.
    remoteRef(a, onB).tell('forward', onA, 'via b')
    expect(await waitForValue(() => onA.ask('recall'), (seen) => seen.length === 1)).toEqual(['via b'])
    expect(await remoteRef(a, onB).ask('whoAmI')).toBe(onB.toString())
  })

  it('rejects a remote ask with the handler error, rebuilt from its code', async () => {
    const network = new LoopbackNetwork()
    const a = node(network, 'a')
    const b = node(network, 'b')
    const echo = b.spawn(Echo, { name: 'echo' })
    await expect(remoteRef(a, echo).ask('fail')).rejects.toMatchObject({ message: 'remote boom' })
  })

  it('fails an ask to an unknown remote actor fast with ERR_UNKNOWN_ACTOR', async () => {
    const network = new LoopbackNetwork()
    const a = node(network, 'a')
    node(network, 'b')
    const ghost = a.refFor<EchoProtocol>({ system: 'cluster', node: 'b', shard: 0, path: '/user/ghost', uid: 42 })
    await expect(ghost.ask('echo', 'x')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ACTOR' })
  })

  it('delivers Terminated for a watched remote actor that stops', async () => {
    const network = new LoopbackNetwork()
    const a = node(network, 'a')
    const b = node(network, 'b')
    const echo = b.spawn(Echo, { name: 'echo' })
    const watcher = a.spawn(Watcher, { name: 'watcher' })
    watcher.tell('watchIt', remoteRef(a, echo))
    await waitFor(() => b.actorCount === 1 && a.actorCount === 1)
    // Make sure the watch has reached b before the actor stops (a round trip through b orders it).
    await remoteRef(a, echo).ask('echo', 'sync')
    remoteRef(a, echo).tell('quit')
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1)
    expect(seen[0]?.reason).toEqual({ kind: 'normal' })
    expect(seen[0]?.ref.path).toBe('/user/echo')
  })

  it('node down: watchers get node-down and asks in flight fail fast with ERR_NODE_DOWN', async () => {
    const network = new LoopbackNetwork()
    const a = node(network, 'a')
    const b = node(network, 'b')
    const echo = b.spawn(Echo, { name: 'echo' })
    const watcher = a.spawn(Watcher, { name: 'watcher' })
    const remote = remoteRef(a, echo)
    watcher.tell('watchIt', remote)
    await remote.ask('echo', 'sync')
    // An ask that b will never answer: b is cut off before the frame is delivered.
    const inFlight = remote.askWith({ timeoutMs: 60_000 }, 'echo', 'lost')
    network.disconnect('b')
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' })
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1)
    expect(seen[0]?.reason).toEqual({ kind: 'node-down', node: 'b' })
  })

  it('an unencodable payload is a dead letter and fails its ask, without failing its batch neighbours', async () => {
    const network = new LoopbackNetwork()
    const a = node(network, 'a')
    const b = node(network, 'b')
    const echo = b.spawn(Echo, { name: 'echo' })
    const remote = remoteRef(a, echo)
    const dead: DeadLetter[] = []
    a.deadLetters.subscribe((d) => dead.push(d))
    remote.tell('remember', 'before')
    const bad = remote.ask('echo', Symbol('nope') as unknown as string)
    remote.tell('remember', 'after')
    await expect(bad).rejects.toMatchObject({ code: 'ERR_NOT_SERIALIZABLE' })
    expect(await remote.ask('recall')).toEqual(['before', 'after'])
    expect(dead.map((d) => d.reason)).toEqual(['undeliverable'])
  })

  it('never sends a frame past the record-definition cap: a batch of many shapes is split, one envelope over it fails its ask at the sender', async () => {
    interface ShapesProtocol {
      size(items: Record<string, number>[]): number
      keep(item: Record<string, number>): void
      kept(): number
      burst(to: ActorRef<ShapesProtocol>, n: number): void
    }
    class Shapes extends Actor<ShapesProtocol> implements ShapesProtocol {
      private count = 0
      size(items: Record<string, number>[]): number {
        return items.length
      }
      keep(): void {
        this.count++
      }
      kept(): number {
        return this.count
      }
      burst(to: ActorRef<ShapesProtocol>, n: number): void {
        // One turn: every tell goes in the same batch to b, each one object of its own shape.
        for (let i = 0; i < n; i++) to.tell('keep', { [`shape${i}`]: i })
      }
    }
    const network = new LoopbackNetwork()
    const a = ActorSystem.create({ name: 'cluster', node: 'a' })
    systems.push(a)
    const transport = network.attach({ system: 'cluster', node: 'a', shard: 0 })
    let framesSent = 0
    const send = transport.send.bind(transport)
    transport.send = (to, frame, deathWatch) => {
      framesSent++
      send(to, frame, deathWatch)
    }
    new Remoting(a, transport)
    const b = node(network, 'b')
    const remote = remoteRef(a, b.spawn(Shapes, { name: 'shapes' }))
    const dead: DeadLetter[] = []
    a.deadLetters.subscribe((d) => dead.push(d))

    const items = Array.from({ length: 2000 }, (_, i) => ({ [`field${i}`]: i }))
    await expect(remote.ask('size', items)).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', data: { reason: 'records', limit: 256 } })
    expect(dead.map((d) => d.reason)).toEqual(['undeliverable'])
    expect(await remote.ask('size', items.slice(0, 100))).toBe(100)

    framesSent = 0
    a.spawn(Shapes, { name: 'burst' }).tell('burst', remote, 2000)
    expect(await waitForValue(() => remote.ask('kept'), (n) => n === 2000)).toBe(2000)
    // Split into frames of at most 256 definitions each (halving: 2000 -> 1000 -> 500 -> 250).
    expect(framesSent).toBeGreaterThanOrEqual(8)
    expect(dead).toHaveLength(1)
  })

  it('a turn that fills a batch sends it before the turn ends, in order, and the rest at the end of the turn', async () => {
    const network = new LoopbackNetwork()
    const a = ActorSystem.create({ name: 'cluster', node: 'a' })
    systems.push(a)
    const transport = network.attach({ system: 'cluster', node: 'a', shard: 0 })
    let framesSent = 0
    const send = transport.send.bind(transport)
    transport.send = (to, frame) => {
      framesSent++
      send(to, frame)
    }
    new Remoting(a, transport, { maxBatch: 4 })
    const b = node(network, 'b')
    const echo = b.spawn(Echo, { name: 'echo' })
    class Burst extends Actor<{ burst(to: ActorRef<EchoProtocol>, n: number): number }> {
      burst(to: ActorRef<EchoProtocol>, n: number): number {
        for (let i = 0; i < n; i++) to.tell('remember', `m${i}`)
        return framesSent
      }
    }
    const sentDuringTurn = await a.spawn(Burst).ask('burst', remoteRef(a, echo), 10)
    expect(sentDuringTurn).toBe(2)
    const received = await waitForValue(() => echo.ask('recall'), (seen) => seen.length === 10)
    expect(received).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`))
    expect(framesSent).toBe(3) // two full batches during the turn, the last two tells after it
  })

  it('death-watch traffic is never refused for congestion: a watch goes out while tells are refused', async () => {
    const network = new LoopbackNetwork()
    const a = ActorSystem.create({ name: 'cluster', node: 'a' })
    systems.push(a)
    const transport = network.attach({ system: 'cluster', node: 'a', shard: 0 })
    let congested = false
    transport.isFull = () => congested
    // Congested like a full ring: frames are refused for room, unless they must be taken.
    const send = transport.send.bind(transport)
    transport.send = (to, frame, mustTake) => {
      if (congested && mustTake !== true) throw new TransportFullError('full')
      send(to, frame)
    }
    new Remoting(a, transport)
    const b = node(network, 'b')
    const echo = b.spawn(Echo, { name: 'echo' })
    const remote = remoteRef(a, echo)
    const watcher = a.spawn(Watcher)

    congested = true
    expect(() => remote.tell('remember', 'refused')).toThrow(expect.objectContaining({ code: 'ERR_TRANSPORT_FULL' }))
    await watcher.ask('watchIt', remote)
    await settle() // the watch's frame goes out while the transport is still congested
    congested = false
    // Frames from a to b keep their order: once this ask is answered, b has the watch.
    expect(await remote.ask('recall')).toEqual([])
    echo.tell('quit')
    const seen = await waitForValue(() => watcher.ask('seen'), (t) => t.length === 1)
    expect(seen[0]?.reason).toEqual({ kind: 'normal' })
  })

  it('a watch that cannot be sent at all (refused past every bound) tells its watcher the actor is out of reach', async () => {
    const network = new LoopbackNetwork()
    const a = ActorSystem.create({ name: 'cluster', node: 'a' })
    systems.push(a)
    const transport = network.attach({ system: 'cluster', node: 'a', shard: 0 })
    transport.send = () => {
      throw new TransportFullError('full past every bound')
    }
    new Remoting(a, transport)
    const b = node(network, 'b')
    const echo = b.spawn(Echo, { name: 'echo' })
    const watcher = a.spawn(Watcher)
    await watcher.ask('watchIt', remoteRef(a, echo))
    const seen = await waitForValue(() => watcher.ask('seen'), (t) => t.length === 1)
    expect(seen[0]?.reason).toEqual({ kind: 'node-down', node: 'b' })
  })
})
