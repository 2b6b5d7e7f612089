/** A growable byte buffer for re-encoding a module (LEB128 and raw bytes). */
export class ByteWriter {
  private buffer: Uint8Array
  length = 0

  constructor(capacity = 1024) {
    this.buffer = new Uint8Array(Math.max(16, capacity))
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < this.length + extra) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buffer.subarray(0, this.length))
    this.buffer = next
  }

  u8(byte: number): void {
    if (this.length === this.buffer.length) this.reserve(1)
    this.buffer[this.length++] = byte
  }

  u32(value: number): void {
    this.reserve(5)
    let v = value >>> 0
    do {
      let byte = v & 0x7f
      v >>>= 7
      if (v !== 0) byte |= 0x80
      this.buffer[this.length++] = byte
    } while (v !== 0)
  }

  /** Signed LEB128 of a non-negative 31-bit value (fuel costs), without BigInt. */
  s32(value: number): void {
    this.reserve(5)
    let v = value | 0
    for (;;) {
      const byte = v & 0x7f
      v >>= 7
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)
      this.buffer[this.length++] = done ? byte : byte | 0x80
      if (done) return
    }
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length)
    this.buffer.set(data, this.length)
    this.length += data.length
  }

  name(text: string): void {
    const encoded = new TextEncoder().encode(text)
    this.u32(encoded.length)
    this.bytes(encoded)
  }

  /** Appends another writer's content preceded by its length (a section or a function body). */
  sized(inner: ByteWriter): void {
    this.u32(inner.length)
    this.bytes(inner.toBytes())
  }

  toBytes(): Uint8Array {
    return this.buffer.slice(0, this.length)
  }
}
