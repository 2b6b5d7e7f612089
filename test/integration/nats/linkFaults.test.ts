/**
 * Issue 11, row "nats-server killed (kill -9), back 2 s later": a stream of ~50k tells and asks from
 * node a to a ledger on node b while the server dies with SIGKILL and comes back on the same port.
 * Within one incarnation of both nodes a link fault neither loses nor duplicates a message: every
 * tell is processed exactly once or reported to its sender, every ask settles exactly once, nothing
 * is processed twice.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Actor, DeadLetterTopic } from '../../../runtime/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { LocalNatsServer, uniqueCluster } from '../../support/services.ts'

const TOTAL = 50_000
/** Every ASK_EVERY-th message is an ask, the rest tells. */
const ASK_EVERY = 10
/** The sender yields to the event loop after this many messages (one frame each time). */
const PER_TURN = 100

/** How often each message id was processed on b (same process: the ledger writes here). */
let processed = new Uint8Array(TOTAL)

interface LedgerProtocol {
  record(id: number): void
  recordAsk(id: number): number
}
class Ledger extends Actor<LedgerProtocol> implements LedgerProtocol {
  record(id: number): void {
    processed[id] = (processed[id] as number) + 1
  }
  recordAsk(id: number): number {
    processed[id] = (processed[id] as number) + 1
    return id
  }
}

const nodes: TestNode[] = []
const servers: LocalNatsServer[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
/** How long the server stays dead. */
const OUTAGE_MS = 2000

describe('NATS link faults', () => {
  it('kill -9 of nats-server mid-stream and back on the same port: every tell processed once or reported, every ask settles once, none processed twice', async () => {
    processed = new Uint8Array(TOTAL)
    const server = await LocalNatsServer.start()
    servers.push(server)
    const cluster = uniqueCluster('kill9')
    // A generous detector: the outage must not be mistaken for the peer's death.
    const options = { system: { askTimeoutMs: 60_000 }, transport: { heartbeat: { intervalMs: 200, timeoutMs: 20_000 } } }
    const a = await startNode(server.url, cluster, 'a', options)
    const b = await startNode(server.url, cluster, 'b', options)
    nodes.push(a, b)
    const ledger = a.system.refFor<LedgerProtocol>(b.system.spawn(Ledger, { name: 'ledger', mailbox: { capacity: TOTAL } }).address)
    await waitFor(() => a.transport.members().includes('b') && b.transport.members().includes('a'), { timeoutMs: 10_000 })

    // What the sender is told: thrown at the call, or a dead letter with a reason.
    const reported = new Uint8Array(TOTAL)
    const reasons = new Map<string, number>()
    const report = (id: number, code: string): void => {
      reported[id] = (reported[id] as number) + 1
      reasons.set(code, (reasons.get(code) ?? 0) + 1)
    }
    a.system.subscribe(DeadLetterTopic, (letter) => {
      if (letter.envelope.method === 'record') report(letter.envelope.args[0] as number, (letter.error as { code?: string } | undefined)?.code ?? letter.reason)
    })
    const asks: Promise<void>[] = []
    let asksSettled = 0
    let asksResolved = 0
    let asksRejected = 0

    let killed = false
    let crashedAt = 0
    for (let id = 0; id < TOTAL; id++) {
      if (id % ASK_EVERY === 0) {
        asks.push(
          ledger.ask('recordAsk', id).then(
            (value) => {
              asksSettled++
              asksResolved++
              expect(value).toBe(id)
            },
            (error: { code?: string }) => {
              asksSettled++
              asksRejected++
              report(id, error.code ?? 'unknown')
            },
          ),
        )
      } else {
        try {
          ledger.tell('record', id)
        } catch (error) {
          report(id, (error as { code?: string }).code ?? 'unknown')
        }
      }
      if (id % PER_TURN !== PER_TURN - 1) continue
      // During the outage the sender keeps going at a gentler pace, so sends span it.
      await (killed && !server.running ? pause(2) : turn())
      if (!killed && id >= TOTAL / 5) {
        // Mid-stream, with frames on the wire and in nats.js's buffers: no goodbye, nothing flushed.
        killed = true
        crashedAt = performance.now()
        await server.crash()
      }
      if (killed && !server.running && performance.now() - crashedAt >= OUTAGE_MS) await server.resume()
    }
    // The scenario: the server is back OUTAGE_MS after it died (if the sends ended sooner).
    if (!server.running) {
      await waitFor(() => performance.now() - crashedAt >= OUTAGE_MS, { timeoutMs: OUTAGE_MS + 1000 })
      await server.resume()
    }
    await waitFor(() => a.transport.connected && b.transport.connected, { timeoutMs: 20_000 })

    // Every message ends up processed on b or reported to a, each exactly once.
    const accounted = (): number => {
      let n = 0
      for (let id = 0; id < TOTAL; id++) if ((processed[id] as number) + (reported[id] as number) > 0) n++
      return n
    }
    await waitFor(() => accounted() === TOTAL && asksSettled === asks.length, { timeoutMs: 40_000, message: `accounted for ${accounted()} of ${TOTAL}, asks settled ${asksSettled} of ${asks.length}` })
    await Promise.all(asks)
    let twice = 0
    let both = 0
    let processedCount = 0
    for (let id = 0; id < TOTAL; id++) {
      const p = processed[id] as number
      const r = reported[id] as number
      if (p > 1 || r > 1) twice++
      if (p === 1 && r === 1 && id % ASK_EVERY !== 0) both++
      if (p === 1) processedCount++
    }
    expect(twice).toBe(0)
    // A tell is processed or reported, never both (asks may time out after being processed; none did here).
    expect(both).toBe(0)
    expect(asksSettled).toBe(TOTAL / ASK_EVERY)
    expect(asksResolved + asksRejected).toBe(asksSettled)
    // The outage (about as long as the sends in it) is shorter than outageAskFailAfterMs: nothing had to be given up.
    expect(Object.fromEntries(reasons)).toEqual({})
    expect(processedCount).toBe(TOTAL)
    expect(a.transport.stats.linkDowns).toBe(1)
    // The fault did hit frames in flight: some went again, and b dropped the copies it already had.
    expect(a.transport.stats.framesResent + b.transport.stats.framesResent).toBeGreaterThan(0)
    await waitFor(() => a.transport.stats.framesUnacked + a.transport.stats.framesBuffered === 0, { timeoutMs: 10_000 })
  }, 90_000)

  it('an outage longer than outageAskFailAfterMs fails what waits (ERR_NATS_DOWN, dead letters with the reason) and refuses new sends at the call until the link is back', async () => {
    const server = await LocalNatsServer.start()
    servers.push(server)
    const cluster = uniqueCluster('outage')
    const options = { system: { askTimeoutMs: 60_000 }, transport: { outageAskFailAfterMs: 500, heartbeat: { intervalMs: 200, timeoutMs: 20_000 } } }
    const a = await startNode(server.url, cluster, 'a', options)
    const b = await startNode(server.url, cluster, 'b', options)
    nodes.push(a, b)
    const ledger = a.system.refFor<LedgerProtocol>(b.system.spawn(Ledger, { name: 'ledger' }).address)
    processed = new Uint8Array(10)
    expect(await ledger.ask('recordAsk', 0)).toBe(0)
    const deadLetters: string[] = []
    a.system.subscribe(DeadLetterTopic, (letter) => deadLetters.push(`${letter.envelope.method}:${(letter.error as { code?: string } | undefined)?.code ?? ''}`))

    await server.crash()
    await waitFor(() => !a.transport.connected, { timeoutMs: 10_000 })
    const started = performance.now()
    const waiting = ledger.ask('recordAsk', 1)
    ledger.tell('record', 2)
    // Waits for the bound, not for its 60 s timeout.
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_NATS_DOWN' })
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(deadLetters).toContain('record:ERR_NATS_DOWN')
    // From then on, refused at the call.
    expect(() => ledger.tell('record', 3)).toThrow(expect.objectContaining({ code: 'ERR_NATS_DOWN' }))
    await expect(ledger.ask('recordAsk', 4)).rejects.toMatchObject({ code: 'ERR_NATS_DOWN' })

    await server.resume()
    await waitFor(() => a.transport.connected && b.transport.connected, { timeoutMs: 20_000 })
    await waitFor(() => a.transport.members().includes('b'), { timeoutMs: 10_000 })
    expect(await ledger.ask('recordAsk', 5)).toBe(5)
    // What failed was never processed.
    expect([...processed.subarray(1, 5)]).toEqual([0, 0, 0, 0])
  }, 60_000)
})
