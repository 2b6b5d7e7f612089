import { describe, expect, it } from 'vitest'
import { ModuleStore, WasmAccounting, WasmErrorCodes, WasmSandbox, type WasmCallResult } from '../../../../actors/index.ts'
import { ActorTestKit } from '../../../../testing/index.ts'
import { wat } from './wat.ts'

const SPIN = `(module (func (export "spin") (loop $l (br $l))) (func (export "one") (result i32) (i32.const 1)))`

async function setup(seed: number) {
  const store = new ModuleStore()
  const { hash } = await store.load(await wat(SPIN))
  const kit = ActorTestKit.create({ seed })
  const accounting = new WasmAccounting()
  // 1000 fuel per virtual millisecond: a 5 ms deadline is a 5000-fuel cap.
  const sandbox = kit.spawn(WasmSandbox, { args: [{ store, accounting, executor: 'inline', virtualFuelPerMs: 1000 }] })
  return { kit, sandbox, hash, accounting, store }
}

describe('WasmSandbox under the simulator (inline executor, virtual time)', () => {
  it('stops an infinite loop at a virtual deadline; the reply takes that much virtual time', async () => {
    const { kit, sandbox, hash, accounting } = await setup(1)
    const before = kit.system.clock.now()
    const r = await kit.ask(sandbox, 'call', { hash, export: 'spin', fuel: 1e9, deadlineMs: 5 })
    expect(r).toMatchObject({ ok: false, trap: 'deadline', fuelUsed: 5000, durationMs: 5 })
    expect(kit.system.clock.now() - before).toBeGreaterThanOrEqual(5)
    // A fuel budget smaller than the deadline allows traps on fuel instead.
    const f = await kit.ask(sandbox, 'call', { hash, export: 'spin', fuel: 1200, deadlineMs: 5 })
    expect(f).toMatchObject({ ok: false, trap: 'fuel', fuelUsed: 1200, durationMs: 1.2 })
    expect(await kit.ask(sandbox, 'call', { hash, export: 'one' })).toMatchObject({ ok: true, value: 1 })
    const usage = accounting.tenant('default')
    expect(usage).toMatchObject({ calls: 3, traps: { deadline: 1, fuel: 1 } })
    expect(usage.fuelUsed).toBeGreaterThan(6200)
    await kit.shutdown()
  })

  it('replays identically from the same seed', async () => {
    const run = async (seed: number): Promise<[WasmCallResult[], number]> => {
      const { kit, sandbox, hash } = await setup(seed)
      const results = await kit.sim.settle(Promise.all([3, 1, 2].map((d) => sandbox.ask('call', { hash, export: 'spin', fuel: 1e9, deadlineMs: d }))))
      const at = kit.system.clock.now()
      await kit.shutdown()
      return [results, at]
    }
    expect(await run(7)).toEqual(await run(7))
  })

  it('refuses an inline sandbox without metering (nothing could stop the guest)', async () => {
    const kit = ActorTestKit.create({ seed: 1 })
    let thrown: unknown = null
    try {
      kit.spawn(WasmSandbox, { args: [{ store: new ModuleStore({ metering: false }), executor: 'inline' }] })
    } catch (error) {
      thrown = error
    }
    // The spawn fails with ActorInitError; its cause is the sandbox's typed refusal.
    expect((thrown as { cause?: { code?: string } } | null)?.cause?.code).toBe(WasmErrorCodes.BadOptions)
    await kit.shutdown()
  })
})
