import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WasmErrorCodes, WasmSandboxPool, type WasmCallResult } from '../../../../actors/index.ts'
import { ActorSystem } from '../../../../runtime/index.ts'
import { SupervisorEventTopic, type SupervisorEvent } from '../../../../supervision/index.ts'
import { waitFor } from '../../../../testing/index.ts'
import { wat } from './wat.ts'

const GUESTS = {
  spin: `(module (func (export "spin") (loop $l (br $l))))`,
  add: `(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`,
  // Logs "tick" once per iteration until fuel runs out: the log count tells where it stopped.
  ticker: `(module (import "troupe" "log" (func $log (param i32 i32))) (memory 1) (data (i32.const 0) "tick")
    (func (export "run") (loop $l (call $log (i32.const 0) (i32.const 4)) (br $l))))`,
  bomb: `(module (memory 0)
    (func (export "bomb") (result i32) (local $pages i32)
      (block $done (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (br $l)))
      (memory.size)))`,
  oob: `(module (memory 1) (func (export "poke") (i32.store (i32.const 1000000) (i32.const 1))))`,
  trap: `(module (func (export "boom") unreachable))`,
  counter: `(module (global $n (mut i32) (i32.const 0))
    (func (export "next") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))`,
  kv: `(module (import "troupe" "kv_get" (func $get (param i32 i32 i32 i32) (result i32)))
    (import "troupe" "kv_set" (func $set (param i32 i32 i32 i32))) (memory 1) (data (i32.const 0) "hits")
    (func (export "hit") (param $fail i32) (result i32) (local $n i32)
      (if (i32.ge_s (call $get (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 4)) (i32.const 0))
        (then (local.set $n (i32.load (i32.const 16)))))
      (i32.store (i32.const 16) (i32.add (local.get $n) (i32.const 1)))
      (call $set (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 4))
      (if (local.get $fail) (then unreachable))
      (i32.load (i32.const 16))))`,
  kinds: `(module (type $v (func)) (table 1 funcref)
    (func $deep (export "deep") (call $deep))
    (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
    (func (export "indirect") (call_indirect (type $v) (i32.const 0)))
    (elem declare func $deep) (func (export "ref") (result funcref) (ref.func $deep)))`,
  wasi: `(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))`,
  env: `(module (import "env" "process_env" (func (result i32))) (import "node" "fs_read" (func)))`,
}

let system: ActorSystem
let pool: WasmSandboxPool
let registry: Registry
const hashes: Record<string, string> = {}

function trap(result: WasmCallResult): string | null {
  return result.ok ? null : result.trap
}

async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

beforeAll(async () => {
  system = ActorSystem.create({ name: 'wasm-test' })
  registry = new Registry()
  pool = await WasmSandboxPool.start(system, { size: 2, registry, store: { maxMemoryPages: 64 }, backoff: { minMs: 10, maxMs: 100 } })
  for (const [name, source] of Object.entries(GUESTS)) {
    if (name === 'wasi' || name === 'env') continue
    const grants = name === 'ticker' ? (['log'] as const) : name === 'kv' ? (['kv'] as const) : []
    hashes[name] = (await pool.load(await wat(source), { grants: [...grants] })).hash
  }
  // Workers start from TypeScript sources under tsx here (seconds on a busy machine): warm both.
  await Promise.all([1, 2].map(() => pool.call({ hash: hashes.add as string, export: 'add', args: [0, 0] })))
}, 60_000)

afterAll(async () => {
  await pool.stop()
  await system.terminate()
})

// Worker threads start from TypeScript sources here; a replaced worker takes seconds on a loaded machine.
describe('WasmSandbox pool', { timeout: 30_000 }, () => {
  it('runs a call and reports value, fuel and duration', async () => {
    const r = await pool.call({ hash: hashes.add as string, export: 'add', args: [2, 40] })
    expect(r).toMatchObject({ ok: true, value: 42 })
    expect(r.fuelUsed).toBeGreaterThan(0)
    expect(r.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('stops an infinite loop by fuel, reporting the whole budget as consumed', async () => {
    const r = await pool.call({ hash: hashes.spin as string, export: 'spin', fuel: 100_000, deadlineMs: 5000 })
    expect(trap(r)).toBe('fuel')
    expect(r.fuelUsed).toBe(100_000)
  })

  it('stops an infinite loop by deadline (worker terminated), then serves the next call', async () => {
    const r = await pool.call({ hash: hashes.spin as string, export: 'spin', fuel: 1e12, deadlineMs: 150 })
    expect(trap(r)).toBe('deadline')
    expect(r.durationMs).toBeGreaterThanOrEqual(140)
    const after = await pool.call({ hash: hashes.add as string, export: 'add', args: [1, 1] })
    expect(after).toMatchObject({ ok: true, value: 2 })
  })

  it('exhausts fuel at exactly the same point twice', async () => {
    const runs = await Promise.all([1, 2].map(() => pool.call({ hash: hashes.ticker as string, export: 'run', fuel: 5_003, deadlineMs: 5000 })))
    const [a, b] = runs as [WasmCallResult, WasmCallResult]
    expect(trap(a)).toBe('fuel')
    expect(a.logs.length).toBeGreaterThan(10)
    expect(b.logs).toEqual(a.logs)
    expect(b.fuelUsed).toBe(a.fuelUsed)
    const more = await pool.call({ hash: hashes.ticker as string, export: 'run', fuel: 10_000, deadlineMs: 5000 })
    expect(more.logs.length).toBeGreaterThan(a.logs.length)
  })

  it('caps a memory bomb inside the guest: memory.grow fails at the cap', async () => {
    const r = await pool.call({ hash: hashes.bomb as string, export: 'bomb' })
    expect(r).toMatchObject({ ok: true, value: 64 })
    expect(r.memoryBytes).toBe(64 * 65536)
    const oob = await pool.call({ hash: hashes.oob as string, export: 'poke' })
    expect(trap(oob)).toBe('memory')
    const tooBig = await rejectionCode(pool.load(await wat('(module (memory 65))')))
    expect(tooBig).toBe(WasmErrorCodes.MemoryLimit)
  })

  it('grants no ambient authority: WASI, env, fs and ungranted capabilities fail before instantiation', async () => {
    expect(await rejectionCode(pool.load(await wat(GUESTS.wasi)))).toBe(WasmErrorCodes.ImportDenied)
    expect(await rejectionCode(pool.load(await wat(GUESTS.env)))).toBe(WasmErrorCodes.ImportDenied)
    // The ticker imports `log`; loaded without the grant it is refused; a call may not use it either.
    expect(await rejectionCode(pool.load(await wat(GUESTS.ticker)))).toBe(WasmErrorCodes.ImportDenied)
    expect(await rejectionCode(pool.call({ hash: hashes.ticker as string, export: 'run', grants: [] }))).toBe(WasmErrorCodes.ImportDenied)
    expect(await rejectionCode(pool.call({ hash: hashes.add as string, export: 'nope' }))).toBe(WasmErrorCodes.BadCall)
    expect(await rejectionCode(pool.call({ hash: 'f'.repeat(64), export: 'add' }))).toBe(WasmErrorCodes.UnknownModule)
    expect(await rejectionCode(pool.call({ hash: hashes.add as string, export: 'add', fuel: -1 }))).toBe(WasmErrorCodes.BadCall)
  })

  it('reports each trap kind: stack, arithmetic, indirect', async () => {
    const call = (name: string, args: number[] = []) => pool.call({ hash: hashes.kinds as string, export: name, args, fuel: 1e9, deadlineMs: 10_000 })
    expect(trap(await call('deep'))).toBe('stack')
    expect(trap(await call('div', [0]))).toBe('arithmetic')
    expect(await call('div', [1])).toMatchObject({ ok: true, value: 1 })
    expect(trap(await call('indirect'))).toBe('indirect')
    // A reference never crosses the boundary: refused, and the sandbox serves the next call.
    expect(await rejectionCode(call('ref'))).toBe(WasmErrorCodes.BadCall)
    expect(await call('div', [1])).toMatchObject({ ok: true, value: 1 })
  })

  it('a trapped module leaves the pool healthy, and no guest state survives a call', async () => {
    for (let i = 0; i < 4; i++) expect(trap(await pool.call({ hash: hashes.trap as string, export: 'boom' }))).toBe('unreachable')
    const counts = await Promise.all([1, 2, 3, 4].map(() => pool.call({ hash: hashes.counter as string, export: 'next' })))
    expect(counts.map((c) => (c.ok ? c.value : null))).toEqual([1, 1, 1, 1])
  })

  it('keeps separate accounting for 10 tenants, in metrics on the given registry', async () => {
    const tenants = Array.from({ length: 10 }, (_, i) => `tenant-${i}`)
    await Promise.all(tenants.map((tenant, i) => Promise.all(Array.from({ length: i + 1 }, () => pool.call({ hash: hashes.add as string, export: 'add', args: [i, 1], tenant })))))
    await pool.call({ hash: hashes.spin as string, export: 'spin', fuel: 1000, tenant: 'tenant-3' })
    await pool.call({ hash: hashes.bomb as string, export: 'bomb', tenant: 'tenant-7' })
    const one = pool.usage('tenant-0')
    for (const [i, tenant] of tenants.entries()) {
      const u = pool.usage(tenant)
      const extra = i === 3 || i === 7 ? 1 : 0
      expect(u.calls).toBe(i + 1 + extra)
      if (extra === 0) expect(u.fuelUsed).toBe(one.fuelUsed * (i + 1))
    }
    expect(pool.usage('tenant-3').traps).toEqual({ fuel: 1 })
    expect(pool.usage('tenant-7').memoryHighWater).toBe(64 * 65536)
    expect(pool.usage('tenant-1').memoryHighWater).toBe(0)
    const text = await registry.metrics()
    expect(text).toContain('troupe_wasm_calls_total{tenant="tenant-9",outcome="ok"} 10')
    expect(text).toContain('troupe_wasm_calls_total{tenant="tenant-3",outcome="fuel"} 1')
    expect(text).toContain(`troupe_wasm_memory_high_water_bytes{tenant="tenant-7"} ${64 * 65536}`)
    expect(text).toMatch(/troupe_wasm_fuel_consumed_total\{tenant="tenant-3"\} \d+/)
  })

  it('scopes the kv capability to the tenant and commits writes only when the call returns', async () => {
    const hit = (tenant: string, fail = 0) => pool.call({ hash: hashes.kv as string, export: 'hit', args: [fail], tenant })
    expect(await hit('a')).toMatchObject({ ok: true, value: 1 })
    expect(await hit('a')).toMatchObject({ ok: true, value: 2 })
    expect(trap(await hit('a', 1))).toBe('unreachable')
    expect(await hit('a')).toMatchObject({ ok: true, value: 3 })
    expect(await hit('b')).toMatchObject({ ok: true, value: 1 })
  })

  it('supervision restarts a killed worker with backoff; the pool keeps serving', async () => {
    const events: SupervisorEvent[] = []
    const sub = system.eventStream.subscribe(SupervisorEventTopic, (e) => events.push(e))
    const victim = pool.sandboxes().get('sandbox-0')
    expect(victim).toBeTruthy()
    await victim?.ask('killWorker')
    await waitFor(() => events.some((e) => e.type === 'child-restarted' && e.childId === 'sandbox-0'), { timeoutMs: 5000 })
    expect(events.some((e) => e.type === 'restart-scheduled' && e.childId === 'sandbox-0')).toBe(true)
    sub.unsubscribe()
    const results = await Promise.all([1, 2, 3, 4].map((i) => pool.call({ hash: hashes.add as string, export: 'add', args: [i, i] })))
    expect(results.map((r) => (r.ok ? r.value : r))).toEqual([2, 4, 6, 8])
    // The restarted sandbox starts from nothing: no guest state from before the kill.
    const fresh = await victim?.ask('call', { hash: hashes.counter as string, export: 'next' })
    expect(fresh).toMatchObject({ ok: true, value: 1 })
    expect(await registry.metrics()).toMatch(/troupe_wasm_worker_restarts_total\{reason="lost"\} [1-9]/)
  })
})
