import { WasmMemoryLimitError, WasmUnsupportedError } from '../errors.ts'
import { ByteReader } from './ByteReader.ts'
import { ByteWriter } from './ByteWriter.ts'

/** Section ids (binary format §5.5.2) and the order the format requires them in. */
export const SectionId = {
  custom: 0, type: 1, import: 2, function: 3, table: 4, memory: 5, global: 6, export: 7, start: 8, element: 9, code: 10, data: 11, dataCount: 12, tag: 13,
} as const

const ORDER: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 }

export function sectionRank(id: number): number {
  return ORDER[id] ?? 0
}

export interface RawSection {
  readonly id: number
  readonly start: number
  readonly end: number
}

/** Splits a module into its sections after checking the header. */
export function splitSections(bytes: Uint8Array): RawSection[] {
  const r = new ByteReader(bytes)
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  for (const expected of header) if (r.u8() !== expected) r.fail('not a WebAssembly 1.0 binary (bad magic or version)')
  const sections: RawSection[] = []
  while (!r.done) {
    const id = r.u8()
    if (id !== SectionId.custom && ORDER[id] === undefined) r.fail(`unknown section id ${id}`)
    const [start, end] = r.span()
    sections.push({ id, start, end })
  }
  return sections
}

export interface ImportEntry {
  readonly module: string
  readonly name: string
}

/** Function imports only: an imported memory, table, global or tag would be host state the guest shares. */
export function readImports(bytes: Uint8Array, s: RawSection): ImportEntry[] {
  const r = new ByteReader(bytes, s.start, s.end)
  const count = r.u32()
  const imports: ImportEntry[] = []
  for (let i = 0; i < count; i++) {
    const module = r.name()
    const name = r.name()
    const kind = r.u8()
    if (kind !== 0) {
      const what = ['function', 'table', 'memory', 'global', 'tag'][kind] ?? `kind ${kind}`
      throw new WasmUnsupportedError(`imported ${what} ${module}.${name}: the sandbox grants host functions only`, { data: { feature: `import-${what}` } })
    }
    r.u32()
    imports.push({ module, name })
  }
  return imports
}

export interface Limits {
  readonly min: number
  readonly max: number | null
}

/**
 * Reads limits and rewrites them so that the maximum is at most `cap`: growth beyond the cap then
 * fails inside the guest (`memory.grow` returns -1, `table.grow` returns -1), never in the host.
 */
function capLimits(r: ByteReader, out: ByteWriter, cap: number, what: 'memory' | 'table'): Limits {
  const flags = r.u8()
  if (flags === 0x02 || flags === 0x03) throw new WasmUnsupportedError(`shared ${what} (threads) is not supported`, { data: { feature: 'shared-memory' } })
  if (flags > 0x01) throw new WasmUnsupportedError(`${what} limits flags 0x${flags.toString(16)} (64-bit or custom pages) are not supported`, { data: { feature: `${what}64` } })
  const min = r.u32()
  const max = flags === 0x01 ? r.u32() : null
  if (min > cap) {
    throw new WasmMemoryLimitError(`the module declares ${min} initial ${what === 'memory' ? 'pages' : 'elements'} of ${what}, above the cap of ${cap}`, { data: { what, min, cap } })
  }
  const capped = Math.min(max ?? cap, cap)
  out.u8(0x01)
  out.u32(min)
  out.u32(capped)
  return { min, max: capped }
}

export function capMemories(bytes: Uint8Array, s: RawSection, capPages: number): { payload: Uint8Array; limits: Limits | null } {
  const r = new ByteReader(bytes, s.start, s.end)
  const out = new ByteWriter()
  const count = r.u32()
  if (count > 1) throw new WasmUnsupportedError('more than one memory (multi-memory) is not supported', { data: { feature: 'multi-memory' } })
  out.u32(count)
  const limits = count === 1 ? capLimits(r, out, capPages, 'memory') : null
  return { payload: out.toBytes(), limits }
}

export function capTables(bytes: Uint8Array, s: RawSection, capElements: number): Uint8Array {
  const r = new ByteReader(bytes, s.start, s.end)
  const out = new ByteWriter()
  const count = r.u32()
  out.u32(count)
  for (let i = 0; i < count; i++) {
    const refType = r.u8()
    if (refType !== 0x70 && refType !== 0x6f) throw new WasmUnsupportedError(`table type 0x${refType.toString(16)} is not supported`, { data: { feature: 'table-type' } })
    out.u8(refType)
    capLimits(r, out, capElements, 'table')
  }
  return out.toBytes()
}

export interface ExportEntry {
  readonly name: string
  readonly kind: number
  readonly index: number
}

export function readExports(bytes: Uint8Array, s: RawSection): ExportEntry[] {
  const r = new ByteReader(bytes, s.start, s.end)
  const count = r.u32()
  const exports: ExportEntry[] = []
  for (let i = 0; i < count; i++) exports.push({ name: r.name(), kind: r.u8(), index: r.u32() })
  return exports
}

export function writeExports(entries: readonly ExportEntry[]): Uint8Array {
  const out = new ByteWriter()
  out.u32(entries.length)
  for (const e of entries) {
    out.name(e.name)
    out.u8(e.kind)
    out.u32(e.index)
  }
  return out.toBytes()
}

/** The global section with one more global appended: the fuel counter (i64, mutable, starts at 0). */
export function appendFuelGlobal(bytes: Uint8Array, s: RawSection | undefined): { payload: Uint8Array; index: number } {
  const out = new ByteWriter()
  let count = 0
  let rest: Uint8Array = new Uint8Array(0)
  if (s !== undefined) {
    const r = new ByteReader(bytes, s.start, s.end)
    count = r.u32()
    rest = bytes.subarray(r.pos, s.end)
  }
  out.u32(count + 1)
  out.bytes(rest)
  out.bytes(Uint8Array.of(0x7e, 0x01, 0x42, 0x00, 0x0b))
  return { payload: out.toBytes(), index: count }
}

export function readStart(bytes: Uint8Array, s: RawSection): number {
  return new ByteReader(bytes, s.start, s.end).u32()
}
