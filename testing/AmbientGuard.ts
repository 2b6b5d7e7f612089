/**
 * While a simulation runs actor code, the host's clock, timers and randomness are off limits: an
 * actor that calls `setTimeout`, `Date.now()` or `Math.random()` makes the run depend on something
 * the seed does not decide. The guard wraps those globals for the duration of a driver call and
 * reports each call made from user code; the simulation fails with ERR_SIM_ESCAPE naming the
 * actor. Calls from libraries (`node_modules`, `node:` internals: a test runner's console, a
 * logger's timestamp) are let through: they do not feed back into the actors.
 *
 * One guard serves every simulation in the process (they may be driven concurrently): the globals
 * are wrapped while at least one is active, and a call is reported to each active one.
 */

type Reporter = (api: string, caller: string | null) => void

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
      if (caller !== null) for (const report of [...active]) report(api, caller ?? null)
      return original.apply(this, args)
    }
    Object.defineProperty(patch.target, patch.key, { value: wrapper, writable: true, configurable: true, enumerable: patch.descriptor?.enumerable ?? false })
  }
}

function uninstall(): void {
  for (const patch of patches ?? []) {
    if (patch.descriptor === undefined) delete patch.target[patch.key]
    else Object.defineProperty(patch.target, patch.key, patch.descriptor)
  }
  patches = null
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
