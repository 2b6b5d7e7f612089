/**
 * Issue #10: bad input from outside cannot take a node down by volume. A real `troupe start` of the
 * bank over real NATS gets 1,000 malformed, invalid or refused calls per second for 5 s; it stays up
 * (same pid, /healthz ok) with its balances unchanged, and every ask got an error reply.
 */
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node'
import { Packr } from 'msgpackr'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { uniqueCluster } from '../support/services.ts'
import { startNodeProcess, type NodeProcess } from './support.ts'

const RATE_PER_SECOND = 1000
const SECONDS = 5
/** Calls per tick; ticks are 100 ms apart, so the rate holds without a burst of 5,000 at once. */
const PER_TICK = RATE_PER_SECOND / 10

const packr = new Packr({ useRecords: false, mapsAsObjects: true })
const json = (method: string, args: unknown): string => JSON.stringify({ method, args })

interface BadCall {
  readonly name: string
  readonly body: string | Uint8Array
  readonly headers?: Readonly<Record<string, string>>
  /** The error code the reply must carry. */
  readonly code: string
}

const MSGPACK = { 'Content-Type': 'application/msgpack' }
/** Codes the bank's actors answer with (Rejections): these calls passed the gateway. */
const DOMAIN_REFUSALS = new Set(['ERR_UNKNOWN_ACCOUNT', 'ERR_INSUFFICIENT_FUNDS', 'ERR_INVALID_AMOUNT'])

/** Every class the issue names: bad JSON, bad msgpack, wrong types, transfer [null], unknown, unpublished and private methods, domain refusals, huge timeouts. */
const BAD_CALLS: readonly BadCall[] = [
  { name: 'bank.transfers', body: '{"method": "transfer", "args": [', code: 'ERR_MALFORMED' },
  { name: 'bank.transfers', body: new Uint8Array([0xff, 0xfe, 0x00]), code: 'ERR_MALFORMED' },
  { name: 'bank.transfers', body: new Uint8Array([0x82, 0xa6, 0x6d, 0x65]), headers: MSGPACK, code: 'ERR_MALFORMED' },
  { name: 'bank.transfers', body: new Uint8Array([0xd9, 0xc8, 0x61, 0x62, 0x63]), headers: MSGPACK, code: 'ERR_MALFORMED' },
  { name: 'bank.transfers', body: json('transfer', [null]), code: 'ERR_INVALID_ARGS' },
  { name: 'bank.transfers', body: packr.pack({ method: 'transfer', args: [null] }), headers: MSGPACK, code: 'ERR_INVALID_ARGS' },
  { name: 'bank.transfers', body: json('transfer', []), code: 'ERR_INVALID_ARGS' },
  { name: 'bank.transfers', body: json('transfer', [{ from: 1, to: 'bob', amount: '5' }]), code: 'ERR_INVALID_ARGS' },
  { name: 'bank.transfers', body: json('transfer', [{ from: 'alice', to: 'bob', amount: 5, timeoutMs: 1e12 }]), code: 'ERR_INVALID_ARGS' },
  { name: 'bank.transfers', body: json('transfer', [{ from: 'alice', to: 'bob', amount: 1e20 }]), code: 'ERR_INVALID_ARGS' },
  { name: 'bank.transfers', body: packr.pack({ method: 'transfer', args: [{ from: 'alice', to: 'bob', amount: 2n ** 62n }] }), headers: MSGPACK, code: 'ERR_INVALID_ARGS' },
  { name: 'bank.transfers', body: json('transfer', 'all of it'), code: 'ERR_BAD_REQUEST' },
  { name: 'bank.transfers', body: json('', []), code: 'ERR_BAD_REQUEST' },
  { name: 'bank.transfers', body: '[1, 2, 3]', code: 'ERR_BAD_REQUEST' },
  { name: 'bank.transfers', body: json('compensate', ['tx', ['alice']]), code: 'ERR_UNKNOWN_METHOD' },
  { name: 'bank.transfers', body: json('hold', []), code: 'ERR_UNKNOWN_METHOD' },
  { name: 'bank.transfers', body: json('execute', ['tx', { from: 'alice', to: 'bob', amount: 1 }]), code: 'ERR_UNKNOWN_METHOD' },
  { name: 'bank.transfers', body: json('postStop', []), code: 'ERR_UNKNOWN_METHOD' },
  { name: 'bank.transfers', body: json('__proto__', []), code: 'ERR_UNKNOWN_METHOD' },
  { name: 'bank.accounts', body: json('open', ['mallory', 1_000_000_000]), code: 'ERR_UNKNOWN_METHOD' },
  { name: 'bank.accounts', body: json('get', [{ id: 'alice' }]), code: 'ERR_INVALID_ARGS' },
  { name: 'bank.accounts', body: json('get', ['nobody']), code: 'ERR_UNKNOWN_ACCOUNT' },
  { name: 'bank.transfers', body: json('transfer', [{ from: 'ghost', to: 'alice', amount: 100 }]), code: 'ERR_UNKNOWN_ACCOUNT' },
  { name: 'bank.transfers', body: json('transfer', [{ from: 'alice', to: 'bob', amount: 10 ** 12 }]), code: 'ERR_INSUFFICIENT_FUNDS' },
  { name: 'bank.transfers', body: json('transfer', [{ from: 'alice', to: 'alice', amount: 100 }]), code: 'ERR_INVALID_AMOUNT' },
  { name: 'bank.transfers', body: json('stats', []), headers: { 'Troupe-Timeout': '1e3' }, code: 'ERR_BAD_REQUEST' },
  { name: 'bank.transfers', body: json('stats', []), headers: { 'Troupe-Timeout': '-1' }, code: 'ERR_BAD_REQUEST' },
  { name: 'bank.accounts', body: json('get', ['nobody']), headers: { 'Troupe-Timeout': '9'.repeat(30) }, code: 'ERR_UNKNOWN_ACCOUNT' },
  { name: 'bank.transfers', body: json('stats', []), headers: { 'Content-Type': 'text/xml' }, code: 'ERR_BAD_REQUEST' },
  // Length bombs and deep nesting: the 101-byte payload that used to abort the node (array32 of 2^32 − 1).
  { name: 'bank.transfers', body: Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, ...new Array<number>(96).fill(0xc0)]), headers: MSGPACK, code: 'ERR_MALFORMED' },
  { name: 'bank.transfers', body: Uint8Array.from([0x82, 0xa6, ...Buffer.from('method'), 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0]), headers: MSGPACK, code: 'ERR_MALFORMED' },
  { name: 'bank.transfers', body: Uint8Array.from([...new Array<number>(100).fill(0x91), 0xc0]), headers: MSGPACK, code: 'ERR_MALFORMED' },
]

/** Node frames a stranger publishes on the node's own subject: each must be dropped, counted by reason, and harm nothing. */
const FRAME_BOMBS: readonly Uint8Array[] = [
  Uint8Array.of(0xc1, 3, 0, 0, 0xff, 0xff, 0xff, 0xff),
  Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, ...new Array<number>(96).fill(0x90)]),
  Uint8Array.from([...new Array<number>(20).fill(0x91), 0xdc, 0xff, 0xff]),
]

let node: NodeProcess | null = null
let raw: NatsConnection | null = null
afterAll(async () => {
  await raw?.close()
  node?.child.kill('SIGKILL')
})

async function ask(connection: NatsConnection, subject: string, body: string | Uint8Array, hdrs: Readonly<Record<string, string>> = {}): Promise<any> {
  const h = natsHeaders()
  for (const [k, v] of Object.entries(hdrs)) h.set(k, v)
  const msg = await connection.request(subject, body, { timeout: 10_000, headers: h })
  return msg.headers?.get('Content-Type') === 'application/msgpack' ? packr.unpack(msg.data) : msg.json()
}

describe('a bank node under a flood of bad calls', () => {
  it(`${RATE_PER_SECOND} malformed, invalid or refused calls per second for ${SECONDS} s: same pid, healthy, balances unchanged`, async () => {
    const natsUrl = inject('natsUrl')
    const cluster = uniqueCluster('flood')
    node = startNodeProcess([
      'start', '--app', 'examples/bank/node.ts', '--config', 'examples/bank/node.config.json',
      '--name', 'flood-1', '--cluster', cluster, '--nats', natsUrl, '--http', '127.0.0.1:0',
    ])
    const started = await node.waitForLog((l) => l['msg'] === 'node started')
    await node.waitForLog((l) => l['msg'] === 'published' && l['publicName'] === 'bank.auditor')
    const health = `http://127.0.0.1:${String(started['http'])}/healthz`
    const pid = node.child.pid
    raw = await connect({ servers: natsUrl })
    const subject = (name: string): string => `troupe.${cluster}.call.${name}`
    const connection = raw

    const before = (await ask(connection, subject('bank.accounts'), json('snapshot', []))).ok
    expect(Object.keys(before.balances).sort()).toEqual(['alice', 'bob', 'carol'])

    const replies: Promise<string>[] = []
    // Transfers counts the refusals it handles in memory: a restart would reset the count.
    let refusedByTransfers = 0
    const tick = (index: number): void => {
      for (const frame of FRAME_BOMBS) connection.publish(`troupe.${cluster}.sys.flood-1.0`, frame)
      for (let i = 0; i < PER_TICK; i++) {
        const call = BAD_CALLS[(index * PER_TICK + i) % BAD_CALLS.length] as BadCall
        if (call.name === 'bank.transfers' && DOMAIN_REFUSALS.has(call.code)) refusedByTransfers++
        if (i % 10 === 9) {
          // A tenth are tells (no reply subject): refused ones are counted, never answered.
          const h = natsHeaders()
          for (const [k, v] of Object.entries(call.headers ?? {})) h.set(k, v)
          connection.publish(subject(call.name), call.body, { headers: h })
          continue
        }
        replies.push(
          ask(connection, subject(call.name), call.body, call.headers).then(
            (reply) => (reply?.error?.code === call.code ? 'expected' : `${call.code} expected, got ${JSON.stringify(reply).slice(0, 200)}`),
            (error: unknown) => `${call.code} expected, got ${(error as Error).message}`,
          ),
        )
      }
    }
    // Paced by the wall clock: tick k fires at k × 100 ms, so a slow tick does not stretch the run.
    const start = Date.now()
    for (let k = 0; k < SECONDS * 10; k++) {
      const due = start + k * 100
      if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()))
      tick(k)
    }
    const outcomes = await Promise.all(replies)
    const unexpected = outcomes.filter((outcome) => outcome !== 'expected')
    expect(unexpected.slice(0, 5)).toEqual([])
    expect(outcomes.length).toBe(RATE_PER_SECOND * SECONDS * 0.9)

    // Still the same process, alive and healthy, with the same money where it was.
    expect(node.child.pid).toBe(pid)
    expect(node.child.exitCode).toBeNull()
    expect((await fetch(health)).status).toBe(200)
    const after = (await ask(connection, subject('bank.accounts'), json('snapshot', []))).ok
    expect(after).toEqual(before)
    const audit = (await ask(connection, subject('bank.auditor'), json('check', []))).ok
    expect(audit).toMatchObject({ balanced: true, total: before.opened })
    // Tells may still be in the coordinator's hands: poll until it has counted every refusal it was
    // sent. Exactly that many: it was never restarted (nothing crashed), and nothing moved.
    const deadline = Date.now() + 10_000
    let stats = (await ask(connection, subject('bank.transfers'), json('stats', []))).ok
    while (stats.refused < refusedByTransfers && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      stats = (await ask(connection, subject('bank.transfers'), json('stats', []))).ok
    }
    expect(stats).toMatchObject({ completed: 0, failed: 0, refused: refusedByTransfers, unsettled: [] })
    expect(node.output()).not.toMatch(/SupervisorGaveUp|the top of the actor tree failed/)
    // Refusals are logged rate-limited: a line per code at first, then at most one per 10 s per code.
    const refusalLines = node.output().split('\n').filter((line) => line.includes('gateway refused a call'))
    expect(refusalLines.length).toBeGreaterThan(0)
    expect(refusalLines.length).toBeLessThanOrEqual(2 * 8)

    // /metrics shows what was refused: calls by name, method (bounded labels) and outcome, refused
    // tells, and every forged node frame counted by reason.
    const metricsUrl = `http://127.0.0.1:${String(started['http'])}/metrics`
    const framesSent = FRAME_BOMBS.length * SECONDS * 10
    const malformedTotal = (text: string): number =>
      [...text.matchAll(/^troupe_malformed_frames_total\{reason="[^"]+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
    let metrics = await (await fetch(metricsUrl)).text()
    while (malformedTotal(metrics) < framesSent && Date.now() < deadline + 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      metrics = await (await fetch(metricsUrl)).text()
    }
    expect(malformedTotal(metrics)).toBe(framesSent)
    expect(metrics).toMatch(/^troupe_gateway_calls_total\{public_name="bank.transfers",method="<unknown>",outcome="ERR_UNKNOWN_METHOD"\} [1-9]\d*$/m)
    expect(metrics).toMatch(/^troupe_gateway_calls_total\{public_name="bank.transfers",method="transfer",outcome="ERR_INVALID_ARGS"\} [1-9]\d*$/m)
    expect(metrics).toMatch(/^troupe_gateway_refused_tells_total\{code="ERR_MALFORMED"\} [1-9]\d*$/m)
    expect(metrics).not.toMatch(/method="(compensate|hold|postStop|__proto__)"/)
    // Refused by the NATS link (no valid link header) or, past it, by the codec: both log rate-limited.
    const malformedLines = node.output().split('\n').filter((line) => line.includes('malformed frame dropped') || line.includes('without a valid link header'))
    expect(malformedLines.length).toBeGreaterThan(0)
    expect(malformedLines.length).toBeLessThanOrEqual(2 * FRAME_BOMBS.length)

    node.child.kill('SIGTERM')
    expect(await node.exited).toBe(0)
  }, 90_000)
})
