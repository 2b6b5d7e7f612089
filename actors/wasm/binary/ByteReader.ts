import { WasmInvalidError } from '../errors.ts'

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A bounds-checked cursor over module bytes. Every read proves it fits in what remains first, so a
 * hostile length never makes us allocate or read past the end (GUIDE 20); LEB128s are capped at their
 * type's width, so decoding stays linear in the input.
 */
export class ByteReader {
  readonly bytes: Uint8Array
  pos: number
  readonly end: number

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes
    this.pos = start
    this.end = end
  }

  get done(): boolean {
    return this.pos >= this.end
  }

  fail(reason: string): never {
    throw new WasmInvalidError(`malformed module at byte ${this.pos}: ${reason}`, { data: { reason, offset: this.pos } })
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end')
    return this.bytes[this.pos++] as number
  }

  peek(): number {
    if (this.pos >= this.end) this.fail('unexpected end')
    return this.bytes[this.pos] as number
  }

  /** Unsigned LEB128, at most 5 bytes (32 bits). */
  u32(): number {
    let result = 0
    let shift = 0
    for (let i = 0; i < 5; i++) {
      const byte = this.u8()
      if (i === 4 && byte > 0x0f) this.fail('u32 out of range')
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
      shift += 7
    }
    return this.fail('u32 too long')
  }

  /** Skips a signed LEB128 of at most `bits` bits (33 for block types, 32, 64). */
  skipSigned(bits: number): void {
    const max = Math.ceil(bits / 7)
    for (let i = 0; i < max; i++) {
      if ((this.u8() & 0x80) === 0) return
    }
    this.fail(`s${bits} too long`)
  }

  skip(count: number): void {
    if (count > this.end - this.pos) this.fail(`length ${count} exceeds the ${this.end - this.pos} bytes left`)
    this.pos += count
  }

  /** A length-prefixed byte range (checked against what remains) as [start, end). */
  span(): [number, number] {
    const length = this.u32()
    const start = this.pos
    this.skip(length)
    return [start, start + length]
  }

  name(): string {
    const [start, end] = this.span()
    try {
      return UTF8.decode(this.bytes.subarray(start, end))
    } catch {
      this.pos = start
      return this.fail('name is not valid UTF-8')
    }
  }
}
