/**
 * The gateway's edge rules over real NATS: Standard Schema validation (zod, valibot, async),
 * default-deny, 64-bit integers, Troupe-Timeout syntax, header bytes in the size limit, counts by
 * name/method/outcome and rate-limited refusal logs.
 */
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node'
import { Packr } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { z } from 'zod'
import { Gateway, MAX_ARG_DEPTH, MAX_OUTCOME_LABELS, OTHER_OUTCOME_LABEL, UNKNOWN_METHOD_LABEL } from '../../../cluster/index.ts'
import { ActorSystem } from '../../../runtime/index.ts'
import { VirtualClock, waitFor } from '../../../testing/index.ts'
import { uniqueCluster } from '../../support/services.ts'
import { Account, startGateway, type GatewayFixture } from './fixtures.ts'
import { recordingLogger } from '../../support/recordingLogger.ts'

const packr = new Packr({ useRecords: false, mapsAsObjects: true })
const MSGPACK = { 'Content-Type': 'application/msgpack' }

let fixture: GatewayFixture
let raw: NatsConnection

beforeAll(async () => {
  fixture = await startGateway(inject('natsUrl'))
  raw = await connect({ servers: inject('natsUrl') })
})

afterAll(async () => {
  await raw?.close()
  await fixture?.stop()
})

async function call(name: string, body: Uint8Array | string, hdrs: Record<string, string> = {}, cluster = fixture.cluster): Promise<any> {
  const h = natsHeaders()
  for (const [k, v] of Object.entries(hdrs)) h.set(k, v)
  const msg = await raw.request(`troupe.${cluster}.call.${name}`, body, { timeout: 5000, headers: h })
  return msg.headers?.get('Content-Type') === 'application/msgpack' ? packr.unpack(msg.data) : msg.json()
}

const json = (method: string, args: unknown[]): string => JSON.stringify({ method, args })
const msgpack = (method: string, args: unknown[]): Uint8Array => packr.pack({ method, args })

describe('argument schemas (Standard Schema)', () => {
  it('a zod refusal carries the issues with their paths, and never reaches the actor', async () => {
    const before = (await call('bank', json('balance', []))).ok as number
    const reply = await call('bank', json('describe', [{ name: '', tags: ['a', 7] }]))
    expect(reply.error.code).toBe('ERR_INVALID_ARGS')
    expect(reply.error.data.method).toBe('describe')
    expect(reply.error.data.issues.map((issue: { path: unknown[] }) => issue.path)).toEqual(expect.arrayContaining([[0, 'name'], [0, 'tags', 1]]))
    for (const bad of [[null], [], ['5'], [-1], [1, 2], [Number.NaN]]) {
      expect((await call('bank', json('deposit', bad))).error.code).toBe('ERR_INVALID_ARGS')
    }
    expect((await call('bank', json('balance', []))).ok).toBe(before)
  })

  it('the actor receives the schema output (coercion)', async () => {
    expect((await call('bank', json('coerce', ['12']))).ok).toBe('number:12')
    expect((await call('bank', json('coerce', ['twelve']))).error.code).toBe('ERR_INVALID_ARGS')
  })

  it('an async (valibot) validator is awaited', async () => {
    expect((await call('bank', json('unlock', ['sesame']))).ok).toBe('unlocked with sesame')
    const refused = await call('bank', json('unlock', ['guess']))
    expect(refused.error).toMatchObject({ code: 'ERR_INVALID_ARGS', data: { issues: [{ message: 'wrong code' }] } })
  })

  it('publish refuses a missing or empty method list, lifecycle names and schemas for unlisted methods (JS callers)', async () => {
    const ref = fixture.system.spawn(Account, { name: 'unpublishable' })
    const publish = fixture.gateway.publish.bind(fixture.gateway) as (name: string, ref: unknown, options?: unknown) => Promise<void>
    const cases: unknown[] = [
      undefined,
      {},
      { methods: [] },
      { methods: 'deposit' },
      { methods: ['preStart'] },
      { methods: ['constructor'] },
      { methods: [''] },
      { methods: ['deposit'], args: { balance: z.tuple([]) } },
      { methods: ['deposit'], args: { deposit: (x: unknown) => x } },
      { methods: ['deposit'], bigint: ['balance'] },
    ]
    for (const options of cases) await expect(publish('nope', ref, options)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(fixture.gateway.names).not.toContain('nope')
  })
})

describe('64-bit integers', () => {
  it('without `bigint`, small int64 values become numbers and larger ones are refused', async () => {
    expect((await call('bank', msgpack('echo', [5n]), MSGPACK)).ok).toEqual({ value: 5, type: 'number' })
    const refused = await call('bank', msgpack('echo', [{ nested: [1, 2n ** 60n] }]), MSGPACK)
    expect(refused.error).toMatchObject({ code: 'ERR_INVALID_ARGS', data: { issues: [{ path: [0, 'nested', 1] }] } })
    expect((await call('bank', msgpack('echo', [-(2n ** 60n)]), MSGPACK)).error.code).toBe('ERR_INVALID_ARGS')
  })

  it('a method declared `bigint` gets BigInt', async () => {
    expect((await call('bank', msgpack('big', [2n ** 60n]), MSGPACK)).ok).toBe('bigint:1152921504606846976')
    expect((await call('bank', json('big', [7]))).ok).toBe('bigint:7')
  })

  it('deep nesting is walked without recursion: a 100,000-deep JSON array still gets an answer', async () => {
    const depth = 100_000
    const body = `{"method":"echo","args":[${'['.repeat(depth)}${2 ** 60}${']'.repeat(depth)}]}`
    const reply = await call('bank', body)
    expect(reply.error.code).toMatch(/^ERR_(INVALID_ARGS|MALFORMED)$/)
    expect((await call('bank', json('balance', []))).ok).toEqual(expect.any(Number))
  })

  it('arguments nested deeper than MAX_ARG_DEPTH are refused at the gateway (a node frame holding them would be refused whole)', async () => {
    const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`
    expect((await call('bank', `{"method":"echo","args":[${nested(MAX_ARG_DEPTH)}]}`)).ok).toBeDefined()
    const refused = await call('bank', `{"method":"echo","args":[${nested(MAX_ARG_DEPTH + 1)}]}`)
    expect(refused.error.code).toBe('ERR_INVALID_ARGS')
    expect(refused.error.message).toMatch(/nest deeper/)
  })

  it('JSON numbers that are unsafe integers are refused, declared or not (they may have lost precision)', async () => {
    expect((await call('bank', '{"method":"echo","args":[1152921504606846976]}')).error.code).toBe('ERR_INVALID_ARGS')
    expect((await call('bank', '{"method":"big","args":[1152921504606846976]}')).error.code).toBe('ERR_INVALID_ARGS')
    expect((await call('bank', '{"method":"echo","args":[[9007199254740991, 1.5]]}')).ok.value).toEqual([9007199254740991, 1.5])
  })
})

describe('ActorRefs from outside', () => {
  it('a ref (ext 42) inside a request is refused as malformed: outside callers pass addresses as data', async () => {
    const prefix = packr.pack({ method: 'echo', args: [] })
    // Swap the empty args array (0x90, the last byte) for an array holding one ext 42 value.
    const ref = [0xc7, 0x18, 0x2a, 0x95, 0xa4, 0x62, 0x61, 0x6e, 0x6b, 0xa2, 0x6e, 0x31, 0x02, 0xaa, ...Buffer.from('/user/acct'), 0xcd, 0x01, 0x2d]
    const body = new Uint8Array([...prefix.subarray(0, prefix.length - 1), 0x91, ...ref])
    expect((await call('bank', body, MSGPACK)).error.code).toBe('ERR_MALFORMED')
  })
})

describe('Troupe-Timeout is a decimal integer of milliseconds, nothing else', () => {
  for (const value of ['0x10', '1e3', '-1', '5.5', 'soon', '', '1 0', '+5', 'Infinity']) {
    it(`'${value}' → ERR_BAD_REQUEST`, async () => {
      expect((await call('bank', json('balance', []), { 'Troupe-Timeout': value })).error.code).toBe('ERR_BAD_REQUEST')
    })
  }
  it("'0' → ERR_DEADLINE_EXCEEDED; leading zeros and huge values (capped) are fine", async () => {
    expect((await call('bank', json('balance', []), { 'Troupe-Timeout': '0' })).error.code).toBe('ERR_DEADLINE_EXCEEDED')
    expect((await call('bank', json('balance', []), { 'Troupe-Timeout': '000250' })).ok).toEqual(expect.any(Number))
    expect((await call('bank', json('balance', []), { 'Troupe-Timeout': '9'.repeat(40) })).ok).toEqual(expect.any(Number))
  })
})

describe('size limit', () => {
  it('header bytes count toward it', async () => {
    const small = await startGateway(inject('natsUrl'), { maxPayloadBytes: 1024 })
    try {
      const body = json('describe', [{ name: 'x'.repeat(600), tags: [] }])
      expect((await call('bank', body, {}, small.cluster)).ok).toMatchObject({ balance: 0 })
      const reply = await call('bank', body, { 'X-Padding': 'p'.repeat(500) }, small.cluster)
      expect(reply.error.code).toBe('ERR_PAYLOAD_TOO_LARGE')
      expect(reply.error.data.size).toBeGreaterThan(1024)
    } finally {
      await small.stop()
    }
  })
})

describe('visibility', () => {
  it('counts by public name, method and outcome; unknown methods under one label; refused tells by code', async () => {
    const stats = fixture.gateway.stats
    const okBefore = stats.calls['bank']?.['deposit']?.['ok'] ?? 0
    await call('bank', json('deposit', [1]))
    await call('bank', json('deposit', [-1]))
    for (let i = 0; i < 5; i++) await call('bank', json(`attacker-${i}-${'x'.repeat(50)}`, []))
    await call('bank', '{nope')
    raw.publish(`troupe.${fixture.cluster}.call.bank`, json('deposit', ['lots']))
    await raw.flush()
    await waitFor(() => (stats.refusedTells['ERR_INVALID_ARGS'] ?? 0) >= 1)
    const bank = stats.calls['bank'] ?? {}
    expect(bank['deposit']?.['ok']).toBe(okBefore + 1)
    expect(bank['deposit']?.['ERR_INVALID_ARGS']).toBeGreaterThanOrEqual(2)
    expect(bank[UNKNOWN_METHOD_LABEL]?.['ERR_UNKNOWN_METHOD']).toBeGreaterThanOrEqual(5)
    expect(bank[UNKNOWN_METHOD_LABEL]?.['ERR_MALFORMED']).toBeGreaterThanOrEqual(1)
    // Caller strings never become label values.
    expect(Object.keys(bank).every((method) => method === UNKNOWN_METHOD_LABEL || !method.startsWith('attacker'))).toBe(true)
    expect(Object.keys(stats.calls)).toEqual(['bank'])
  })

  it('logs refusals: the first of each code at once, then at most one per 10 s with the count suppressed (injected clock)', async () => {
    const { logger, lines } = recordingLogger()
    const clock = new VirtualClock(1_000_000)
    const cluster = uniqueCluster('gwlog')
    const system = ActorSystem.create({ name: cluster, node: 'gw', clock })
    const connection = await connect({ servers: inject('natsUrl') })
    const gateway = await Gateway.start({ connection, system, logger })
    try {
      await gateway.publish('bank', system.spawn(Account, { name: 'account' }), { methods: ['balance'] })
      for (let i = 0; i < 6; i++) await call('bank', json('withdraw', [1]), {}, cluster)
      await call('bank', '{', {}, cluster)
      expect(lines.map((l) => l.fields['code'])).toEqual(['ERR_UNKNOWN_METHOD', 'ERR_MALFORMED'])
      expect(lines[0]?.fields).toMatchObject({ publicName: 'bank', method: UNKNOWN_METHOD_LABEL, suppressed: 0 })
      clock.advance(9_999)
      await call('bank', json('withdraw', [1]), {}, cluster)
      expect(lines).toHaveLength(2)
      clock.advance(1)
      await call('bank', json('withdraw', [1]), {}, cluster)
      expect(lines).toHaveLength(3)
      expect(lines[2]?.fields).toMatchObject({ code: 'ERR_UNKNOWN_METHOD', suppressed: 6 })
    } finally {
      await gateway.close()
      await system.terminate()
      await connection.close()
    }
  })
})

describe('hostile codes and gossip', () => {
  it('an error code holding CR/LF never reaches a header (the node stays up), and codes built from input keep the stats bounded', async () => {
    const msg = await raw.request(`troupe.${fixture.cluster}.call.bank`, json('refuse', ['x\r\nTroupe-Error: OK']), { timeout: 5000 })
    expect(msg.headers?.get('Troupe-Error')).toBe(OTHER_OUTCOME_LABEL)
    expect(msg.json<any>().error.code).toBe('ERR_NOT_FOUND_x\r\nTroupe-Error: OK')
    for (let i = 0; i < MAX_OUTCOME_LABELS + 40; i++) expect((await call('bank', json('refuse', [`K${i}`]))).error.code).toBe(`ERR_NOT_FOUND_K${i}`)
    expect((await call('bank', json('balance', []))).ok).toEqual(expect.any(Number))
    const stats = fixture.gateway.stats
    expect(Object.keys(stats.errors).length).toBeLessThanOrEqual(MAX_OUTCOME_LABELS)
    expect(Object.keys(stats.calls['bank']?.['refuse'] ?? {}).length).toBeLessThanOrEqual(MAX_OUTCOME_LABELS)
    expect(stats.calls['bank']?.['refuse']?.[OTHER_OUTCOME_LABEL]).toBeGreaterThan(0)
  })

  it('name gossip from strangers is checked and bounded', async () => {
    const subject = `troupe.${fixture.cluster}.gw.names`
    raw.publish(subject, JSON.stringify({ v: 1, gateway: 'odd', names: [1, {}, null, 'odd.name'], ttlMs: 1e308 }))
    for (let i = 0; i < 1000; i++) raw.publish(subject, JSON.stringify({ v: 1, gateway: `g${i}`, names: [`n${i}`], ttlMs: 60_000 }))
    await raw.flush()
    await waitFor(() => fixture.gateway.knownNames().length >= 256)
    const known = fixture.gateway.knownNames()
    expect(known.every((name) => typeof name === 'string')).toBe(true)
    expect(known).toContain('odd.name')
    // Its own names plus at most 256 other gateways' (one name each here).
    expect(known.length).toBeLessThanOrEqual(fixture.gateway.names.length + 256)
  })
})
