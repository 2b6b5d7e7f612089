import { describe, expect, it } from 'vitest'
import { Simulation, SimulatedNetwork, type SimProcess } from '../../../testing/index.ts'
import type { FrameTransport } from '../../../transport/index.ts'

/** Two raw endpoints on a network: frames are single bytes, so order and loss are easy to read. */
function pair(seed: number, options: ConstructorParameters<typeof SimulatedNetwork>[1] = {}) {
  const sim = new Simulation({ seed })
  const network = new SimulatedNetwork(sim, { failureDetector: false, ...options })
  const processes: SimProcess[] = []
  const endpoint = (node: string): { transport: FrameTransport; received: number[]; process: SimProcess } => {
    const process = sim.createProcess(node)
    processes.push(process)
    const transport = network.attach({ system: 's', node, shard: 0 }, process)
    const received: number[] = []
    transport.onFrame((frame) => received.push(frame[0] as number))
    return { transport, received, process }
  }
  const a = endpoint('a')
  const b = endpoint('b')
  const to = (node: string) => ({ system: 's', node, shard: 0 })
  const sendMany = (n: number): void => {
    for (let i = 0; i < n; i++) a.transport.send(to('b'), Uint8Array.of(i))
  }
  return { sim, network, a, b, to, sendMany }
}

describe('SimulatedNetwork', () => {
  it('delivers frames after a seeded latency, FIFO per link by default', async () => {
    const { sim, b, sendMany, network } = pair(1, { latency: { minMs: 5, maxMs: 20 } })
    sendMany(50)
    await sim.advance(4)
    expect(b.received).toEqual([])
    await sim.runUntilIdle()
    expect(b.received).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(sim.now).toBeGreaterThanOrEqual(5)
    expect(sim.now).toBeLessThanOrEqual(20)
    expect(network.stats).toMatchObject({ sent: 50, delivered: 50 })
  })

  it('copies frames: the sender may reuse its buffer at once', async () => {
    const { sim, a, b, to } = pair(1)
    // A Buffer, as encoders return: Buffer#slice would be a view, so the copy must be a real one.
    const buffer = Buffer.from([7])
    a.transport.send(to('b'), buffer)
    buffer[0] = 99
    await sim.runUntilIdle()
    expect(b.received).toEqual([7])
  })

  it('reorders, loses and duplicates frames with the configured probabilities, reproducibly', async () => {
    const run = async (seed: number) => {
      const { sim, b, sendMany, network } = pair(seed, { latency: { minMs: 1, maxMs: 50 }, reorder: 0.5, loss: 0.2, duplication: 0.2 })
      sendMany(200)
      await sim.runUntilIdle()
      return { received: b.received, stats: { ...network.stats }, hash: sim.traceHash }
    }
    const first = await run(11)
    expect(await run(11)).toEqual(first)
    const { received, stats } = first
    expect(stats.lost).toBeGreaterThan(10)
    expect(stats.duplicated).toBeGreaterThan(10)
    expect(stats.reordered).toBeGreaterThan(50)
    expect(received.length).toBe(200 - stats.lost + stats.duplicated)
    const inOrder = received.every((v, i) => i === 0 || v >= (received[i - 1] as number))
    expect(inOrder).toBe(false)
  })

  it('a symmetric partition loses frames both ways until healed; frames in flight are lost too', async () => {
    const { sim, a, b, to, sendMany, network } = pair(2, { latency: { minMs: 10, maxMs: 10 } })
    sendMany(1)
    network.partition('a', 'b')
    b.transport.send(to('a'), Uint8Array.of(1))
    await sim.runUntilIdle()
    expect(b.received).toEqual([])
    expect(a.received).toEqual([])
    expect(network.stats.partitioned).toBe(2)
    network.heal()
    sendMany(1)
    await sim.runUntilIdle()
    expect(b.received).toEqual([0])
  })

  it('a one-way partition cuts one direction only', async () => {
    const { sim, a, b, to, sendMany, network } = pair(3)
    network.partitionOneWay('a', 'b')
    sendMany(3)
    b.transport.send(to('a'), Uint8Array.of(42))
    await sim.runUntilIdle()
    expect(b.received).toEqual([])
    expect(a.received).toEqual([42])
    network.healOneWay('a', 'b')
    sendMany(1)
    await sim.runUntilIdle()
    expect(b.received).toEqual([0])
  })

  it('a paused receiver gets its frames when it resumes; a crashed one never does', async () => {
    const { sim, b, sendMany, network } = pair(4)
    b.process.pause()
    sendMany(3)
    await sim.advance(100)
    expect(b.received).toEqual([])
    b.process.resume()
    await sim.runUntilIdle()
    expect(b.received).toEqual([0, 1, 2])
    b.process.crash()
    sendMany(1)
    await sim.runUntilIdle()
    expect(b.received).toEqual([0, 1, 2])
    expect(network.stats.unroutable).toBe(1)
  })

  it('the failure detector reports a crashed, frozen or cut-off peer after its timeout, in virtual time', async () => {
    const sim = new Simulation({ seed: 5 })
    const network = new SimulatedNetwork(sim, { failureDetector: { heartbeatMs: 100, timeoutMs: 500 } })
    const downs: string[] = []
    const nodes = ['a', 'b', 'c'].map((node) => {
      const process = sim.createProcess(node)
      const transport = network.attach({ system: 's', node, shard: 0 }, process)
      transport.onPeerDown((peer) => downs.push(`${node}:${peer}@${sim.now}`))
      return process
    })
    await sim.advance(1000)
    expect(downs).toEqual([])
    nodes[2]?.crash()
    await sim.advance(1000)
    // Last heard at the tick of t=1000; silent for 500 ms at t=1500.
    expect(downs).toEqual(['a:c@1500', 'b:c@1500'])
    downs.length = 0
    network.partitionOneWay('b', 'a')
    await sim.advance(1000)
    // Only a stops hearing from b; b still hears a.
    expect(downs).toEqual(['a:b@2500'])
    downs.length = 0
    network.heal()
    await sim.advance(500)
    // a hears b again; then b freezes (a long GC pause) and a declares it down once more.
    nodes[1]?.pause()
    await sim.advance(1000)
    expect(downs).toEqual(['a:b@4000'])
    expect(network.detector?.isDown('a', 'b')).toBe(true)
    expect(network.detector?.isDown('b', 'a')).toBe(false)
  })
})
