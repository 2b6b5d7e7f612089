import { RaftMalformedMessageError } from './errors.ts'

/* Little-endian binary writing and hostile-input reading for the Raft codec. */

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

export class ByteWriter {
  private buf: Uint8Array
  private view: DataView
  length = 0

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity)
    this.view = new DataView(this.buf.buffer)
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n))
    grown.set(this.buf.subarray(0, this.length))
    this.buf = grown
    this.view = new DataView(grown.buffer)
  }

  u8(v: number): void {
    this.room(1)
    this.buf[this.length++] = v
  }

  u32(v: number): void {
    this.room(4)
    this.view.setUint32(this.length, v, true)
    this.length += 4
  }

  /** A non-negative safe integer (terms and indexes), as a float64 so the full range survives. */
  uint(v: number): void {
    this.room(8)
    this.view.setFloat64(this.length, v, true)
    this.length += 8
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length)
    this.room(b.length)
    this.buf.set(b, this.length)
    this.length += b.length
  }

  str(s: string): void {
    this.bytes(textEncoder.encode(s))
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}

/** Reads with every length checked against what remains, before allocating (guide §20). */
export class ByteReader {
  private readonly buf: Uint8Array
  private readonly view: DataView
  pos = 0

  constructor(buf: Uint8Array) {
    this.buf = buf
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  get remaining(): number {
    return this.buf.length - this.pos
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) throw new RaftMalformedMessageError(`truncated message: ${what} needs ${n} bytes, ${this.remaining} left`)
  }

  u8(what: string): number {
    this.need(1, what)
    return this.buf[this.pos++] as number
  }

  u32(what: string): number {
    this.need(4, what)
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  uint(what: string): number {
    this.need(8, what)
    const v = this.view.getFloat64(this.pos, true)
    this.pos += 8
    if (!Number.isSafeInteger(v) || v < 0) throw new RaftMalformedMessageError(`${what} must be a non-negative safe integer, got ${v}`)
    return v
  }

  bool(what: string): boolean {
    const v = this.u8(what)
    if (v > 1) throw new RaftMalformedMessageError(`${what} must be 0 or 1, got ${v}`)
    return v === 1
  }

  bytes(what: string, max: number): Uint8Array {
    const n = this.u32(`${what} length`)
    if (n > max) throw new RaftMalformedMessageError(`${what} is ${n} bytes, more than the ${max} allowed`)
    this.need(n, what)
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  str(what: string, max: number): string {
    const raw = this.bytes(what, max)
    try {
      return textDecoder.decode(raw)
    } catch (cause) {
      throw new RaftMalformedMessageError(`${what} is not valid UTF-8`, { cause })
    }
  }

  end(): void {
    if (this.remaining !== 0) throw new RaftMalformedMessageError(`${this.remaining} trailing bytes after the message`)
  }
}
