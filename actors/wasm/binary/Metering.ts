import { WasmUnsupportedError } from '../errors.ts'
import { ByteReader } from './ByteReader.ts'
import { ByteWriter } from './ByteWriter.ts'
import { readInstruction, UnsupportedInstruction } from './Instructions.ts'

/**
 * The fuel charge placed at the start of a metered segment, `cost` > 0:
 *   global.get $fuel; i64.const cost; i64.sub; global.set $fuel
 *   global.get $fuel; i64.const 0; i64.lt_s; if; unreachable; end
 * Stack-neutral, so it is valid wherever a segment starts, with any values beneath. The trap fires
 * exactly when the counter goes negative, so after a trap `fuel < 0` tells a fuel trap from the
 * guest's own `unreachable` (which leaves the counter at or above zero).
 */
function writeCharge(out: ByteWriter, fuelGlobal: number, cost: number): void {
  out.u8(0x23)
  out.u32(fuelGlobal)
  out.u8(0x42)
  out.s32(cost)
  out.u8(0x7d)
  out.u8(0x24)
  out.u32(fuelGlobal)
  out.u8(0x23)
  out.u32(fuelGlobal)
  out.bytes(CHECK)
}

/** i64.const 0; i64.lt_s; if (empty); unreachable; end */
const CHECK = Uint8Array.of(0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b)

/**
 * Meters one function body. A segment runs from a block boundary (function entry, just inside
 * `block`/`loop`/`if`/`else`, after `end`, a branch, `return` or `unreachable`) to the next one;
 * its cost is its instruction count, charged up front. Because a `loop`'s body starts a segment,
 * every back-edge pays again: an infinite loop always runs out. Costs depend only on the code, so
 * the same call with the same fuel stops at the same instruction.
 */
function meterBody(bytes: Uint8Array, start: number, end: number, fuelGlobal: number, out: ByteWriter): void {
  const r = new ByteReader(bytes, start, end)
  const groups = r.u32()
  for (let i = 0; i < groups; i++) {
    r.u32()
    const type = r.u8()
    if (type === 0x63 || type === 0x64) throw new UnsupportedInstruction('typed function references (ref locals)')
  }
  out.bytes(bytes.subarray(start, r.pos))
  let segmentStart = r.pos
  let cost = 0
  while (!r.done) {
    const boundary = readInstruction(r)
    cost++
    if (boundary) {
      writeCharge(out, fuelGlobal, cost)
      out.bytes(bytes.subarray(segmentStart, r.pos))
      segmentStart = r.pos
      cost = 0
    }
  }
  // A well-formed body ends with `end`, a boundary, so nothing is left over.
  if (cost !== 0) r.fail('function body does not end with `end`')
}

/** Rewrites the code section, metering every body (`fuelGlobal` null: copy bodies unchanged, for baselines). */
export function meterCode(bytes: Uint8Array, start: number, end: number, fuelGlobal: number | null): Uint8Array {
  const r = new ByteReader(bytes, start, end)
  const count = r.u32()
  const out = new ByteWriter(Math.ceil((end - start) * 2.5))
  out.u32(count)
  try {
    for (let i = 0; i < count; i++) {
      const [bodyStart, bodyEnd] = r.span()
      if (fuelGlobal === null) {
        out.u32(bodyEnd - bodyStart)
        out.bytes(bytes.subarray(bodyStart, bodyEnd))
        continue
      }
      const body = new ByteWriter((bodyEnd - bodyStart) * 3)
      meterBody(bytes, bodyStart, bodyEnd, fuelGlobal, body)
      out.sized(body)
    }
  } catch (error) {
    if (error instanceof UnsupportedInstruction) {
      throw new WasmUnsupportedError(`the module uses ${error.feature}, which the sandbox does not run`, { data: { feature: error.feature } })
    }
    throw error
  }
  if (!r.done) r.fail('bytes after the last function body')
  return out.toBytes()
}
