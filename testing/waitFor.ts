/**
 * Waits until `condition` holds, checking after every turn of the event loop, and fails with
 * `message` after `timeoutMs` of real time. For tests: no fixed sleeps, only deadlines.
 */
export async function waitFor(condition: () => boolean, options: { timeoutMs?: number; message?: string } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(options.message ?? `condition not met within ${timeoutMs} ms`)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}

/** Lets every queued microtask and macrotask run (a few event-loop turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * Polls an async probe (an ask, say) until its value satisfies `accept`; returns that value.
 * Fails after `timeoutMs` of real time with the last value seen.
 */
export async function waitForValue<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, options: { timeoutMs?: number } = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (accept(value)) return value
    if (performance.now() > deadline) throw new Error(`value not accepted within ${timeoutMs} ms; last: ${JSON.stringify(value)}`)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}
