import type { ByteReader } from './ByteReader.ts'

/**
 * Instruction decoding for the metering pass: reads one instruction's opcode and skips its
 * immediates, and says whether it ends a metered segment (a basic-block boundary). The pass copies
 * instruction bytes verbatim, so only the immediates' lengths matter here.
 *
 * Supported: the MVP, sign extension, saturating truncation, bulk memory, reference types (basic
 * funcref/externref), multi-value block types, tail calls, multi-memory memargs, fixed-width and
 * relaxed SIMD. Rejected with a reason: exception handling, threads/atomics, GC and typed function
 * references — the sandbox would need its own rules for them (a `try` hides traps from the fuel
 * check's accounting, atomics need shared memory, GC objects escape the memory cap).
 */

const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f])

export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  returnCall: 0x12,
  returnCallIndirect: 0x13,
} as const

/** Opcodes after which a new metered segment starts (control flow enters or leaves there), as a lookup table. */
const BOUNDARY = new Uint8Array(256)
for (const op of [Op.unreachable, Op.block, Op.loop, Op.if, Op.else, Op.end, Op.br, Op.brIf, Op.brTable, Op.return, Op.returnCall, Op.returnCallIndirect]) BOUNDARY[op] = 1

const UNSUPPORTED: Readonly<Record<number, string>> = {
  0x06: 'exception handling (try)',
  0x07: 'exception handling (catch)',
  0x08: 'exception handling (throw)',
  0x09: 'exception handling (rethrow)',
  0x0a: 'exception handling (throw_ref)',
  0x14: 'typed function references (call_ref)',
  0x15: 'typed function references (return_call_ref)',
  0x18: 'exception handling (delegate)',
  0x19: 'exception handling (catch_all)',
  0x1f: 'exception handling (try_table)',
  0xd3: 'typed function references (ref.eq)',
  0xd4: 'typed function references (ref.as_non_null)',
  0xd5: 'typed function references (br_on_null)',
  0xd6: 'typed function references (br_on_non_null)',
  0xfb: 'garbage collection',
  0xfe: 'threads (atomics)',
}

const REFUSED = new Uint8Array(256)
for (const op of Object.keys(UNSUPPORTED)) REFUSED[Number(op)] = 1

export class UnsupportedInstruction extends Error {
  readonly feature: string
  constructor(feature: string) {
    super(feature)
    this.feature = feature
  }
}

function blockType(r: ByteReader): void {
  const b = r.peek()
  if (b === 0x40 || VALTYPES.has(b)) {
    r.pos++
    return
  }
  r.skipSigned(33) // a type index (multi-value)
}

function memarg(r: ByteReader): void {
  const align = r.u32()
  if ((align & 0x40) !== 0) r.u32() // multi-memory: memory index follows
  r.u32() // offset (memory64 is refused at the memory section, so 32 bits)
}

function prefixedFC(r: ByteReader): void {
  const sub = r.u32()
  if (sub <= 7) return // saturating truncations
  switch (sub) {
    case 8: // memory.init data mem
    case 10: // memory.copy dst src
    case 12: // table.init elem table
    case 14: // table.copy dst src
      r.u32()
      r.u32()
      return
    case 9: // data.drop
    case 11: // memory.fill
    case 13: // elem.drop
    case 15: // table.grow
    case 16: // table.size
    case 17: // table.fill
      r.u32()
      return
    default:
      throw new UnsupportedInstruction(`0xfc ${sub}`)
  }
}

function prefixedFD(r: ByteReader): void {
  const sub = r.u32()
  if (sub <= 11 || sub === 92 || sub === 93) return memarg(r) // loads, stores, load_splat, load_zero
  if (sub === 12 || sub === 13) return r.skip(16) // v128.const, i8x16.shuffle
  if (sub >= 21 && sub <= 34) return r.skip(1) // extract/replace lane
  if (sub >= 84 && sub <= 91) {
    memarg(r) // load/store lane
    r.skip(1)
    return
  }
  if (sub > 0x113) throw new UnsupportedInstruction(`0xfd ${sub}`)
  // every other SIMD and relaxed-SIMD opcode has no immediate
}

/**
 * Reads one instruction starting at `r.pos` and skips its immediates. Returns its opcode and whether
 * a metered segment ends after it.
 */
export function readInstruction(r: ByteReader): boolean {
  const op = r.u8()
  if (REFUSED[op] === 1) throw new UnsupportedInstruction(UNSUPPORTED[op] as string)
  switch (op) {
    case Op.block:
    case Op.loop:
    case Op.if:
      blockType(r)
      break
    case Op.br:
    case Op.brIf:
    case 0x10: // call
    case Op.returnCall:
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
    case 0x25: // table.get
    case 0x26: // table.set
    case 0x3f: // memory.size
    case 0x40: // memory.grow
    case 0xd2: // ref.func
      r.u32()
      break
    case Op.brTable: {
      const count = r.u32()
      if (count > r.end - r.pos) r.fail('br_table longer than the body')
      for (let i = 0; i <= count; i++) r.u32()
      break
    }
    case 0x11: // call_indirect type table
    case Op.returnCallIndirect:
      r.u32()
      r.u32()
      break
    case 0x1c: {
      // select with types
      const count = r.u32()
      if (count > r.end - r.pos) r.fail('select type vector longer than the body')
      r.skip(count)
      break
    }
    case 0x41:
      r.skipSigned(32)
      break
    case 0x42:
      r.skipSigned(64)
      break
    case 0x43:
      r.skip(4)
      break
    case 0x44:
      r.skip(8)
      break
    case 0xd0: // ref.null heaptype
      r.u8()
      break
    case 0xfc:
      prefixedFC(r)
      break
    case 0xfd:
      prefixedFD(r)
      break
    default:
      if (op >= 0x28 && op <= 0x3e) memarg(r)
      else if (op === 0x01 || op === Op.else || op === Op.end || op === Op.return || op === Op.unreachable || op === 0x1a || op === 0x1b) break
      else if (op >= 0x45 && op <= 0xc4) break
      else if (op === 0xd1) break
      else throw new UnsupportedInstruction(`opcode 0x${op.toString(16)}`)
  }
  return BOUNDARY[op] === 1
}
