/**
 * wasm: the WASM sandbox (actors/wasm).
 *  - wasm.call: small-call throughput (a ~100-instruction function) through a one-sandbox pool —
 *    ask → actor → worker thread → fresh metered instance → reply — vs a direct call of the same
 *    module's instance on this thread. The ratio is the price of isolation per call.
 *  - wasm.metering: a compute loop (xorshift, 2e7 iterations per run) metered vs unmetered, both
 *    called directly on this thread: the fuel pass's own overhead. Target: metered ≥ 0.5 × unmetered.
 *  - wasm.cold: load of a never-seen module (validate, instrument, validate, compile) vs a plain
 *    `WebAssembly.compile` of the same bytes.
 *  - wasm.warm: instantiating an already compiled metered module (what every sandbox call does) vs
 *    instantiating the uninstrumented one.
 * Figures are wall-clock rates on a shared 2-core machine: compare ratios, not absolute numbers.
 */
import wabtInit from 'wabt'
import { instrumentModule, ModuleStore, WasmSandboxPool } from '../actors/index.ts'
import { ActorSystem } from '../runtime/index.ts'
import { check, median, note, paired, pairedRatio, rate, report, round, startTiming, type Suite } from './harness.ts'

const W = (globalThis as any).WebAssembly
const CAPS = { maxMemoryPages: 16, maxTableElements: 1000 }

async function assemble(source: string): Promise<Uint8Array> {
  const wabt = await wabtInit()
  const module = wabt.parseWat('bench.wat', source, {})
  try {
    return module.toBinary({}).buffer
  } finally {
    module.destroy()
  }
}

/** ~100 instructions: 33 × (local.get, i32.const, i32.add → local.set) folded into one chain. */
function smallSource(salt = 0): string {
  const body = Array.from({ length: 33 }, (_, i) => `(local.set 0 (i32.add (local.get 0) (i32.const ${i + 1 + salt})))`).join('\n')
  return `(module (func (export "small") (param i32) (result i32) ${body} (local.get 0)))`
}

const LOOP = `(module (func (export "work") (param $n i32) (result i32) (local $x i32)
  (local.set $x (i32.const 2463534242))
  (block $out (loop $top
    (br_if $out (i32.eqz (local.get $n)))
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
    (br $top)))
  (local.get $x)))`

function instance(bytes: Uint8Array): any {
  return new W.Instance(new W.Module(bytes), {}).exports
}

async function callCase(): Promise<void> {
  const system = ActorSystem.create({ name: 'bench-wasm' })
  const pool = await WasmSandboxPool.start(system, { size: 1 })
  const bytes = await assemble(smallSource())
  const { hash } = await pool.load(bytes)
  const direct = instance(bytes).small as (x: number) => number
  const expected = direct(1)
  const N = 2000
  const D = 2_000_000
  const sandbox = async () => {
    const stop = startTiming()
    for (let i = 0; i < N; i++) {
      const r = await pool.call({ hash, export: 'small', args: [1] })
      if (!r.ok || r.value !== expected) throw new Error(`bad sandbox result ${JSON.stringify(r)}`)
    }
    return rate(N, stop())
  }
  const plain = async () => {
    const stop = startTiming()
    let acc = 0
    for (let i = 0; i < D; i++) acc = (acc + direct(i)) | 0
    check(acc !== 0.5, 'unreachable')
    return rate(D, stop())
  }
  note('wasm.call: warming up (starts the worker)')
  await sandbox()
  await plain()
  const runs = await paired(5, sandbox, plain)
  const value = median(runs.candidate.map((r) => r.perSecond))
  const baseline = median(runs.baseline.map((r) => r.perSecond))
  report({
    case: 'wasm.call',
    value: round(value),
    unit: 'calls/s',
    baseline: round(baseline),
    ratio: round(pairedRatio(runs.candidate.map((r) => r.perSecond), runs.baseline.map((r) => r.perSecond))),
    usPerCall: round(1e6 / value),
    baselineUsPerCall: round(1e6 / baseline, 3),
    n: N,
  })
  await pool.stop()
  await system.terminate()
}

async function meteringCase(): Promise<void> {
  const bytes = await assemble(LOOP)
  const meteredOut = instrumentModule(bytes, CAPS)
  const plainOut = instrumentModule(bytes, { ...CAPS, metering: false })
  const metered = instance(meteredOut.bytes)
  const plain = instance(plainOut.bytes).work as (n: number) => number
  const ITER = 20_000_000
  const expected = plain(ITER)
  const runMetered = async () => {
    metered.__troupe_fuel.value = 10n ** 12n
    const stop = startTiming()
    const x = metered.work(ITER) as number
    const t = rate(ITER, stop())
    check(x === expected, 'metered result differs')
    return t
  }
  const runPlain = async () => {
    const stop = startTiming()
    const x = plain(ITER)
    const t = rate(ITER, stop())
    check(x === expected, 'plain result differs')
    return t
  }
  await runMetered()
  await runPlain()
  const runs = await paired(7, runMetered, runPlain)
  metered.__troupe_fuel.value = 10n ** 12n
  metered.work(1000)
  const fuelPerIteration = Number(10n ** 12n - (metered.__troupe_fuel.value as bigint)) / 1000
  report({
    case: 'wasm.metering',
    value: round(median(runs.candidate.map((r) => r.perSecond))),
    unit: 'iterations/s',
    baseline: round(median(runs.baseline.map((r) => r.perSecond))),
    ratio: round(pairedRatio(runs.candidate.map((r) => r.perSecond), runs.baseline.map((r) => r.perSecond))),
    target: 'ratio >= 0.5 (metered at most 2x slower)',
    fuelPerIteration: round(fuelPerIteration),
    codeBytes: meteredOut.bytes.length,
    baselineCodeBytes: plainOut.bytes.length,
  })
}

async function coldCase(): Promise<void> {
  // A medium module: 200 functions of the small shape, each distinct so nothing is shared.
  const functions = Array.from({ length: 200 }, (_, f) => smallSource(f).replace(/^\(module /, '').replace(/\)$/, '').replace('(export "small")', `(export "f${f}")`))
  let salt = 0
  const sources: Uint8Array[] = []
  // Every load gets bytes never seen before: V8 caches compiled modules by their bytes, which would
  // turn the baseline's compile (and ours) into a lookup.
  for (let i = 0; i < 96; i++) sources.push(await assemble(`(module ${functions.join('\n')} (func (export "salt") (result i32) (i32.const ${salt++})))`))
  let next = 0
  const K = 3
  const ours = async () => {
    const stop = startTiming()
    for (let i = 0; i < K; i++) {
      // A new store each time: nothing cached, the full load path.
      await new ModuleStore().load(sources[next++ % sources.length] as Uint8Array)
    }
    return rate(K, stop())
  }
  const plain = async () => {
    const stop = startTiming()
    for (let i = 0; i < K; i++) await W.compile(sources[next++ % sources.length] as Uint8Array)
    return rate(K, stop())
  }
  // Warm the JIT on the load path first: the figure is a module never seen, not code never run.
  for (let i = 0; i < 6; i++) {
    await ours()
    await plain()
  }
  const runs = await paired(5, ours, plain)
  const value = median(runs.candidate.map((r) => r.perSecond))
  report({
    case: 'wasm.cold',
    value: round(1000 / value),
    unit: 'ms per load',
    baseline: round(1000 / median(runs.baseline.map((r) => r.perSecond))),
    ratio: round(1 / pairedRatio(runs.candidate.map((r) => r.perSecond), runs.baseline.map((r) => r.perSecond))),
    moduleBytes: (sources[0] as Uint8Array).length,
  })
}

async function warmCase(): Promise<void> {
  const bytes = await assemble(`(module (memory 1) ${smallSource().replace(/^\(module /, '')}`)
  const metered = new W.Module(instrumentModule(bytes, CAPS).bytes)
  const plain = new W.Module(bytes)
  const N = 20_000
  const make = (module: unknown) => async () => {
    const stop = startTiming()
    for (let i = 0; i < N; i++) new W.Instance(module, {})
    return rate(N, stop())
  }
  await make(metered)()
  await make(plain)()
  const runs = await paired(5, make(metered), make(plain))
  const value = median(runs.candidate.map((r) => r.perSecond))
  report({
    case: 'wasm.warm',
    value: round(1e6 / value),
    unit: 'µs per instantiation',
    baseline: round(1e6 / median(runs.baseline.map((r) => r.perSecond))),
    ratio: round(1 / pairedRatio(runs.candidate.map((r) => r.perSecond), runs.baseline.map((r) => r.perSecond))),
    note: 'ratio is time (lower is better)',
  })
}

const cases: Record<string, () => Promise<void>> = { call: callCase, metering: meteringCase, cold: coldCase, warm: warmCase }

export const suite: Suite = {
  description: 'WASM sandbox: call throughput vs a direct call, metering overhead, cold load and warm instantiation',
  cases: Object.keys(cases),
  async run({ only }) {
    for (const [name, run] of Object.entries(cases)) {
      if (only !== null && !only.has(name)) continue
      note(`wasm.${name}`)
      await run()
    }
  },
}
