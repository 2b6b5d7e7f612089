import { Packr } from 'msgpackr'
import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, Envelope, EnvelopeKind, MalformedFrameError, type ActorSystemOptions } from '../../../runtime/index.ts'

class Sink extends Actor<{ put(value: unknown): void }> {
  put(_value: unknown) {}
}

const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})
function newSystem(options: Partial<ActorSystemOptions> = {}): ActorSystem {
  const system = ActorSystem.create({ name: 'frames', node: 'n1', keepAlive: false, ...options })
  systems.push(system)
  return system
}

/** Tables written as the Codec writes them: objects as msgpackr records (a plain msgpack map would decode to a Map). */
const packr = new Packr({ useRecords: true, maxSharedStructures: 0, moreTypes: true })

interface Fixed {
  kind?: number
  flags?: number
  method?: number
  target?: number
  sender?: number
  id?: number
  correlationId?: number
}

/** A one-envelope binary frame with the given fixed block and tables. */
function frame(fixed: Fixed, tables: unknown, preamble: { version?: number; reserved?: number; count?: number } = {}): Uint8Array {
  const tail = packr.pack(tables)
  const bytes = new Uint8Array(8 + 24 + tail.byteLength)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, 0xc1)
  view.setUint8(1, preamble.version ?? 3)
  view.setUint16(2, preamble.reserved ?? 0, true)
  view.setUint32(4, preamble.count ?? 1, true)
  view.setUint8(8, fixed.kind ?? EnvelopeKind.Tell)
  view.setUint8(9, fixed.flags ?? 0)
  view.setUint16(10, fixed.method ?? 0, true)
  view.setUint16(12, fixed.target ?? 0, true)
  view.setUint16(14, fixed.sender ?? 0, true)
  view.setFloat64(16, fixed.id ?? 1, true)
  view.setFloat64(24, fixed.correlationId ?? 0, true)
  bytes.set(tail, 32)
  return bytes
}

function reasonOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedFrameError)
    return (error as { data: { reason: string } }).data.reason
  }
  return 'accepted'
}

const HAS_SENDER = 1
const HAS_HEADERS = 2
const SINGLE_ARG = 4

describe('Codec: semantic validation of decoded frames', () => {
  const setup = () => {
    const system = newSystem()
    const sink = system.spawn(Sink, { name: 'sink' })
    const address = ['frames', 'n1', 0, '/user/sink', sink.address.uid]
    const tables = (overrides: { addresses?: unknown; methods?: unknown; headers?: unknown; args?: unknown } = {}) => [
      overrides.addresses ?? [address],
      overrides.methods ?? ['put'],
      overrides.headers ?? [],
      overrides.args ?? [[1]],
    ]
    const reason = (bytes: Uint8Array) => reasonOf(() => system.codec.decodeBatch(bytes))
    return { system, sink, address, tables, reason }
  }

  it('accepts a well-formed hand-written frame of each kind', () => {
    const { tables, reason } = setup()
    expect(reason(frame({}, tables()))).toBe('accepted')
    expect(reason(frame({ kind: EnvelopeKind.Ask, flags: HAS_SENDER }, tables()))).toBe('accepted')
    expect(reason(frame({ kind: EnvelopeKind.Poison }, tables({ methods: [''], args: [[]] })))).toBe('accepted')
    expect(reason(frame({ kind: EnvelopeKind.ReplyOk, correlationId: 7, flags: SINGLE_ARG }, tables({ args: ['value'] })))).toBe('accepted')
    const error = { code: 'ERR_X', name: 'X', message: 'no' }
    expect(reason(frame({ kind: EnvelopeKind.ReplyError, correlationId: 7, flags: SINGLE_ARG }, tables({ args: [error] })))).toBe('accepted')
    expect(reason(frame({ kind: EnvelopeKind.System, flags: HAS_SENDER }, tables({ methods: ['watch'], args: [[]] })))).toBe('accepted')
    expect(reason(frame({ kind: EnvelopeKind.System, flags: HAS_SENDER }, tables({ methods: ['terminated'], args: [['node-down', null, 'n2']] })))).toBe('accepted')
    expect(reason(frame({ flags: HAS_HEADERS }, tables({ headers: [{ traceparent: '00-a-b-01' }] })))).toBe('accepted')
  })

  it.each<[string, Fixed, Record<string, unknown>, string]>([
    ['NaN id', { id: Number.NaN }, {}, 'id'],
    ['negative id', { id: -1 }, {}, 'id'],
    ['fractional id', { id: 1.5 }, {}, 'id'],
    ['id beyond 2^53', { id: 2 ** 60 }, {}, 'id'],
    ['infinite correlation id', { correlationId: Number.POSITIVE_INFINITY }, {}, 'correlation'],
    ['a tell with a correlation id', { correlationId: 3 }, {}, 'correlation'],
    ['a reply with correlation id 0', { kind: EnvelopeKind.ReplyOk, flags: SINGLE_ARG }, { args: ['v'] }, 'correlation'],
    ['a reply with two values', { kind: EnvelopeKind.ReplyOk, correlationId: 2 }, { args: [[1, 2]] }, 'args'],
    ['a reply-error without an encoded error', { kind: EnvelopeKind.ReplyError, correlationId: 2, flags: SINGLE_ARG }, { args: [{ code: 42 }] }, 'error'],
    ['unknown kind', { kind: 9 }, {}, 'kind'],
    ['a timer envelope', { kind: EnvelopeKind.Timer }, {}, 'kind'],
    ['unknown flags', { flags: 8 }, {}, 'flags'],
    ['method index outside the table', { method: 1 }, {}, 'table-index'],
    ['target index outside the table', { target: 1 }, {}, 'table-index'],
    ['sender index outside the table', { flags: HAS_SENDER, sender: 4 }, {}, 'table-index'],
    ['a sender index without the sender flag', { sender: 1 }, {}, 'sender'],
    ['an ask without a sender', { kind: EnvelopeKind.Ask }, {}, 'sender'],
    ['a system envelope without a sender', { kind: EnvelopeKind.System }, { methods: ['watch'], args: [[]] }, 'sender'],
    ['a system envelope with an unknown method', { kind: EnvelopeKind.System, flags: HAS_SENDER }, { methods: ['deposit'], args: [[]] }, 'method'],
    ['a watch with args', { kind: EnvelopeKind.System, flags: HAS_SENDER }, { methods: ['watch'], args: [[1]] }, 'args'],
    ['a terminated notice with a malformed reason', { kind: EnvelopeKind.System, flags: HAS_SENDER }, { methods: ['terminated'], args: [['failure', null]] }, 'error'],
    ['a terminated notice naming a bad node', { kind: EnvelopeKind.System, flags: HAS_SENDER }, { methods: ['terminated'], args: [['node-down', null, 'a.b']] }, 'args'],
    ['an empty method', {}, { methods: [''] }, 'method'],
    ['a method that is not a string', {}, { methods: [42] }, 'method'],
    ['poison with args', { kind: EnvelopeKind.Poison }, { methods: [''] }, 'args'],
    ['poison with a method', { kind: EnvelopeKind.Poison }, { args: [[]] }, 'method'],
    ['headers flagged but absent', { flags: HAS_HEADERS }, {}, 'headers'],
    ['headers nobody uses', {}, { headers: [{ a: 'b' }] }, 'headers'],
    ['headers that are not a map', { flags: HAS_HEADERS }, { headers: [['a']] }, 'headers'],
    ['a header value that is not a string', { flags: HAS_HEADERS }, { headers: [{ a: 1 }] }, 'headers'],
    ['args that are not an array', {}, { args: ['x'] }, 'args'],
    ['an args list shorter than the count', {}, { args: [] }, 'args'],
    ['an address that is not a 5-tuple', {}, { addresses: [['frames', 'n1']] }, 'address'],
    ['a node name with a dot', {}, { addresses: [['frames', 'a.b', 0, '/user/sink', 1]] }, 'node'],
    ['a node name that is a wildcard', {}, { addresses: [['frames', '*', 0, '/user/sink', 1]] }, 'node'],
    ['an empty system name', {}, { addresses: [['', 'n1', 0, '/user/sink', 1]] }, 'system'],
    ['a system name with whitespace', {}, { addresses: [['a b', 'n1', 0, '/user/sink', 1]] }, 'system'],
    ['a NaN shard', {}, { addresses: [['frames', 'n1', Number.NaN, '/user/sink', 1]] }, 'shard'],
    ['shard 2^40', {}, { addresses: [['frames', 'n1', 2 ** 40, '/user/sink', 1]] }, 'shard'],
    ['a path without a slash', {}, { addresses: [['frames', 'n1', 0, 'user', 1]] }, 'path'],
    ['a path with an empty segment', {}, { addresses: [['frames', 'n1', 0, '/user//x', 1]] }, 'path'],
    ['a negative uid', {}, { addresses: [['frames', 'n1', 0, '/user/sink', -1]] }, 'uid'],
    ['a fractional uid', {}, { addresses: [['frames', 'n1', 0, '/user/sink', 0.5]] }, 'uid'],
    ['tables that are not four arrays', {}, { addresses: 'x' }, 'tables'],
  ])('refuses %s', (_what, fixed, overrides, expected) => {
    const { tables, reason } = setup()
    expect(reason(frame(fixed, tables(overrides)))).toBe(expected)
  })

  it('refuses malformed preambles', () => {
    const { tables, reason } = setup()
    expect(reason(frame({}, tables(), { version: 2 }))).toBe('version')
    expect(reason(frame({}, tables(), { reserved: 1 }))).toBe('reserved')
    expect(reason(frame({}, tables(), { count: 0xffffffff }))).toBe('count')
    expect(reason(new Uint8Array([0xc1, 3, 0]))).toBe('truncated')
    expect(reason(frame({}, tables()).subarray(0, 40))).not.toBe('accepted')
  })

  it('drops the whole frame when one envelope is bad: nothing is returned', () => {
    const { system, sink } = setup()
    const good = new Envelope(EnvelopeKind.Tell, sink, null, 1, 0, null, 'put', [1])
    const bytes = system.codec.encodeBatch([good, good, good])
    // Corrupt the third envelope's id (offset 8 + 2·24 + 8) to NaN.
    new DataView(bytes.buffer, bytes.byteOffset).setFloat64(8 + 48 + 8, Number.NaN, true)
    expect(reasonOf(() => system.codec.decodeBatch(bytes))).toBe('id')
  })

  it('legacy tuple frames get the same checks', () => {
    const { system, address } = setup()
    const legacy = (tuple: unknown[]) => reasonOf(() => system.codec.decodeBatch(new Packr({ useRecords: false }).pack([tuple])))
    expect(legacy([EnvelopeKind.Tell, address, null, 1, 0, null, 'put', [1]])).toBe('accepted')
    expect(legacy([EnvelopeKind.Ask, address, null, 1, 0, null, 'put', [1]])).toBe('sender')
    expect(legacy([EnvelopeKind.Tell, address, null, -1, 0, null, 'put', [1]])).toBe('id')
    expect(legacy([EnvelopeKind.Tell, ['s', 'a.b', 0, '/x', 1], null, 1, 0, null, 'put', [1]])).toBe('node')
    expect(legacy([EnvelopeKind.Tell, address, null, 1, 0, { a: 1 }, 'put', [1]])).toBe('headers')
    expect(legacy([1.5, address, null, 1, 0, null, 'put', [1]])).toBe('kind')
  })

  it('a sharded node refuses addresses naming one of its shards it does not run', () => {
    const system = newSystem({ shardCount: 3 })
    const reason = (shard: number, node: string) =>
      reasonOf(() => system.codec.decodeBatch(frame({}, [[['frames', node, shard, '/user/x', 1]], ['put'], [], [[1]]])))
    expect(reason(2, 'n1')).toBe('accepted')
    expect(reason(3, 'n1')).toBe('shard')
    // Other nodes may run more shards: only the documented bound applies there.
    expect(reason(3, 'n2')).toBe('accepted')
    expect(reason(1024, 'n2')).toBe('shard')
  })
})
