import { afterEach } from 'vitest'
import { ActorSystem, type ActorSystemOptions, type DeadLetter, type Terminated } from '../../../../runtime/index.ts'

/** One turn of the host event loop: lets the dispatcher (microtasks, then setImmediate slices) run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Waits until `condition` holds, yielding to the event loop between checks; fails with `what` once
 * `timeoutMs` of real time has passed. Used instead of sleeps: it returns as soon as the state is there.
 */
export async function waitFor(condition: () => boolean, what = 'condition', timeoutMs = 4000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await tick()
  }
}

/** Lets the dispatcher run until it has nothing left to do: a few quiet event-loop turns. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await tick()
}

/** A promise with its resolve/reject exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Tracks whether a promise has settled, and how, without awaiting it. */
export function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false }
  promise.then(
    (value) => {
      state.settled = true
      state.value = value
    },
    (error: unknown) => {
      state.settled = true
      state.error = error
    },
  )
  return state
}

/**
 * Registers an afterEach that terminates every system the returned factory created, so a failing
 * test does not leak actors into the next one. Call once at the top of a test file.
 */
export function useSystems(): (options?: Partial<ActorSystemOptions>) => ActorSystem {
  const systems: ActorSystem[] = []
  let counter = 0
  afterEach(async () => {
    await Promise.all(systems.splice(0).map((system) => system.terminate()))
  })
  return (options = {}) => {
    const system = ActorSystem.create({ name: `test-${++counter}`, ...options })
    systems.push(system)
    return system
  }
}

/** Collects every dead letter of a system from now on. */
export function collectDeadLetters(system: ActorSystem): DeadLetter[] {
  const letters: DeadLetter[] = []
  system.deadLetters.subscribe((letter) => letters.push(letter))
  return letters
}

/** The shape of a Terminated for assertions: the path and the reason's kind. */
export function describeTerminated(terminated: Terminated): { path: string; kind: string } {
  return { path: terminated.ref.path, kind: terminated.reason.kind }
}
