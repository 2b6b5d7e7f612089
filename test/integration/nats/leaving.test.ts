import { afterEach, describe, expect, inject, it } from 'vitest'
import { Actor, type DeadLetter } from '../../../runtime/index.ts'
import { waitFor, waitForValue } from '../../../testing/index.ts'
import type { HeartbeatMembership } from '../../../cluster/index.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { uniqueCluster } from '../../support/services.ts'
import { Echo, Watcher, type EchoProtocol } from '../../support/remoteActors.ts'

interface SlowProtocol {
  later(ms: number): Promise<string>
}

/** Replies after a while: an ask from the leaving node stays in flight across the announcement. */
class Slow extends Actor<SlowProtocol> implements SlowProtocol {
  static reentrant = true
  later(ms: number) {
    return new Promise<string>((resolve) => this.context.system.clock.setTimer(ms, () => resolve('late')))
  }
}

const nodes: TestNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

const HEARTBEAT = { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 } } }

describe('a node that announces it is leaving (real nats-server)', () => {
  it('gets no new work (ERR_PEER_LEAVING at the sender), still gets its replies, and its leave removes it without a node-down or a quarantine', async () => {
    const cluster = uniqueCluster('leave')
    const url = inject('natsUrl')
    const a = await startNode(url, cluster, 'a', HEARTBEAT)
    const b = await startNode(url, cluster, 'b', HEARTBEAT)
    nodes.push(a, b)
    const echoOnB = b.system.spawn(Echo, { name: 'echo' })
    const echoOnA = a.system.spawn(Echo, { name: 'echo' })
    const slowOnA = a.system.spawn(Slow, { name: 'slow' })
    const toB = a.system.refFor<EchoProtocol>(echoOnB.address)
    const toA = b.system.refFor<EchoProtocol>(echoOnA.address)
    expect(await toB.ask('echo', 'before')).toBe('echo:before')
    const watcher = a.system.spawn(Watcher, { name: 'watcher' })
    watcher.tell('watchIt', toB)
    await toB.ask('echo', 'watch is in place')

    // b asks a for something slow, then announces that it is leaving.
    const inFlight = b.system.refFor<SlowProtocol>(slowOnA.address).askWith({ timeoutMs: 10_000 }, 'later', 500)
    b.transport.announceLeaving()
    const membershipOfA = a.transport.membership as HeartbeatMembership
    await waitFor(() => membershipOfA.isLeaving('b'), { message: 'a hears that b is leaving' })
    expect(a.transport.members()).toEqual([])

    // New work from a to b is refused at a: asks fail with the retriable ERR_PEER_LEAVING, tells
    // become dead letters at a with that error (never delivered to b).
    const letters: DeadLetter[] = []
    a.system.deadLetters.subscribe((letter) => letters.push(letter))
    for (let i = 0; i < 5; i++) await expect(toB.ask('echo', `refused ${i}`)).rejects.toMatchObject({ code: 'ERR_PEER_LEAVING' })
    toB.tell('remember', 'refused tell')
    const refusedTell = await waitForValue(() => Promise.resolve(letters.find((l) => l.envelope.method === 'remember')), (l) => l !== undefined)
    expect(refusedTell?.reason).toBe('undeliverable')
    expect((refusedTell?.error as { code?: string } | undefined)?.code).toBe('ERR_PEER_LEAVING')

    // b's own traffic still flows both ways: its ask in flight gets a's reply, new asks from b work.
    expect(await inFlight).toBe('late')
    expect(await toA.ask('echo', 'from the leaving node')).toBe('echo:from the leaving node')
    expect(await echoOnB.ask('recall')).toEqual([])

    // Then b stops and leaves: removed at once, not declared down by the detector, not quarantined.
    await b.stop()
    await expect(toB.ask('echo', 'after leave')).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' })
    expect(membershipOfA.stats.declaredDown).toBe(0)
    const seen = await waitForValue(() => watcher.ask('seen'), (s) => s.length === 1)
    expect(seen[0]?.reason).not.toMatchObject({ kind: 'node-down' })
  })
})
