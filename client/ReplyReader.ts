/**
 * Reads msgpack replies into plain values. The client does not hand replies to msgpackr because
 * msgpackr's extensions are process-global: in a process that also runs Troupe's runtime, type 42
 * belongs to the runtime's codec (it rebuilds live ActorRefs), and a second registration would take
 * it away. Reading here also keeps the client bounded: every declared length is checked against
 * the bytes that remain before anything is allocated, and nesting is capped.
 */

/**
 * An ActorRef as an external client sees it: its address, plain data (the same object in a JSON
 * reply, where an ActorRef is written as `{system, node, shard, path, uid}`). `refText` gives its
 * text form.
 */
export interface RemoteRef {
  readonly system: string
  readonly node: string
  readonly shard: number
  readonly path: string
  readonly uid: number
}

/** `troupe://system@node:shard/path#uid`, the form the runtime's `ActorRef.toString()` prints. */
export function refText(ref: RemoteRef): string {
  return `troupe://${ref.system}@${ref.node}:${ref.shard}${ref.path}#${ref.uid}`
}

/** An ext value the client does not interpret (neither an ActorRef nor a timestamp). */
export interface MsgpackExtension {
  readonly extensionType: number
  readonly data: Uint8Array
}

export const ACTOR_REF_EXTENSION = 42
const TIMESTAMP_EXTENSION = -1
const MAX_DEPTH = 256

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Decodes exactly one msgpack value; throws a plain Error (the caller maps it to ERR_MALFORMED). */
export function readMsgpack(bytes: Uint8Array): unknown {
  const reader = new Reader(bytes)
  const value = reader.value(0)
  if (reader.at !== bytes.length) throw new Error(`${bytes.length - reader.at} bytes after the value`)
  return value
}

class Reader {
  at = 0
  private readonly bytes: Uint8Array
  private readonly view: DataView

  constructor(bytes: Uint8Array) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /** Throws unless `n` more bytes are there: checked before anything of that size is made. */
  private need(n: number): void {
    if (n > this.bytes.length - this.at) throw new Error(`truncated: ${n} bytes declared, ${this.bytes.length - this.at} left`)
  }

  private u8(): number {
    this.need(1)
    return this.bytes[this.at++] as number
  }

  private uint(size: 1 | 2 | 4): number {
    this.need(size)
    const value = size === 1 ? this.view.getUint8(this.at) : size === 2 ? this.view.getUint16(this.at) : this.view.getUint32(this.at)
    this.at += size
    return value
  }

  value(depth: number): unknown {
    const token = this.u8()
    if (token < 0x80) return token
    if (token >= 0xe0) return token - 0x100
    if (token >= 0xa0 && token < 0xc0) return this.str(token & 0x1f)
    if (token >= 0x90 && token < 0xa0) return this.array(token & 0x0f, depth)
    if (token >= 0x80 && token < 0x90) return this.map(token & 0x0f, depth)
    switch (token) {
      case 0xc0:
        return null
      case 0xc2:
        return false
      case 0xc3:
        return true
      case 0xc4:
        return this.bin(this.uint(1))
      case 0xc5:
        return this.bin(this.uint(2))
      case 0xc6:
        return this.bin(this.uint(4))
      case 0xc7:
        return this.ext(this.uint(1))
      case 0xc8:
        return this.ext(this.uint(2))
      case 0xc9:
        return this.ext(this.uint(4))
      case 0xca:
        return this.fixed(4, () => this.view.getFloat32(this.at))
      case 0xcb:
        return this.fixed(8, () => this.view.getFloat64(this.at))
      case 0xcc:
        return this.uint(1)
      case 0xcd:
        return this.uint(2)
      case 0xce:
        return this.uint(4)
      case 0xcf:
        return this.fixed(8, () => exact(this.view.getBigUint64(this.at)))
      case 0xd0:
        return this.fixed(1, () => this.view.getInt8(this.at))
      case 0xd1:
        return this.fixed(2, () => this.view.getInt16(this.at))
      case 0xd2:
        return this.fixed(4, () => this.view.getInt32(this.at))
      case 0xd3:
        return this.fixed(8, () => exact(this.view.getBigInt64(this.at)))
      case 0xd4:
        return this.ext(1)
      case 0xd5:
        return this.ext(2)
      case 0xd6:
        return this.ext(4)
      case 0xd7:
        return this.ext(8)
      case 0xd8:
        return this.ext(16)
      case 0xd9:
        return this.str(this.uint(1))
      case 0xda:
        return this.str(this.uint(2))
      case 0xdb:
        return this.str(this.uint(4))
      case 0xdc:
        return this.array(this.uint(2), depth)
      case 0xdd:
        return this.array(this.uint(4), depth)
      case 0xde:
        return this.map(this.uint(2), depth)
      case 0xdf:
        return this.map(this.uint(4), depth)
      default:
        throw new Error(`byte 0x${token.toString(16)} is not msgpack`)
    }
  }

  private fixed<T>(size: number, read: () => T): T {
    this.need(size)
    const value = read()
    this.at += size
    return value
  }

  private str(n: number): string {
    this.need(n)
    const text = utf8.decode(this.bytes.subarray(this.at, this.at + n))
    this.at += n
    return text
  }

  private bin(n: number): Uint8Array {
    this.need(n)
    // A copy, as a plain Uint8Array even when the input is a Buffer.
    const data = new Uint8Array(this.bytes.subarray(this.at, this.at + n))
    this.at += n
    return data
  }

  private array(n: number, depth: number): unknown[] {
    // Each element takes at least one byte: a count beyond the bytes left is a lie.
    this.need(n)
    if (depth >= MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH}`)
    const out: unknown[] = []
    for (let i = 0; i < n; i++) out.push(this.value(depth + 1))
    return out
  }

  private map(n: number, depth: number): Record<string, unknown> {
    this.need(2 * n)
    if (depth >= MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH}`)
    const out: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1)
      if (typeof key === 'object' && key !== null) throw new Error('a map key must be a string or a number')
      const value = this.value(depth + 1)
      // A plain own property even for '__proto__': the reply never reaches a prototype.
      Object.defineProperty(out, String(key), { value, enumerable: true, writable: true, configurable: true })
    }
    return out
  }

  private ext(n: number): unknown {
    this.need(1 + n)
    const type = this.view.getInt8(this.at)
    this.at += 1
    const data = this.bytes.subarray(this.at, this.at + n)
    this.at += n
    if (type === ACTOR_REF_EXTENSION) return readRef(data)
    if (type === TIMESTAMP_EXTENSION) return readTimestamp(data)
    return { extensionType: type, data: new Uint8Array(data) } satisfies MsgpackExtension
  }
}

/** A 64-bit integer: a number when exact, else a BigInt. */
function exact(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
}

/** Ext 42's data is the msgpack tuple `[system, node, shard, path, uid]` (docs/protocol.md). */
function readRef(data: Uint8Array): RemoteRef {
  const reader = new Reader(data)
  const tuple = reader.value(MAX_DEPTH - 1)
  if (reader.at !== data.length || !Array.isArray(tuple) || tuple.length !== 5) throw new Error('an ActorRef (ext 42) must hold exactly one 5-tuple')
  const [system, node, shard, path, uid] = tuple as unknown[]
  if (typeof system !== 'string' || typeof node !== 'string' || typeof path !== 'string' || !isIndex(shard) || !isIndex(uid)) {
    throw new Error('an ActorRef (ext 42) must hold [system, node, shard, path, uid]')
  }
  return { system, node, shard, path, uid }
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** The msgpack timestamp extension (-1) in its three sizes. */
function readTimestamp(data: Uint8Array): Date {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  if (data.length === 4) return new Date(view.getUint32(0) * 1000)
  if (data.length === 8) {
    const high = view.getUint32(0)
    const nanos = high >>> 2
    const seconds = (high & 0x3) * 0x100000000 + view.getUint32(4)
    return new Date(seconds * 1000 + nanos / 1e6)
  }
  if (data.length === 12) return new Date(Number(view.getBigInt64(4)) * 1000 + view.getUint32(0) / 1e6)
  throw new Error(`a timestamp extension has 4, 8 or 12 bytes, not ${data.length}`)
}
