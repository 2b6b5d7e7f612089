/**
 * A small linearizability checker (Wing & Gong's search with Lowe's memoisation, as in Porcupine and
 * Knossos): a history of operations with invocation and response times is linearizable when some
 * total order respects real time (an operation that returned before another was invoked comes
 * first) and replays correctly on a sequential model. Operations that never returned (a crash, a
 * timeout) may have taken effect or not: pass `ret: Infinity`, and the search may place them
 * anywhere after their call, or drop them when they had no visible effect.
 */
export interface Operation<I, O> {
  readonly call: number
  /** Infinity: no response was seen (the operation may or may not have happened). */
  readonly ret: number
  readonly input: I
  /** Ignored for operations without a response. */
  readonly output: O | undefined
}

export interface Model<S, I, O> {
  readonly init: S
  /** Applies `input` to `state`: the new state and whether `output` is what a sequential object would answer. Pure. */
  step(state: S, input: I, output: O | undefined, responded: boolean): { readonly ok: boolean; readonly state: S }
  /** A canonical string of a state (memoisation key). */
  key(state: S): string
}

export interface LinearizabilityResult {
  readonly ok: boolean
  /** Operations explored before deciding (a measure of the search). */
  readonly explored: number
  /** The longest linearizable prefix found, as indexes into the history (for diagnosis). */
  readonly longestPrefix: readonly number[]
}

/** Checks one history (one key; partition independent keys first, as Porcupine does). */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], maxExplored = 1_000_000): LinearizabilityResult {
  const n = history.length
  const done = new Uint8Array(n)
  const seen = new Set<string>()
  let explored = 0
  let best: number[] = []
  const order: number[] = []
  // Unanswered operations need not be linearized at all: the history is complete once every answered one is.
  const answered = history.filter((o) => o.ret !== Infinity).length
  let answeredDone = 0

  const search = (state: S): boolean => {
    if (answeredDone === answered) return true
    if (++explored > maxExplored) throw new RangeError(`linearizability search exceeded ${maxExplored} steps`)
    const memo = `${model.key(state)}|${Array.from(done).join('')}`
    if (seen.has(memo)) return false
    seen.add(memo)
    // Minimal operations: not done, and invoked before every pending operation's response.
    let horizon = Infinity
    for (let i = 0; i < n; i++) if (done[i] === 0) horizon = Math.min(horizon, (history[i] as Operation<I, O>).ret)
    for (let i = 0; i < n; i++) {
      const op = history[i] as Operation<I, O>
      if (done[i] === 1 || op.call > horizon) continue
      const responded = op.ret !== Infinity
      const r = model.step(state, op.input, op.output, responded)
      if (!r.ok) continue
      done[i] = 1
      order.push(i)
      if (responded) answeredDone++
      if (order.length > best.length) best = [...order]
      if (search(r.state)) return true
      if (responded) answeredDone--
      order.pop()
      done[i] = 0
    }
    return false
  }
  const ok = search(model.init)
  return { ok, explored, longestPrefix: best }
}

/** Registry operations on one key, for `registryModel`. */
export type RegistryInput =
  | { readonly op: 'register'; readonly ref: string; readonly unique: boolean }
  | { readonly op: 'unregister'; readonly ref: string }
  | { readonly op: 'lookup' }

/** register/unregister answer ok or a conflict code; lookup answers the sorted refs. */
export type RegistryOutput = { readonly ok: true } | { readonly ok: false; readonly code: string } | { readonly refs: readonly string[] }

interface RegistryState {
  readonly refs: readonly string[]
  readonly unique: boolean
}

/** The sequential specification of one registry key (the cluster state machine's rules). */
export const registryModel: Model<RegistryState, RegistryInput, RegistryOutput> = {
  init: { refs: [], unique: false },
  key: (s) => `${s.unique ? 'u' : 'm'}:${s.refs.join(',')}`,
  step(s, input, output, responded) {
    let next = s
    let expected: RegistryOutput
    if (input.op === 'lookup') expected = { refs: s.refs }
    else if (input.op === 'unregister') {
      const refs = s.refs.filter((r) => r !== input.ref)
      next = { refs, unique: refs.length === 0 ? false : s.unique }
      expected = { ok: true }
    } else if (s.refs.includes(input.ref)) {
      if (input.unique && s.refs.length > 1) expected = { ok: false, code: 'ERR_CLUSTER_NAME_CONFLICT' }
      else {
        next = input.unique ? { refs: s.refs, unique: true } : s
        expected = { ok: true }
      }
    } else if (s.refs.length > 0 && (input.unique || s.unique)) expected = { ok: false, code: 'ERR_CLUSTER_NAME_CONFLICT' }
    else {
      next = { refs: [...s.refs, input.ref].sort(), unique: s.unique || input.unique }
      expected = { ok: true }
    }
    if (!responded) return { ok: true, state: next }
    return { ok: JSON.stringify(expected) === JSON.stringify(output), state: next }
  },
}
