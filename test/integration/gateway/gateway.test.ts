import { connect, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node'
import { Packr } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { GatewayErrorCodes } from '../../../cluster/index.ts'
import {
  CallErrorCodes,
  DeadlineExceededError,
  InvalidArgsError,
  refText,
  TroupeCallError,
  TroupeClient,
  UnknownActorError,
  UnknownMethodError,
} from '../../../client/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { startGateway, type AccountProtocol, type GatewayFixture } from './fixtures.ts'

const packr = new Packr({ useRecords: false, mapsAsObjects: true })

let fixture: GatewayFixture
let raw: NatsConnection
let jsonClient: TroupeClient
let msgpackClient: TroupeClient

beforeAll(async () => {
  fixture = await startGateway(inject('natsUrl'))
  raw = await connect({ servers: inject('natsUrl') })
  jsonClient = await TroupeClient.connect({ servers: inject('natsUrl'), cluster: fixture.cluster })
  msgpackClient = await TroupeClient.connect({ servers: inject('natsUrl'), cluster: fixture.cluster, encoding: 'msgpack' })
})

afterAll(async () => {
  await jsonClient?.close()
  await msgpackClient?.close()
  await raw?.close()
  await fixture?.stop()
})

/** A raw request: bytes and headers exactly as given, reply decoded by its content type. */
async function rawCall(name: string, body: Uint8Array | string, hdrs: Record<string, string> = {}): Promise<{ reply: any; headers: Record<string, string> }> {
  const h = natsHeaders()
  for (const [k, v] of Object.entries(hdrs)) h.set(k, v)
  const msg: Msg = await raw.request(`troupe.${fixture.cluster}.call.${name}`, body, { timeout: 5000, headers: h })
  const type = msg.headers?.get('Content-Type') ?? ''
  const reply: unknown = type === 'application/msgpack' ? packr.unpack(msg.data) : msg.json()
  const headers: Record<string, string> = {}
  for (const key of msg.headers?.keys() ?? []) headers[key] = msg.headers?.get(key) ?? ''
  return { reply, headers }
}

const json = (value: unknown): string => JSON.stringify(value)

describe('Gateway: typed TS client', () => {
  it('asks and tells a published actor with JSON and with msgpack', async () => {
    for (const client of [jsonClient, msgpackClient]) {
      const bank = client.actor<AccountProtocol>('bank')
      const before = await bank.ask('balance')
      expect(await bank.ask('deposit', 10)).toBe(before + 10)
      bank.tell('deposit', 5)
      expect(await bank.ask('describe', { name: 'ada', tags: ['x', 'y'] })).toMatchObject({ name: 'ada', tags: ['x', 'y'] })
      // Tells are fire-and-forget; a later ask on the same connection is ordered after it.
      expect(await bank.ask('balance')).toBe(before + 15)
      expect(await bank.ask('nothing')).toBeNull()
    }
  })

  it('rebuilds typed errors from their codes', async () => {
    for (const client of [jsonClient, msgpackClient]) {
      const bank = client.actor<AccountProtocol>('bank')
      await expect(client.actor<AccountProtocol>('nobody').ask('balance')).rejects.toBeInstanceOf(UnknownActorError)
      await expect(client.actor<AccountProtocol>('secret').ask('balance')).rejects.toBeInstanceOf(UnknownActorError)
      await expect(bank.ask('deposit', -3)).rejects.toThrow(InvalidArgsError)
      await expect(bank.ask('deposit', -3)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGS',
        data: { method: 'deposit', issues: [{ message: 'amount must be positive', path: [0] }] },
      })
      await expect((bank as any).ask('withdraw', 1)).rejects.toBeInstanceOf(UnknownMethodError)
      await expect(bank.askWith({ timeoutMs: 100 }, 'slow', 300)).rejects.toBeInstanceOf(DeadlineExceededError)
      const failure = await bank.ask('fail').catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(TroupeCallError)
      expect(failure).toMatchObject({ code: 'ERR_HANDLER_FAILED', message: 'account exploded' })
    }
    // A bigint has no JSON form: the reply says so instead of going silent. msgpack carries it.
    await expect(jsonClient.actor<AccountProtocol>('bank').ask('huge')).rejects.toMatchObject({ code: 'ERR_NOT_SERIALIZABLE' })
    expect(await msgpackClient.actor<AccountProtocol>('bank').ask('huge')).toBe(2n ** 60n)
  })

  it('an ActorRef in a reply is its address, the same in msgpack (ext 42) and JSON', async () => {
    const fromMsgpack = await msgpackClient.actor<AccountProtocol>('bank').ask('whoami')
    const fromJson = await jsonClient.actor<AccountProtocol>('bank').ask('whoami')
    expect(fromMsgpack).toEqual({ system: fixture.cluster, node: 'gw', shard: 0, path: '/user/account', uid: expect.any(Number) })
    expect(fromJson).toEqual(fromMsgpack)
    expect(refText(fromMsgpack)).toMatch(new RegExp(`^troupe://${fixture.cluster}@gw:0/user/account#\\d+$`))
    // The raw bytes: one ext 42 value whose data is the msgpack address tuple.
    const h = natsHeaders()
    h.set('Content-Type', 'application/msgpack')
    const msg = await raw.request(`troupe.${fixture.cluster}.call.bank`, packr.pack({ method: 'whoami', args: [] }), { timeout: 5000, headers: h })
    const bytes = msg.data
    const at = bytes.findIndex((b, i) => b === 0xc7 && bytes[i + 2] === 0x2a && bytes[i + 3] === 0x95)
    expect(at).toBeGreaterThan(0)
    expect(packr.unpack(bytes.subarray(at + 3, at + 3 + (bytes[at + 1] as number)))).toEqual([fixture.cluster, 'gw', 0, '/user/account', fromJson.uid])
  })

  it('the client speaks the same codes as the gateway', () => {
    for (const code of Object.values(CallErrorCodes)) expect(Object.values(GatewayErrorCodes)).toContain(code)
    expect(Object.values(GatewayErrorCodes).sort()).toEqual(Object.values(CallErrorCodes).sort())
  })
})

describe('Gateway: every bad input gets an error reply', () => {
  const cases: [string, string, Uint8Array | string, Record<string, string>, string][] = [
    ['malformed JSON', 'bank', '{"method": "balance", ', {}, 'ERR_MALFORMED'],
    ['invalid UTF-8 in JSON', 'bank', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), {}, 'ERR_MALFORMED'],
    ['malformed msgpack', 'bank', new Uint8Array([0x82, 0xa6, 0x6d, 0x65]), { 'Content-Type': 'application/msgpack' }, 'ERR_MALFORMED'],
    ['not an object', 'bank', json([1, 2]), {}, 'ERR_BAD_REQUEST'],
    ['no method', 'bank', json({ args: [] }), {}, 'ERR_BAD_REQUEST'],
    ['args not an array', 'bank', json({ method: 'deposit', args: 5 }), {}, 'ERR_BAD_REQUEST'],
    ['wrong argument shape', 'bank', json({ method: 'deposit', args: ['ten'] }), {}, 'ERR_INVALID_ARGS'],
    ['unknown method', 'bank', json({ method: 'withdraw', args: [1] }), {}, 'ERR_UNKNOWN_METHOD'],
    ['a lifecycle hook', 'bank', json({ method: 'postStop', args: [] }), {}, 'ERR_UNKNOWN_METHOD'],
    ['expired deadline', 'bank', json({ method: 'balance', args: [] }), { 'Troupe-Timeout': '0' }, 'ERR_DEADLINE_EXCEEDED'],
    ['deadline passing in the actor', 'bank', json({ method: 'slow', args: [300] }), { 'Troupe-Timeout': '50' }, 'ERR_DEADLINE_EXCEEDED'],
    ['non-numeric deadline', 'bank', json({ method: 'balance', args: [] }), { 'Troupe-Timeout': 'soon' }, 'ERR_BAD_REQUEST'],
    ['a private method', 'bank', json({ method: 'compensate', args: [] }), {}, 'ERR_UNKNOWN_METHOD'],
    ['an inherited function', 'bank', json({ method: 'toString', args: [] }), {}, 'ERR_UNKNOWN_METHOD'],
    ['transfer [null] to a method with a schema', 'bank', json({ method: 'describe', args: [null] }), {}, 'ERR_INVALID_ARGS'],
    ['unsupported content type', 'bank', json({ method: 'balance', args: [] }), { 'Content-Type': 'text/xml' }, 'ERR_BAD_REQUEST'],
    ['oversized payload', 'bank', json({ method: 'deposit', args: ['x'.repeat(300 * 1024)] }), {}, 'ERR_PAYLOAD_TOO_LARGE'],
  ]
  for (const [what, name, body, hdrs, code] of cases) {
    it(`${what} → ${code}`, async () => {
      const { reply, headers } = await rawCall(name, body, hdrs)
      expect(reply).toMatchObject({ error: { code } })
      expect(typeof reply.error.message).toBe('string')
      expect(headers['Troupe-Error']).toBe(code)
    })
  }

  for (const [what, name] of [
    ['unknown actor', 'nobody.here'],
    ['unpublished actor', 'secret'],
  ] as const) {
    it(`${what} → the server's no-responders status (the protocol's ERR_UNKNOWN_ACTOR), at once`, async () => {
      const error = await rawCall(name, json({ method: 'balance', args: [] })).catch((e: unknown) => e)
      expect((error as { isNoResponders?: () => boolean }).isNoResponders?.()).toBe(true)
    })
  }

  it('replies in the encoding of the request', async () => {
    const { reply, headers } = await rawCall('bank', packr.pack({ method: 'balance', args: [] }), { 'Content-Type': 'application/msgpack' })
    expect(headers['Content-Type']).toBe('application/msgpack')
    expect(typeof reply.ok).toBe('number')
    const missingArgs = await rawCall('bank', json({ method: 'balance' }))
    expect(typeof missingArgs.reply.ok).toBe('number')
  })

  it('a call without a reply subject is a tell; refused ones are counted, never lost silently', async () => {
    const stats = fixture.gateway.stats
    const before = { noReply: stats.noReply, refused: stats.refusedWithoutReply }
    const balance = (await rawCall('bank', json({ method: 'balance', args: [] }))).reply.ok as number
    raw.publish(`troupe.${fixture.cluster}.call.bank`, json({ method: 'deposit', args: [7] }))
    raw.publish(`troupe.${fixture.cluster}.call.bank`, '{oops')
    await raw.flush()
    await waitFor(() => stats.noReply === before.noReply + 2)
    expect(stats.refusedWithoutReply).toBe(before.refused + 1)
    expect((await rawCall('bank', json({ method: 'balance', args: [] }))).reply.ok).toBe(balance + 7)
  })

  it('an actor that stops is unpublished: calls get no-responders (ERR_UNKNOWN_ACTOR)', async () => {
    const { Account } = await import('./fixtures.ts')
    const temp = fixture.system.spawn(Account, { name: 'temp' })
    await fixture.gateway.publish('temp', temp, { methods: ['balance'] })
    expect((await rawCall('temp', json({ method: 'balance', args: [] }))).reply).toEqual({ ok: 0 })
    await fixture.system.stop(temp)
    await waitFor(() => !fixture.gateway.names.includes('temp'))
    // The unsubscribe reaches the server a moment after the name is dropped locally: a call in that
    // window waits for a reply that will not come, so probe with short deadlines until the server
    // answers no-responders.
    const deadline = Date.now() + 10_000
    let noResponders = false
    while (!noResponders && Date.now() < deadline) {
      const error = await raw.request(`troupe.${fixture.cluster}.call.temp`, json({ method: 'balance', args: [] }), { timeout: 250 }).catch((e: unknown) => e)
      noResponders = (error as { isNoResponders?: () => boolean }).isNoResponders?.() === true
    }
    expect(noResponders).toBe(true)
  })
})
