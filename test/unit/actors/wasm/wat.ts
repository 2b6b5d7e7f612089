import wabtInit from 'wabt'

type Wabt = Awaited<ReturnType<typeof wabtInit>>
let wabt: Promise<Wabt> | null = null

/** Assembles WAT text into a binary with wabt (all features the sandbox supports enabled). */
export async function wat(source: string, features: Record<string, boolean> = {}): Promise<Uint8Array> {
  wabt ??= wabtInit()
  const w = await wabt
  const module = w.parseWat('guest.wat', source, { multi_value: true, bulk_memory: true, reference_types: true, simd: true, sat_float_to_int: true, sign_extension: true, tail_call: true, ...features })
  try {
    return module.toBinary({}).buffer
  } finally {
    module.destroy()
  }
}

/** Instantiates bytes directly (no sandbox): the reference side of comparisons. */
export function instantiate(bytes: Uint8Array, imports: Record<string, Record<string, unknown>> = {}): Record<string, any> {
  const W = (globalThis as any).WebAssembly
  return new W.Instance(new W.Module(bytes), imports).exports
}
