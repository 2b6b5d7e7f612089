import { createRequire, syncBuiltinESMExports } from 'node:module'

/**
 * While a simulation runs actor code, the host's clock, timers and randomness are off limits: an
 * actor that calls `setTimeout`, `Date.now()` or `Math.random()` makes the run depend on something
 * the seed does not decide. The guard wraps those globals (and `node:crypto`'s random functions,
 * `process.hrtime`) for the duration of a driver call and reports each call made from user code;
 * when a reporter answers with an error, the call throws it at the call site (ERR_SIM_ESCAPE naming
 * the actor), so the ambient value never reaches the program. Calls from libraries (`node_modules`, `node:` internals: a test runner's console, a
 * logger's timestamp) are let through: they do not feed back into the actors.
 *
 * One guard serves every simulation in the process (they may be driven concurrently): the globals
 * are wrapped while at least one is active, and a call is reported to each active one.
 */

type Reporter = (api: string, caller: string | null) => Error | void

const nodeCrypto = createRequire(import.meta.url)('node:crypto') as Record<string, unknown>

interface Patch {
  readonly target: Record<string, unknown>
  readonly key: string
  readonly api: string
  descriptor: PropertyDescriptor | undefined
}

/** The real host functions, captured at load time; the simulator itself uses these. */
export const hostSetImmediate: typeof setImmediate = globalThis.setImmediate

const active = new Set<Reporter>()
let patches: Patch[] | null = null

function targets(): Patch[] {
  const out: Patch[] = []
  const add = (target: object | undefined, key: string, api: string): void => {
    if (target === undefined || typeof (target as Record<string, unknown>)[key] !== 'function') return
    // A frozen property (node:crypto's getRandomValues is) cannot be wrapped; its twin on globalThis.crypto is.
    if (Object.getOwnPropertyDescriptor(target, key)?.configurable === false) return
    out.push({ target: target as Record<string, unknown>, key, api, descriptor: undefined })
  }
  add(globalThis, 'setTimeout', 'setTimeout')
  add(globalThis, 'setInterval', 'setInterval')
  add(globalThis, 'setImmediate', 'setImmediate')
  add(globalThis, 'fetch', 'fetch')
  add(Date, 'now', 'Date.now')
  add(Math, 'random', 'Math.random')
  add(globalThis.performance, 'now', 'performance.now')
  add(globalThis.crypto, 'randomUUID', 'crypto.randomUUID')
  add(globalThis.crypto, 'getRandomValues', 'crypto.getRandomValues')
  for (const key of ['randomUUID', 'randomBytes', 'randomInt', 'randomFillSync', 'randomFill', 'getRandomValues']) add(nodeCrypto, key, `node:crypto.${key}`)
  // bigint lives on the hrtime function: patch it first, and carry it over to hrtime's wrapper.
  add(process.hrtime, 'bigint', 'process.hrtime.bigint')
  add(process, 'hrtime', 'process.hrtime')
  return out
}

/** The first stack frame outside this file, or null when the caller is a library or Node itself. */
function userCaller(): string | null | undefined {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 6
  const stack = new Error().stack ?? ''
  Error.stackTraceLimit = limit
  const frames = stack.split('\n').slice(1)
  // frames[0] is this function, frames[1] the wrapper below; frames[2] called the guarded function.
  const caller = frames[2]
  if (caller === undefined) return undefined
  if (/node_modules|\(node:|at node:/.test(caller)) return null
  return caller.trim().replace(/^at /, '')
}

function install(): void {
  patches = targets()
  for (const patch of patches) {
    const original = patch.target[patch.key] as (...args: unknown[]) => unknown
    patch.descriptor = Object.getOwnPropertyDescriptor(patch.target, patch.key)
    const api = patch.api
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      const caller = userCaller()
      if (caller !== null) {
        let escape: Error | undefined
        for (const report of [...active]) escape ??= report(api, caller ?? null) ?? undefined
        if (escape !== undefined) throw escape
      }
      return original.apply(this, args)
    }
    if (patch.api === 'process.hrtime') (wrapper as unknown as Record<string, unknown>)['bigint'] = (original as unknown as Record<string, unknown>)['bigint']
    Object.defineProperty(patch.target, patch.key, { value: wrapper, writable: true, configurable: true, enumerable: patch.descriptor?.enumerable ?? false })
  }
  // ESM named imports of node:crypto (`import { randomUUID } from 'node:crypto'`) see the wrappers.
  syncBuiltinESMExports()
}

function uninstall(): void {
  for (const patch of patches ?? []) {
    if (patch.descriptor === undefined) delete patch.target[patch.key]
    else Object.defineProperty(patch.target, patch.key, patch.descriptor)
  }
  patches = null
  syncBuiltinESMExports()
}

/** Starts reporting ambient calls to `report`; returns the function that stops it. */
export function guardAmbient(report: Reporter): () => void {
  active.add(report)
  if (patches === null) install()
  return () => {
    if (!active.delete(report)) return
    if (active.size === 0) uninstall()
  }
}
