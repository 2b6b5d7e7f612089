import { fc, test as fcTest } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { ModuleStore, WasmErrorCodes } from '../../../../actors/index.ts'
import { wat } from './wat.ts'

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

const ADD = '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))'

describe('ModuleStore', () => {
  it('compiles once per content hash; grants are part of the identity', async () => {
    const store = new ModuleStore()
    const bytes = await wat(ADD)
    const a = await store.load(bytes)
    const b = await store.load(bytes.slice())
    expect(b).toBe(a)
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(a.functions).toEqual(['add'])
    const logged = await store.load(bytes, { grants: ['log'] })
    expect(logged.hash).not.toBe(a.hash)
    expect(store.size).toBe(2)
  })

  it('refuses oversized, invalid and non-byte input with typed errors', async () => {
    const store = new ModuleStore({ maxModuleBytes: 64 })
    const big = await wat(`(module ${Array.from({ length: 20 }, (_, i) => `(func (export "f${i}"))`).join(' ')})`)
    expect(await code(store.load(big))).toBe(WasmErrorCodes.TooLarge)
    expect(await code(store.load(Uint8Array.of(1, 2, 3)))).toBe(WasmErrorCodes.Invalid)
    expect(await code(store.load('not bytes' as unknown as Uint8Array))).toBe(WasmErrorCodes.Invalid)
    expect(await code(store.load(await wat(ADD), { grants: ['net' as 'log'] }))).toBe(WasmErrorCodes.BadOptions)
    expect(() => new ModuleStore({ maxMemoryPages: 0 })).toThrow(expect.objectContaining({ code: WasmErrorCodes.BadOptions }))
  })

  it('evicts the oldest module beyond maxModules', async () => {
    const store = new ModuleStore({ maxModules: 2 })
    const hashes: string[] = []
    for (let i = 0; i < 3; i++) hashes.push((await store.load(await wat(`(module (func (export "f${i}")))`))).hash)
    expect(store.size).toBe(2)
    expect(() => store.get(hashes[0] as string)).toThrow(expect.objectContaining({ code: WasmErrorCodes.UnknownModule }))
    expect(store.get(hashes[2] as string).hash).toBe(hashes[2])
  })
})

const RICH = `(module (type $v (func)) (import "troupe" "log" (func $log (param i32 i32)))
  (memory 1 8) (table 4 funcref) (global $g (mut i64) (i64.const 5)) (data (i32.const 0) "hello")
  (elem (i32.const 0) $a $b)
  (func $a (param i32) (result i32) (block (result i32) (loop (br_if 1 (local.get 0) (i32.eqz (local.get 0))) (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0))))
  (func $b (call $log (i32.const 0) (i32.const 5)) (global.set $g (i64.add (global.get $g) (i64.const 1))))
  (func (export "run") (result i32) (call_indirect (type $v) (i32.const 1)) (br_table 0 0 (i32.const 0)) (call $a (i32.const 3)))
  (func (export "simd") (result i32) (i32x4.extract_lane 0 (i32x4.add (v128.load (i32.const 0)) (v128.const i32x4 1 2 3 4)))))`

describe('hostile bytes', () => {
  let rich: Uint8Array
  fcTest.prop([fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), fc.option(fc.nat(), { nil: undefined })], { numRuns: 300 })(
    'a mutated or truncated module loads or is refused with a typed code, never an untyped error or a broken instrumentation',
    async (edits, cut) => {
      rich ??= await wat(RICH)
      const bytes = rich.slice(0, cut === undefined ? rich.length : 8 + (cut % rich.length))
      for (const [at, value] of edits) bytes[at % bytes.length] = value
      const store = new ModuleStore()
      try {
        const loaded = await store.load(bytes, { grants: ['log'] })
        expect(loaded.hash).toMatch(/^[0-9a-f]{64}$/)
      } catch (error) {
        const code = (error as { code?: string }).code
        expect(Object.values(WasmErrorCodes)).toContain(code)
        expect(code).not.toBe(WasmErrorCodes.Instrument)
      }
    },
  )
})
