import { addExtension } from 'msgpackr'
import type { ActorAddress } from './ActorAddress.ts'
import { ActorRef } from './ActorRef.ts'
import { checkAddress, malformed, type ShardBounds } from './FrameValidation.ts'

/**
 * An ActorRef inside a msgpack payload is ONE ext value of type 42 whose data is the plain msgpack
 * encoding of its address tuple `[system, node, shard, path, uid]`, so any msgpack library can
 * skip it or decode it (docs/protocol.md shows the bytes). The tuple is written and read here by
 * hand: it is small, and its bytes are untrusted, so the reader checks every length against what
 * remains and accepts exactly one tuple.
 */
export const ACTOR_REF_EXTENSION = 0x2a

/** Who rebuilds refs while a codec decodes (msgpackr's extensions are process-global). */
export interface RefDecodeContext {
  readonly resolve: (address: ActorAddress) => ActorRef<any>
  readonly bounds: ShardBounds | null
}

let active: RefDecodeContext | null = null

/** Installs the context for one decode; returns the previous one, to restore afterwards. */
export function swapRefContext(context: RefDecodeContext | null): RefDecodeContext | null {
  const previous = active
  active = context
  return previous
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/** Bytes of the ext data: msgpack `[system, node, shard, path, uid]`, shortest forms. */
export function encodeAddressTuple(address: ActorAddress): Uint8Array {
  const system = utf8Encoder.encode(address.system)
  const node = utf8Encoder.encode(address.node)
  const path = utf8Encoder.encode(address.path)
  const out = new Uint8Array(1 + 3 * 5 + system.length + node.length + path.length + 2 * 9)
  let at = 0
  out[at++] = 0x95
  at = writeStr(out, at, system)
  at = writeStr(out, at, node)
  at = writeUint(out, at, address.shard)
  at = writeStr(out, at, path)
  at = writeUint(out, at, address.uid)
  return out.subarray(0, at)
}

function writeStr(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const n = bytes.length
  if (n < 32) out[at++] = 0xa0 | n
  else if (n < 0x100) {
    out[at++] = 0xd9
    out[at++] = n
  } else if (n < 0x10000) {
    out[at++] = 0xda
    out[at++] = n >> 8
    out[at++] = n & 0xff
  } else {
    out[at++] = 0xdb
    new DataView(out.buffer, out.byteOffset).setUint32(at, n)
    at += 4
  }
  out.set(bytes, at)
  return at + n
}

function writeUint(out: Uint8Array, at: number, value: number): number {
  if (value < 0x80) out[at++] = value
  else if (value < 0x100) {
    out[at++] = 0xcc
    out[at++] = value
  } else if (value < 0x10000) {
    out[at++] = 0xcd
    out[at++] = value >> 8
    out[at++] = value & 0xff
  } else if (value < 0x100000000) {
    out[at++] = 0xce
    new DataView(out.buffer, out.byteOffset).setUint32(at, value)
    at += 4
  } else {
    out[at++] = 0xcf
    const view = new DataView(out.buffer, out.byteOffset)
    view.setUint32(at, Math.floor(value / 0x100000000))
    view.setUint32(at + 4, value >>> 0)
    at += 8
  }
  return at
}

/** Reads exactly one address tuple from `data`; anything else is ERR_MALFORMED_FRAME (reason `address` or a field's). */
export function decodeAddressTuple(data: Uint8Array, bounds: ShardBounds | null): ActorAddress {
  const reader = new TupleReader(data)
  if (data.length === 0 || data[0] !== 0x95) throw malformed('address', 'an ActorRef must hold a 5-tuple address')
  reader.at = 1
  const system = reader.str()
  const node = reader.str()
  const shard = reader.uint()
  const path = reader.str()
  const uid = reader.uint()
  if (reader.at !== data.length) throw malformed('address', 'an ActorRef holds bytes after its address')
  return checkAddress(system, node, shard, path, uid, bounds)
}

class TupleReader {
  at = 0
  private readonly data: Uint8Array
  private readonly view: DataView
  constructor(data: Uint8Array) {
    this.data = data
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  }

  private need(bytes: number): void {
    if (this.at + bytes > this.data.length) throw malformed('address', 'an ActorRef address is truncated')
  }

  str(): string {
    this.need(1)
    const token = this.data[this.at++] as number
    let n: number
    if ((token & 0xe0) === 0xa0) n = token & 0x1f
    else if (token === 0xd9) {
      this.need(1)
      n = this.data[this.at++] as number
    } else if (token === 0xda) {
      this.need(2)
      n = this.view.getUint16(this.at)
      this.at += 2
    } else if (token === 0xdb) {
      this.need(4)
      n = this.view.getUint32(this.at)
      this.at += 4
    } else throw malformed('address', 'an ActorRef address field must be a string')
    this.need(n)
    let text: string
    try {
      text = utf8Decoder.decode(this.data.subarray(this.at, this.at + n))
    } catch (error) {
      throw malformed('address', 'an ActorRef address field is not UTF-8', error)
    }
    this.at += n
    return text
  }

  /** Any msgpack integer form (other languages pick their own); the caller checks it is non-negative and exact. */
  uint(): number {
    this.need(1)
    const token = this.data[this.at++] as number
    let value: number
    if (token < 0x80) return token
    // A negative value is a well-formed integer with a wrong value: the field check names it.
    if (token >= 0xe0) return token - 0x100
    switch (token) {
      case 0xcc:
      case 0xd0:
        this.need(1)
        value = token === 0xcc ? this.view.getUint8(this.at) : this.view.getInt8(this.at)
        this.at += 1
        break
      case 0xcd:
      case 0xd1:
        this.need(2)
        value = token === 0xcd ? this.view.getUint16(this.at) : this.view.getInt16(this.at)
        this.at += 2
        break
      case 0xce:
      case 0xd2:
        this.need(4)
        value = token === 0xce ? this.view.getUint32(this.at) : this.view.getInt32(this.at)
        this.at += 4
        break
      case 0xcf:
      case 0xd3: {
        this.need(8)
        const high = token === 0xcf ? this.view.getUint32(this.at) : this.view.getInt32(this.at)
        value = high * 0x100000000 + this.view.getUint32(this.at + 4)
        // Past 2^53 the sum is inexact: refuse rather than round to another actor's uid.
        if (Math.abs(high) >= 0x200000) value = -1
        this.at += 8
        break
      }
      default:
        throw malformed('address', 'an ActorRef address field must be an integer')
    }
    return value
  }
}

addExtension({
  Class: ActorRef,
  type: ACTOR_REF_EXTENSION,
  pack(ref: ActorRef<any>) {
    return encodeAddressTuple(ref.address)
  },
  unpack(data: Uint8Array) {
    const context = active
    if (context === null) throw malformed('resolver', 'an ActorRef can only be decoded by a system codec')
    return context.resolve(decodeAddressTuple(data, context.bounds))
  },
})
