import { WasmInvalidError, WasmUnsupportedError } from '../errors.ts'
import { ByteWriter } from './ByteWriter.ts'
import { meterCode } from './Metering.ts'
import {
  appendFuelGlobal, capMemories, capTables, readExports, readImports, readStart, SectionId, sectionRank, splitSections, writeExports,
  type ExportEntry, type ImportEntry, type Limits, type RawSection,
} from './Sections.ts'

/** Names the pass adds to the export section; a guest may not use the prefix. */
export const FUEL_EXPORT = '__troupe_fuel'
export const MEMORY_EXPORT = '__troupe_memory'
export const START_EXPORT = '__troupe_start'
const RESERVED_PREFIX = '__troupe_'

export interface InstrumentOptions {
  /** Memory cap in 64 KiB pages: declared minimum must fit, declared maximum is lowered to it. */
  readonly maxMemoryPages: number
  /** Cap on each table's elements, rewritten the same way. */
  readonly maxTableElements: number
  /** False: caps only, no fuel counter (the benchmark's unmetered baseline). Default true. */
  readonly metering?: boolean
}

export interface InstrumentedModule {
  readonly bytes: Uint8Array
  readonly imports: readonly ImportEntry[]
  /** Exported function names of the guest (ours excluded). */
  readonly functions: readonly string[]
  readonly memory: Limits | null
  readonly hasStart: boolean
  readonly metered: boolean
}

/**
 * The load-time pass: caps memories and tables, adds the fuel counter and meters every function,
 * turns the start function into an export (so the host sets fuel before any guest code runs), and
 * exports the memory (for the high-water mark). Custom sections (names, debug info) are dropped:
 * they carry no behaviour. The caller validates the input before and the output after.
 */
export function instrumentModule(bytes: Uint8Array, options: InstrumentOptions): InstrumentedModule {
  const metered = options.metering !== false
  const sections = splitSections(bytes)
  const byId = new Map<number, RawSection>()
  for (const s of sections) {
    if (s.id === SectionId.custom) continue
    if (byId.has(s.id)) throw new WasmInvalidError(`duplicate section ${s.id}`, { data: { reason: 'duplicate section' } })
    byId.set(s.id, s)
  }
  if (byId.has(SectionId.tag)) throw new WasmUnsupportedError('exception handling (tag section) is not supported', { data: { feature: 'exception handling' } })

  const out = new Map<number, Uint8Array>()
  const copy = (id: number): void => {
    const s = byId.get(id)
    if (s !== undefined) out.set(id, bytes.subarray(s.start, s.end))
  }
  for (const id of [SectionId.type, SectionId.import, SectionId.function, SectionId.element, SectionId.dataCount, SectionId.data]) copy(id)

  const importSection = byId.get(SectionId.import)
  const imports = importSection === undefined ? [] : readImports(bytes, importSection)

  const tables = byId.get(SectionId.table)
  if (tables !== undefined) out.set(SectionId.table, capTables(bytes, tables, options.maxTableElements))
  let memory: Limits | null = null
  const memories = byId.get(SectionId.memory)
  if (memories !== undefined) {
    const capped = capMemories(bytes, memories, options.maxMemoryPages)
    out.set(SectionId.memory, capped.payload)
    memory = capped.limits
  }

  const exportSection = byId.get(SectionId.export)
  const exports: ExportEntry[] = exportSection === undefined ? [] : readExports(bytes, exportSection)
  for (const e of exports) {
    if (e.name.startsWith(RESERVED_PREFIX)) throw new WasmInvalidError(`export name ${e.name} uses the reserved prefix ${RESERVED_PREFIX}`, { data: { reason: 'reserved export name' } })
  }
  const functions = exports.filter((e) => e.kind === 0).map((e) => e.name)
  const added: ExportEntry[] = []

  let fuelGlobal: number | null = null
  if (metered) {
    const global = appendFuelGlobal(bytes, byId.get(SectionId.global))
    out.set(SectionId.global, global.payload)
    fuelGlobal = global.index
    added.push({ name: FUEL_EXPORT, kind: 3, index: global.index })
  } else {
    copy(SectionId.global)
  }
  if (memory !== null) added.push({ name: MEMORY_EXPORT, kind: 2, index: 0 })
  const start = byId.get(SectionId.start)
  if (start !== undefined) added.push({ name: START_EXPORT, kind: 0, index: readStart(bytes, start) })
  out.set(SectionId.export, writeExports([...exports, ...added]))

  const code = byId.get(SectionId.code)
  if (code !== undefined) out.set(SectionId.code, meterCode(bytes, code.start, code.end, fuelGlobal))

  const writer = new ByteWriter(bytes.length * 2 + 64)
  writer.bytes(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00))
  for (const id of [...out.keys()].sort((a, b) => sectionRank(a) - sectionRank(b))) {
    const payload = out.get(id) as Uint8Array
    writer.u8(id)
    writer.u32(payload.length)
    writer.bytes(payload)
  }
  return { bytes: writer.toBytes(), imports, functions, memory, hasStart: start !== undefined, metered }
}
