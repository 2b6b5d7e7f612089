import { FUEL_EXPORT, MEMORY_EXPORT } from './binary/Instrument.ts'
import type { WasmGlobal, WasmInstance, WasmMemory } from './WebAssemblyApi.ts'
import type { Capability, GuestLimits, TrapKind } from './WasmTypes.ts'

/** Thrown by a host function to trap the guest with a kind (bad pointer → memory, quota → host). */
export class HostTrap extends Error {
  readonly kind: TrapKind
  constructor(kind: TrapKind, message: string) {
    super(message)
    this.kind = kind
  }
}

/** The state host functions share during one call; `active` turns false when the call ends or traps. */
export interface HostSession {
  active: boolean
  instance: WasmInstance | null
  readonly logs: string[]
  logBytes: number
  readonly kv: Map<string, Uint8Array> | null
  readonly kvWrites: Map<string, Uint8Array>
  readonly limits: GuestLimits
}

type HostFunction = (...args: number[]) => number | undefined

const decoder = new TextDecoder('utf-8', { fatal: false })

/**
 * The host functions for the granted capabilities only: an ungranted one is simply absent, so a
 * module importing it fails before instantiation. Each call is charged `hostCallFuel` plus one per
 * byte moved, from the same counter the metered code uses, and refused once the call has ended.
 */
export function hostFunctions(session: HostSession, grants: readonly Capability[]): Record<string, HostFunction> {
  const enter = (bytes: number): Uint8Array => {
    if (!session.active || session.instance === null) throw new HostTrap('host', 'host function used outside its call')
    const exports = session.instance.exports
    const fuel = exports[FUEL_EXPORT] as WasmGlobal | undefined
    if (fuel !== undefined) {
      fuel.value = (fuel.value as bigint) - BigInt(session.limits.hostCallFuel + bytes)
      if ((fuel.value as bigint) < 0n) throw new HostTrap('fuel', 'out of fuel in a host call')
    }
    const memory = exports[MEMORY_EXPORT] as WasmMemory | undefined
    if (memory === undefined) throw new HostTrap('memory', 'host functions need the module to define a memory')
    return new Uint8Array(memory.buffer)
  }
  const slice = (memory: Uint8Array, ptr: number, len: number): Uint8Array => {
    const p = ptr >>> 0
    const l = len >>> 0
    if (p + l > memory.length) throw new HostTrap('memory', `host access [${p}, ${p + l}) outside memory of ${memory.length} bytes`)
    return memory.subarray(p, p + l)
  }
  const fns: Record<string, HostFunction> = {}
  if (grants.includes('log')) {
    fns.log = (ptr, len) => {
      const memory = enter(len >>> 0)
      const line = decoder.decode(slice(memory, ptr, len))
      if (session.logs.length >= session.limits.maxLogLines || session.logBytes + line.length > session.limits.maxLogBytes) {
        throw new HostTrap('host', `log quota exceeded (${session.limits.maxLogLines} lines, ${session.limits.maxLogBytes} bytes)`)
      }
      session.logs.push(line)
      session.logBytes += line.length
      return undefined
    }
  }
  if (grants.includes('kv')) {
    const store = (): Map<string, Uint8Array> => {
      if (session.kv === null) throw new HostTrap('host', 'no key-value store for this call')
      return session.kv
    }
    const key = (memory: Uint8Array, ptr: number, len: number): string => {
      if (len >>> 0 > session.limits.maxKvKeyBytes) throw new HostTrap('host', `key longer than ${session.limits.maxKvKeyBytes} bytes`)
      return decoder.decode(slice(memory, ptr, len))
    }
    fns.kv_get = (kptr, klen, vptr, vcap) => {
      const memory = enter(klen >>> 0)
      const value = store().get(key(memory, kptr, klen))
      if (value === undefined) return -1
      const out = slice(memory, vptr, Math.min(vcap >>> 0, value.length))
      out.set(value.subarray(0, out.length))
      return value.length
    }
    fns.kv_set = (kptr, klen, vptr, vlen) => {
      const memory = enter((klen >>> 0) + (vlen >>> 0))
      if (vlen >>> 0 > session.limits.maxKvValueBytes) throw new HostTrap('host', `value longer than ${session.limits.maxKvValueBytes} bytes`)
      const kv = store()
      const k = key(memory, kptr, klen)
      if (!kv.has(k) && kv.size >= session.limits.maxKvEntries) throw new HostTrap('host', `key-value store full (${session.limits.maxKvEntries} entries)`)
      const value = slice(memory, vptr, vlen).slice()
      kv.set(k, value)
      session.kvWrites.set(k, value)
      return undefined
    }
  }
  return fns
}
