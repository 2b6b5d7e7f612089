import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../../runtime/index.ts'
import { applyFaults, NetworkProfiles, SimulatedCluster, Simulation, SimulatedNetwork, type SimProcess } from '../../../testing/index.ts'
import type { FrameTransport } from '../../../transport/index.ts'

/** Raw endpoints on a network: frames are single bytes, so order and loss are easy to read. */
function world(seed: number, nodes: readonly string[], options: ConstructorParameters<typeof SimulatedNetwork>[1] = {}) {
  const sim = new Simulation({ seed })
  const network = new SimulatedNetwork(sim, { failureDetector: false, ...options })
  const endpoints = new Map<string, { transport: FrameTransport; received: string[]; process: SimProcess }>()
  for (const node of nodes) {
    const process = sim.createProcess(node)
    const transport = network.attach({ system: 's', node, shard: 0 }, process)
    const received: string[] = []
    transport.onFrame((frame) => received.push(`${String.fromCharCode(frame[0] as number)}${frame[1] as number}`))
    endpoints.set(node, { transport, received, process })
  }
  const send = (from: string, to: string, n = 1, start = 0): void => {
    for (let i = start; i < start + n; i++) endpoints.get(from)?.transport.send({ system: 's', node: to, shard: 0 }, Uint8Array.of(from.charCodeAt(0), i))
  }
  const received = (node: string): string[] => endpoints.get(node)?.received ?? []
  return { sim, network, send, received }
}

describe('SimulatedNetwork: partitions, holds, injection, counters', () => {
  it('partitions into N groups: links inside a group stay, links across are cut', async () => {
    const { sim, network, send, received } = world(1, ['a', 'b', 'c', 'd', 'e'])
    network.partition(['a', 'b'], ['c'], ['d', 'e'])
    for (const to of ['b', 'c', 'd']) send('a', to)
    send('d', 'e')
    send('c', 'e')
    await sim.runUntilIdle()
    expect(received('b')).toEqual(['a0'])
    expect(received('c')).toEqual([])
    expect(received('d')).toEqual([])
    expect(received('e')).toEqual(['d0'])
  })

  it('overlapping partitions heal independently: a link returns when no cut still removes it', async () => {
    const { sim, network, send, received } = world(2, ['a', 'b', 'c'])
    const first = network.partition(['a'], ['b', 'c'])
    const second = network.isolate('b')
    first.heal()
    send('a', 'b')
    send('a', 'c')
    await sim.runUntilIdle()
    // a-b is still cut by the isolation of b; a-c came back with the first heal.
    expect(received('b')).toEqual([])
    expect(received('c')).toEqual(['a0'])
    second.heal()
    expect(second.healed).toBe(true)
    send('a', 'b')
    await sim.runUntilIdle()
    expect(received('b')).toEqual(['a0'])
  })

  it('ring, bridge and a seeded majority/minority split', async () => {
    const { sim, network, send, received } = world(3, ['a', 'b', 'c', 'd', 'e'])
    const ring = network.ring(['a', 'b', 'c', 'd', 'e'])
    expect(network.isBlocked('a', 'b')).toBe(false)
    expect(network.isBlocked('a', 'e')).toBe(false)
    expect(network.isBlocked('a', 'c')).toBe(true)
    ring.heal()
    const bridge = network.bridge(['a', 'b'], 'c', ['d', 'e'])
    expect(network.isBlocked('a', 'd')).toBe(true)
    expect(network.isBlocked('a', 'c')).toBe(false)
    expect(network.isBlocked('c', 'e')).toBe(false)
    bridge.heal()
    const { majority, minority, cut } = network.splitMajority()
    expect(majority).toHaveLength(3)
    expect(minority).toHaveLength(2)
    send(majority[0] as string, minority[0] as string)
    send(majority[0] as string, majority[1] as string)
    await sim.runUntilIdle()
    expect(received(minority[0] as string)).toEqual([])
    expect(received(majority[1] as string)).toHaveLength(1)
    cut.heal()
    expect(network.isBlocked(majority[0] as string, minority[0] as string)).toBe(false)
  })

  it('hold keeps frames (in flight ones too) until release, then delivers them late and in order', async () => {
    const { sim, network, send, received } = world(4, ['a', 'b'], { latency: { minMs: 5, maxMs: 5 } })
    send('a', 'b', 2)
    const hold = network.hold({ from: 'a', to: 'b' })
    send('a', 'b', 3, 2)
    send('b', 'a')
    await sim.advance(1000)
    expect(received('b')).toEqual([])
    expect(received('a')).toEqual(['b0'])
    expect(hold.size).toBe(5)
    hold.release()
    send('a', 'b', 1, 5)
    await sim.runUntilIdle()
    expect(received('b')).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5'])
    expect(sim.now).toBeGreaterThan(1000)
    expect(network.stats.held).toBe(5)
  })

  it('duplicates keep link order: with reorder 0 no first arrival overtakes a frame sent earlier', async () => {
    const { sim, network, send, received } = world(5, ['a', 'b'], { latency: { minMs: 1, maxMs: 30 }, duplication: 0.3 })
    send('a', 'b', 200)
    await sim.runUntilIdle()
    expect(network.stats.duplicated).toBeGreaterThan(30)
    const firsts: number[] = []
    const seen = new Set<string>()
    for (const r of received('b')) {
      if (seen.has(r)) continue
      seen.add(r)
      firsts.push(Number(r.slice(1)))
    }
    expect(firsts).toEqual(Array.from({ length: 200 }, (_, i) => i))
    // Every arrival, copies included, is in send order: a copy is a retransmission behind the original.
    const all = received('b').map((r) => Number(r.slice(1)))
    expect(all.every((v, i) => i === 0 || v >= (all[i - 1] as number))).toBe(true)
  })

  it('inject puts an arbitrary frame on a link; per-link counters count frames and bytes', async () => {
    const { sim, network, send, received } = world(6, ['a', 'b', 'c'])
    send('a', 'b', 3)
    send('b', 'c', 1)
    network.partition(['a'], ['c'])
    send('a', 'c', 2)
    network.inject('c', 'b', Uint8Array.of('z'.charCodeAt(0), 9), { delayMs: 100 })
    await sim.runUntilIdle()
    expect(received('b')).toEqual(['a0', 'a1', 'a2', 'z9'])
    expect(network.stats.injected).toBe(1)
    const links = network.linkStats()
    expect(links.get('a->b')).toMatchObject({ sent: 3, delivered: 3, dropped: 0, bytes: 6 })
    expect(links.get('a->c')).toMatchObject({ sent: 2, delivered: 0, dropped: 2 })
    expect(links.get('b->c')).toMatchObject({ sent: 1, delivered: 1 })
  })

  it('counts frames and bytes per message type when told how to classify a frame', async () => {
    const { sim, network, send } = world(8, ['a', 'b'], { classify: (frame) => (frame[1] === 0 ? 'vote' : 'append') })
    send('a', 'b', 4)
    send('b', 'a', 1)
    await sim.runUntilIdle()
    expect(Object.fromEntries(network.typeStats())).toEqual({ vote: { frames: 2, bytes: 4 }, append: { frames: 3, bytes: 6 } })
  })

  it('the labrpc profiles configure the wire: unreliable loses about 10 % of frames and reorders', async () => {
    const { sim, network, send, received } = world(7, ['a', 'b'], NetworkProfiles.unreliable)
    send('a', 'b', 250)
    await sim.runUntilIdle()
    expect(network.stats.lost).toBeGreaterThan(10)
    expect(network.stats.lost).toBeLessThan(45)
    expect(sim.now).toBeLessThan(27)
    const got = received('b').map((r) => Number(r.slice(1)))
    expect(got.every((v, i) => i === 0 || v >= (got[i - 1] as number))).toBe(false)
    for (const profile of Object.values(NetworkProfiles)) network.configure(profile)
  })
})

interface EchoProtocol {
  echo(value: string): string
}
class Echo extends Actor<EchoProtocol> implements EchoProtocol {
  echo(value: string): string {
    return value
  }
}

describe('SimulatedCluster: a peer declared down', () => {
  it('fails a new ask at once with ERR_NODE_DOWN instead of waiting out the ask timeout', async () => {
    const sim = new Simulation({ seed: 8 })
    const cluster = new SimulatedCluster(sim, {
      nodes: ['n1', 'n2'],
      network: { failureDetector: { heartbeatMs: 50, timeoutMs: 200 } },
      system: { askTimeoutMs: 30_000 },
      boot(system, _disk, node) {
        if (node.name === 'n2') system.spawn(Echo, { name: 'echo' })
      },
    })
    const echo = cluster.lookup<EchoProtocol>('n2', '/user/echo', 'n1') as ActorRef<EchoProtocol>
    expect(await sim.settle(echo.ask('echo', 'hi'))).toBe('hi')
    cluster.crash('n2')
    await sim.advance(500)
    expect(cluster.network.detector?.isDown('n1', 'n2')).toBe(true)
    const started = sim.now
    const error = (await sim.settle(echo.ask('echo', 'again')).catch((e: unknown) => e)) as { code: string }
    expect(error.code).toBe('ERR_NODE_DOWN')
    expect(sim.now - started).toBeLessThan(10)
    expect(cluster.network.stats.quarantined).toBeGreaterThan(0)
  })
})

describe('message counts and scheduled holds', () => {
  it('counts handled messages per method, and those that came from another node', async () => {
    const sim = new Simulation({ seed: 9, countMessages: true })
    const cluster = new SimulatedCluster(sim, {
      nodes: ['n1', 'n2'],
      boot(system, _disk, node) {
        if (node.name === 'n2') system.spawn(Echo, { name: 'echo' })
      },
    })
    const remote = cluster.lookup<EchoProtocol>('n2', '/user/echo', 'n1') as ActorRef<EchoProtocol>
    const local = cluster.lookup<EchoProtocol>('n2', '/user/echo') as ActorRef<EchoProtocol>
    for (let i = 0; i < 3; i++) await sim.settle(remote.ask('echo', `r${i}`))
    await sim.settle(local.ask('echo', 'l'))
    // Three asks came over the wire from n1 (their sender is n1's ask endpoint), one was local.
    expect(sim.messageCounts.get('echo')).toEqual({ handled: 4, remote: 3 })
    // Off unless asked for.
    expect(new Simulation({ seed: 1 }).messageCounts.size).toBe(0)
  })

  it("a 'hold' fault delivers a node's frames late, in order", async () => {
    const sim = new Simulation({ seed: 10 })
    const cluster = new SimulatedCluster(sim, {
      nodes: ['n1', 'n2'],
      network: { failureDetector: false },
      boot(system, _disk, node) {
        if (node.name === 'n2') system.spawn(Echo, { name: 'echo' })
      },
    })
    const echo = cluster.lookup<EchoProtocol>('n2', '/user/echo', 'n1') as ActorRef<EchoProtocol>
    applyFaults(cluster, [{ kind: 'hold', at: 0, node: 'n2', durationMs: 300 }])
    await sim.advance(1)
    const answer = echo.askWith({ timeoutMs: 10_000 }, 'echo', 'late')
    expect(await sim.settle(answer)).toBe('late')
    expect(sim.now).toBeGreaterThanOrEqual(300)
    expect(cluster.network.stats.held).toBeGreaterThan(0)
  })
})
