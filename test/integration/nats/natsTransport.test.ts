import { afterEach, describe, expect, inject, it } from 'vitest'
import { waitFor, waitForValue } from '../../../testing/index.ts'
import type { Membership, MembershipListener } from '../../../cluster/index.ts'
import { startNode, type TestNode, type TestNodeOptions } from '../../support/natsNodes.ts'
import { LocalNatsServer, uniqueCluster } from '../../support/services.ts'
import { Echo, Watcher, type EchoProtocol } from '../../support/remoteActors.ts'


const nodes: TestNode[] = []
const servers: LocalNatsServer[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})

async function pair(url: string, options: TestNodeOptions = {}): Promise<[TestNode, TestNode]> {
  const cluster = uniqueCluster('nt')
  const a = await startNode(url, cluster, 'a', options)
  const b = await startNode(url, cluster, 'b', options)
  nodes.push(a, b)
  return [a, b]
}

/** Short enough for a quick test, long enough that a loaded CI machine's timer lag is no false alarm. */
const FAST_HEARTBEAT = { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 } } } satisfies TestNodeOptions

describe('NatsTransport with Remoting over a real nats-server', () => {
  it('tells and asks an actor on another node, in order, and carries refs inside messages', async () => {
    const [a, b] = await pair(inject('natsUrl'))
    const echo = b.system.spawn(Echo, { name: 'echo' })
    const remote = a.system.refFor<EchoProtocol>(echo.address)
    for (let i = 0; i < 500; i++) remote.tell('remember', `m${i}`)
    expect(await remote.ask('echo', 'hi')).toBe('echo:hi')
    expect(await remote.ask('recall')).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`))

    // A ref to an actor on a travels to b inside a message; b uses it to send back.
    const onA = a.system.spawn(Echo, { name: 'echo' })
    remote.tell('forward', onA, 'via b')
    expect(await waitForValue(() => onA.ask('recall'), (seen) => seen.length === 1)).toEqual(['via b'])
    // Batching: 500 tells and more went out in far fewer frames.
    expect(a.transport.stats.framesOut).toBeLessThan(50)
  })

  it('delivers Terminated to a remote watcher when the watched actor stops', async () => {
    const [a, b] = await pair(inject('natsUrl'))
    const echo = b.system.spawn(Echo, { name: 'echo' })
    const watcher = a.system.spawn(Watcher, { name: 'watcher' })
    const remote = a.system.refFor<EchoProtocol>(echo.address)
    watcher.tell('watchIt', remote)
    await remote.ask('echo', 'sync')
    remote.tell('quit')
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1)
    expect(seen[0]?.reason).toEqual({ kind: 'normal' })
    expect(seen[0]?.ref.path).toBe('/user/echo')
  })

  it('fails an ask to an unknown remote actor with ERR_UNKNOWN_ACTOR', async () => {
    const [a] = await pair(inject('natsUrl'))
    const ghost = a.system.refFor<EchoProtocol>({ system: a.system.name, node: 'b', shard: 0, path: '/user/ghost', uid: 7 })
    await expect(ghost.ask('echo', 'x')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ACTOR' })
  })

  it('heartbeats: each node sees the other as a member', async () => {
    const [a, b] = await pair(inject('natsUrl'), FAST_HEARTBEAT)
    await waitFor(() => a.transport.members().includes('b') && b.transport.members().includes('a'))
  })

  it('a node that stops heartbeating is down after the timeout: watchers get node-down, asks fail fast', async () => {
    const [a, b] = await pair(inject('natsUrl'), FAST_HEARTBEAT)
    const echo = b.system.spawn(Echo, { name: 'echo' })
    const watcher = a.system.spawn(Watcher, { name: 'watcher' })
    const remote = a.system.refFor<EchoProtocol>(echo.address)
    watcher.tell('watchIt', remote)
    await remote.ask('echo', 'sync')
    await waitFor(() => a.transport.members().includes('b'))
    const downs: string[] = []
    a.transport.onPeerDown((node) => downs.push(node))

    // b vanishes without a word (its NATS connection closes; no leave message): only silence tells a.
    const silenced = Date.now()
    await b.connection.close()
    const inFlight = remote.askWith({ timeoutMs: 60_000 }, 'echo', 'lost')

    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' })
    const detectedAfter = Date.now() - silenced
    expect(detectedAfter).toBeGreaterThanOrEqual(800)
    expect(detectedAfter).toBeLessThan(10_000)
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1)
    expect(seen[0]?.reason).toEqual({ kind: 'node-down', node: 'b' })
    expect(downs).toEqual(['b'])
    // Once down, asks fail at once instead of waiting for their timeout.
    const started = Date.now()
    await expect(remote.askWith({ timeoutMs: 60_000 }, 'echo', 'late')).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' })
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('a node that closes its transport leaves at once (no timeout wait)', async () => {
    const [a, b] = await pair(inject('natsUrl'), { transport: { heartbeat: { intervalMs: 50, timeoutMs: 20_000 } } })
    const echo = b.system.spawn(Echo, { name: 'echo' })
    const watcher = a.system.spawn(Watcher, { name: 'watcher' })
    watcher.tell('watchIt', a.system.refFor<EchoProtocol>(echo.address))
    await a.system.refFor<EchoProtocol>(echo.address).ask('echo', 'sync')
    await waitFor(() => a.transport.members().includes('b'))
    await b.transport.close()
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1, { timeoutMs: 3000 })
    expect(seen[0]?.reason).toEqual({ kind: 'node-down', node: 'b' })
  })

  it('NATS outage: sends are held up to the bound, then fail with ERR_NATS_DOWN (a watch is held past it); reconnection delivers the held ones in order', async () => {
    const server = await LocalNatsServer.start()
    servers.push(server)
    const [a, b] = await pair(server.url, { transport: { maxBufferedFrames: 20, heartbeat: { intervalMs: 50, timeoutMs: 2_000 } } })
    const echo = b.system.spawn(Echo, { name: 'echo' })
    const remote = a.system.refFor<EchoProtocol>(echo.address)
    expect(await remote.ask('echo', 'before')).toBe('echo:before')
    await waitFor(() => a.transport.members().includes('b') && b.transport.members().includes('a'))
    // Frames are retained until acknowledged: start the outage with nothing unacknowledged, so the bound is all for it.
    await waitFor(() => a.transport.stats.framesUnacked === 0 && b.transport.stats.framesUnacked === 0)

    const link: boolean[] = []
    a.transport.onLinkChange((up) => link.push(up))
    await server.halt()
    await waitFor(() => !a.transport.connected && !b.transport.connected, { timeoutMs: 10_000 })
    // One frame per turn: 20 turns fill the bound exactly.
    for (let i = 0; i < 20; i++) {
      remote.tell('remember', `held-${i}`)
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(a.transport.stats.framesBuffered).toBe(20)
    const refused = remote.askWith({ timeoutMs: 60_000 }, 'echo', 'refused')
    await expect(refused).rejects.toMatchObject({ code: 'ERR_NATS_DOWN' })
    // A watch is held past the bound: losing it would leave its watcher waiting forever.
    const watcher = a.system.spawn(Watcher)
    await watcher.ask('watchIt', remote)
    await waitFor(() => a.transport.stats.framesBuffered === 21)

    await server.resume()
    await waitFor(() => a.transport.connected && b.transport.connected, { timeoutMs: 15_000 })
    // The held frames go out once b is heard again (its subscription is back).
    await waitFor(() => a.transport.stats.framesBuffered === 0 && a.transport.stats.framesUnacked === 0, { timeoutMs: 10_000 })
    const seen = await waitForValue(() => remote.askWith({ timeoutMs: 2000 }, 'recall'), (s) => s.length === 20, { timeoutMs: 15_000 })
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `held-${i}`))
    echo.tell('quit')
    const ended = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1, { timeoutMs: 10_000 })
    expect(ended[0]?.reason).toEqual({ kind: 'normal' })
    expect(a.transport.stats.framesBuffered).toBe(0)
    expect(a.transport.stats.linkDowns).toBe(1)
    // Nobody was declared down by the outage.
    expect(a.transport.members()).toContain('b')
    expect(link).toEqual([false, true])
  })

  it('closing a node during an outage does not hang on the unreachable server', async () => {
    const server = await LocalNatsServer.start()
    servers.push(server)
    const [a] = await pair(server.url)
    await server.halt()
    await waitFor(() => !a.transport.connected, { timeoutMs: 10_000 })
    const started = Date.now()
    await a.system.terminate()
    await a.transport.close()
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('a node restarted under the same name is seen as a new incarnation: the old one is down at once', async () => {
    const url = inject('natsUrl')
    const [a, b] = await pair(url, { transport: { heartbeat: { intervalMs: 50, timeoutMs: 30_000 } } })
    const echo = b.system.spawn(Echo, { name: 'echo' })
    const watcher = a.system.spawn(Watcher, { name: 'watcher' })
    watcher.tell('watchIt', a.system.refFor<EchoProtocol>(echo.address))
    await a.system.refFor<EchoProtocol>(echo.address).ask('echo', 'sync')
    await waitFor(() => a.transport.members().includes('b'))
    // b crashes (no leave) and comes straight back, long before the 30 s timeout.
    await b.connection.close()
    const b2 = await startNode(url, a.system.name, 'b')
    nodes.push(b2)
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1, { timeoutMs: 5000 })
    expect(seen[0]?.reason).toEqual({ kind: 'node-down', node: 'b' })
    // The new b is reachable.
    const echo2 = b2.system.spawn(Echo, { name: 'echo' })
    expect(await a.system.refFor<EchoProtocol>(echo2.address).ask('echo', 'again')).toBe('echo:again')
  })

  it('when its own NATS connection closes for good, a node treats every peer as unreachable', async () => {
    const [a, b] = await pair(inject('natsUrl'), FAST_HEARTBEAT)
    const echo = b.system.spawn(Echo, { name: 'echo' })
    const watcher = a.system.spawn(Watcher, { name: 'watcher' })
    const remote = a.system.refFor<EchoProtocol>(echo.address)
    watcher.tell('watchIt', remote)
    await remote.ask('echo', 'sync')
    await waitFor(() => a.transport.members().includes('b'))
    const inFlight = remote.askWith({ timeoutMs: 60_000 }, 'echo', 'never')
    await a.connection.close()
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' })
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1)
    expect(seen[0]?.reason).toEqual({ kind: 'node-down', node: 'b' })
    await expect(remote.ask('echo', 'after')).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' })
  })

  it('membership is replaceable: the transport follows whatever Membership it is given', async () => {
    /** A membership driven by the test, as a Raft-backed one would be driven by the log. */
    class ManualMembership implements Membership {
      listener: MembershipListener | null = null
      alive = new Set<string>()
      start(listener: MembershipListener) {
        this.listener = listener
        return Promise.resolve()
      }
      linkChanged() {}
      announceLeaving() {}
      members() {
        return [...this.alive]
      }
      stop() {
        return Promise.resolve()
      }
    }
    const url = inject('natsUrl')
    const cluster = uniqueCluster('nt')
    const manual = new ManualMembership()
    const a = await startNode(url, cluster, 'a', { transport: { membership: manual } })
    const b = await startNode(url, cluster, 'b')
    nodes.push(a, b)
    const echo = b.system.spawn(Echo, { name: 'echo' })
    const remote = a.system.refFor<EchoProtocol>(echo.address)
    expect(await remote.ask('echo', 'hi')).toBe('echo:hi')
    manual.listener?.down('b', null)
    await expect(remote.ask('echo', 'down')).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' })
    manual.listener?.up('b')
    expect(await remote.ask('echo', 'back')).toBe('echo:back')
  })
})
