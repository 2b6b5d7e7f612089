import { fc, test as fcTest } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { instrumentModule, WasmErrorCodes } from '../../../../actors/index.ts'
import { instantiate, wat } from './wat.ts'

const CAPS = { maxMemoryPages: 4, maxTableElements: 64 }

function metered(bytes: Uint8Array, fuel: number): { exports: Record<string, any>; used: () => number; remaining: () => bigint } {
  const out = instrumentModule(bytes, CAPS)
  expect((globalThis as any).WebAssembly.validate(out.bytes)).toBe(true)
  const exports = instantiate(out.bytes)
  exports.__troupe_fuel.value = BigInt(fuel)
  return { exports, used: () => fuel - Number(exports.__troupe_fuel.value), remaining: () => exports.__troupe_fuel.value as bigint }
}

const LOOP = `(module
  (func (export "sum") (param $n i32) (result i32) (local $acc i32)
    (block $out (loop $top
      (br_if $out (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $top)))
    (local.get $acc))
  (func (export "spin") (loop $l (br $l))))`

describe('metering pass', () => {
  it('keeps behaviour when fuel suffices and reports fuel consumed exactly', async () => {
    const bytes = await wat(LOOP)
    const a = metered(bytes, 1_000_000)
    expect(a.exports.sum(100)).toBe(instantiate(bytes).sum(100))
    const used100 = a.used()
    // Cost is linear in iterations: a fixed prologue/epilogue plus a fixed cost per iteration.
    const b = metered(bytes, 1_000_000)
    b.exports.sum(200)
    const c = metered(bytes, 1_000_000)
    c.exports.sum(300)
    expect(c.used() - b.used()).toBe(b.used() - used100)
    expect(used100).toBeGreaterThan(100)
  })

  it('stops an infinite loop with a trap once fuel runs out, leaving the counter negative', async () => {
    const m = metered(await wat(LOOP), 10_000)
    expect(() => m.exports.spin()).toThrow(/unreachable/)
    expect(m.remaining() < 0n).toBe(true)
  })

  it('a guest unreachable traps with the counter still >= 0 (told apart from fuel)', async () => {
    const m = metered(await wat('(module (func (export "f") unreachable))'), 100)
    expect(() => m.exports.f()).toThrow()
    expect(m.remaining() >= 0n).toBe(true)
  })

  it('caps memory: the declared maximum is lowered and memory.grow beyond it returns -1 in the guest', async () => {
    const bytes = await wat(`(module (memory 1)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`)
    const out = instrumentModule(bytes, CAPS)
    expect(out.memory).toEqual({ min: 1, max: 4 })
    const m = instantiate(out.bytes)
    m.__troupe_fuel.value = 1000n
    expect(m.grow(3)).toBe(1)
    expect(m.grow(1)).toBe(-1)
    expect(m.__troupe_memory.buffer.byteLength).toBe(4 * 65536)
  })

  it('refuses a declared minimum above the cap, shared memory, imported memory and reserved export names', async () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f()
      } catch (error) {
        return (error as { code?: string }).code
      }
      return undefined
    }
    expect(code(async () => 0)).toBeUndefined()
    const big = await wat('(module (memory 5))')
    expect(code(() => instrumentModule(big, CAPS))).toBe(WasmErrorCodes.MemoryLimit)
    const shared = await wat('(module (memory 1 1 shared))', { threads: true })
    expect(code(() => instrumentModule(shared, CAPS))).toBe(WasmErrorCodes.Unsupported)
    const imported = await wat('(module (import "env" "mem" (memory 1)))')
    expect(code(() => instrumentModule(imported, CAPS))).toBe(WasmErrorCodes.Unsupported)
    const reserved = await wat('(module (func (export "__troupe_fuel")))')
    expect(code(() => instrumentModule(reserved, CAPS))).toBe(WasmErrorCodes.Invalid)
    const atomics = await wat('(module (memory 1) (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))', { threads: true })
    expect(code(() => instrumentModule(atomics, CAPS))).toBe(WasmErrorCodes.Unsupported)
    expect(code(() => instrumentModule(Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 10, 200), CAPS))).toBe(WasmErrorCodes.Invalid)
  })

  it('defers the start function (exported) so it runs metered after fuel is set', async () => {
    const bytes = await wat(`(module (global $g (mut i32) (i32.const 0))
      (func $s (global.set $g (i32.const 42))) (start $s)
      (func (export "g") (result i32) (global.get $g)))`)
    const out = instrumentModule(bytes, CAPS)
    expect(out.hasStart).toBe(true)
    const m = instantiate(out.bytes)
    m.__troupe_fuel.value = 100n
    expect(m.g()).toBe(0)
    m.__troupe_start()
    expect(m.g()).toBe(42)
  })

  it('decodes SIMD, bulk memory, reference types, multi-value and tail calls', async () => {
    const bytes = await wat(`(module (memory 1) (table 2 funcref) (elem declare func $two)
      (func $two (result i32 i32) (i32.const 1) (i32.const 2))
      (func (export "simd") (result i32)
        (v128.store (i32.const 0) (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (v128.const i32x4 1 2 3 4) (v128.const i32x4 5 6 7 8)))
        (memory.fill (i32.const 100) (i32.const 7) (i32.const 4))
        (memory.copy (i32.const 200) (i32.const 100) (i32.const 4))
        (drop (ref.func $two))
        (i32.add (i32x4.extract_lane 2 (v128.load (i32.const 0))) (i32.load8_u (i32.const 203))))
      (func $tc (param i32) (result i32) (if (result i32) (local.get 0) (then (return_call $tc (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 9))))
      (func (export "tail") (result i32) (call $tc (i32.const 1000)))
      (func (export "pair") (result i32) (call $two) (i32.add)))`)
    const m = metered(bytes, 1_000_000)
    const plain = instantiate(bytes)
    expect(m.exports.simd()).toBe(plain.simd())
    expect(m.exports.tail()).toBe(9)
    expect(m.exports.pair()).toBe(3)
  })
})

// Random programs: straight-line arithmetic and loops with branches, with enough fuel the metered
// module returns exactly what the original does; with too little it traps and the counter is negative.
const binops = ['i32.add', 'i32.sub', 'i32.mul', 'i32.and', 'i32.or', 'i32.xor', 'i32.shl', 'i32.shr_u', 'i32.rotl']
type Expr = { op: 'const'; v: number } | { op: 'local'; i: number } | { op: 'bin'; name: string; a: Expr; b: Expr } | { op: 'if'; c: Expr; t: Expr; e: Expr }

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'e' },
    fc.record({ op: fc.constant('const' as const), v: fc.integer({ min: -1000, max: 1000 }) }),
    fc.record({ op: fc.constant('local' as const), i: fc.integer({ min: 0, max: 1 }) }),
    fc.record({ op: fc.constant('bin' as const), name: fc.constantFrom(...binops), a: tie('e'), b: tie('e') }),
    fc.record({ op: fc.constant('if' as const), c: tie('e'), t: tie('e'), e: tie('e') }),
  ),
})).e

function emit(e: Expr): string {
  switch (e.op) {
    case 'const':
      return `(i32.const ${e.v})`
    case 'local':
      return `(local.get ${e.i})`
    case 'bin':
      return `(${e.name} ${emit(e.a)} ${emit(e.b)})`
    case 'if':
      return `(if (result i32) ${emit(e.c)} (then ${emit(e.t)}) (else ${emit(e.e)}))`
  }
}

describe('metering properties', () => {
  fcTest.prop([exprArb, fc.integer(), fc.integer({ min: 0, max: 40 })], { numRuns: 40 })('metered program returns what the original returns', async (body, seed, iterations) => {
    // A loop that runs `iterations` times, folding the random expression into an accumulator.
    const source = `(module (func (export "f") (param i32 i32) (result i32) (local $n i32)
      (local.set $n (i32.const ${iterations}))
      (block $out (loop $top
        (br_if $out (i32.eqz (local.get $n)))
        (local.set 1 (i32.add (local.get 1) ${emit(body)}))
        (local.set 0 (i32.xor (local.get 0) (local.get 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $top)))
      ${emit(body)}))`
    const bytes = await wat(source)
    const expected = instantiate(bytes).f(seed, 7)
    const m = metered(bytes, 10_000_000)
    expect(m.exports.f(seed, 7)).toBe(expected)
    const used = m.used()
    // Same fuel ⇒ same outcome; exactly `used` suffices, one less does not.
    const exact = metered(bytes, used)
    expect(exact.exports.f(seed, 7)).toBe(expected)
    expect(exact.remaining()).toBe(0n)
    const short = metered(bytes, used - 1)
    expect(() => short.exports.f(seed, 7)).toThrow()
    expect(short.remaining() < 0n).toBe(true)
  })
})
