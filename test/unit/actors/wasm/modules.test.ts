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
