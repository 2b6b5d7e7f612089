import { formatAddress, type ActorRef, type ExitReason, type TimerHandle } from '../runtime/index.ts'
import type { AnyChildSpec, ChildKind, RestartType } from './ChildSpec.ts'

/** A child as `whichChildren` reports it. */
export interface ChildInfo {
  readonly id: string
  /** Null while the child is not running (terminated, ignored, or waiting to be started again). */
  readonly ref: ActorRef<any> | null
  /** `restarting` covers a backoff wait and a restart loop whose attempts keep failing. */
  readonly status: 'starting' | 'running' | 'restarting' | 'terminated'
  readonly kind: ChildKind
  readonly restart: RestartType
  readonly significant: boolean
  readonly restarts: number
}

/** OTP's `count_children`. */
export interface ChildCounts {
  /** Child specs: one per static child; always 1 for a dynamic pool (its template), as OTP. */
  readonly specs: number
  readonly active: number
  readonly supervisors: number
  readonly workers: number
}

/** @internal The supervisor's record of one child. */
export interface ChildState {
  /** For a temporary child, replaced once it has started by a copy without `args` (OTP does not keep them). */
  spec: AnyChildSpec
  readonly kind: ChildKind
  ref: ActorRef<any> | null
  status: ChildInfo['status']
  restarts: number
  /** Bumped at every (re)start and by `terminateChild`: a restart decided for an older incarnation is dropped. */
  generation: number
  /** Set while the supervisor itself is stopping or restarting the child, so its exit is not a surprise. */
  expectingExit: boolean
  /** A start (first or new incarnation) is in progress: a failure now is decided once it completes. */
  inStart: boolean
  /** The actor being started, before its start completes (so a shutdown can stop it). */
  startingRef: ActorRef<any> | null
  /** Phase one of an in-place restart is done; the instance waits for `completeRestart`. */
  held: boolean
  /** Siblings left held because this child's restart failed; they start once it comes back. */
  waiting: ChildState[]
  backoffAttempt: number
  backoffTimer: TimerHandle | null
  startedAt: number
  /** A failure that arrived while the child was being (re)started; handled once the start completes. */
  pendingFailure: Error | null
  /** An exit absorbed by a queued group restart; decided again if it happened after that restart reached the child. */
  coveredExit: { readonly reason: ExitReason; readonly error: Error | null } | null
  /** Key of the last ref in the table's ref index (kept while restarting, so the old ref still finds it). */
  refKey: unknown
  /** Key of the incarnation being started, until it has. */
  startingKey: unknown
}

export function newState(spec: AnyChildSpec, kind: ChildKind): ChildState {
  return {
    spec,
    kind,
    ref: null,
    status: 'terminated',
    restarts: 0,
    generation: 0,
    expectingExit: false,
    inStart: false,
    startingRef: null,
    held: false,
    waiting: [],
    backoffAttempt: 0,
    backoffTimer: null,
    startedAt: 0,
    pendingFailure: null,
    coveredExit: null,
    refKey: undefined,
    startingKey: undefined,
  }
}

/** A local ref's key is its cell (no string built); a remote one's is its formatted address. */
function keyOf(ref: ActorRef<any>): unknown {
  return ref.cell ?? formatAddress(ref.address)
}

/**
 * A supervisor's children in start order, indexed by id and by ref: add, remove and both lookups
 * are O(1), so a dynamic pool of 100,000 children terminates each one in constant time. A Map keeps
 * insertion order, which is the start order.
 */
export class ChildTable {
  private readonly byId = new Map<string, ChildState>()
  private readonly byRef = new Map<unknown, ChildState>()

  get size(): number {
    return this.byId.size
  }

  add(state: ChildState): void {
    this.byId.set(state.spec.id, state)
  }

  remove(state: ChildState): void {
    if (this.byId.get(state.spec.id) === state) this.byId.delete(state.spec.id)
    this.unindex(state)
  }

  has(state: ChildState): boolean {
    return this.byId.get(state.spec.id) === state
  }

  get(id: string): ChildState | undefined {
    return this.byId.get(id)
  }

  /** The child that has (or last had, while it restarts) this ref. */
  ofRef(ref: ActorRef<any>): ChildState | undefined {
    return this.byRef.get(keyOf(ref))
  }

  /** The child whose current incarnation (running, or still in its start) is `ref`. */
  liveOf(ref: ActorRef<any>): ChildState | undefined {
    const state = this.byRef.get(keyOf(ref))
    if (state === undefined) return undefined
    if (state.ref !== null && state.ref.equals(ref)) return state
    return state.startingRef !== null && state.startingRef.equals(ref) ? state : undefined
  }

  /** Records the child's new incarnation; the old ref no longer finds it. */
  setRef(state: ChildState, ref: ActorRef<any>): void {
    state.ref = ref
    const key = keyOf(ref)
    if (state.startingKey === key) state.startingKey = undefined
    if (state.refKey === key) return
    if (state.refKey !== undefined && this.byRef.get(state.refKey) === state) this.byRef.delete(state.refKey)
    state.refKey = key
    this.byRef.set(key, state)
  }

  /**
   * Indexes an incarnation that is still starting (its failures and exits must find the child),
   * beside the last one: until it has started, the ref the caller knows still finds the child.
   */
  indexStarting(state: ChildState, ref: ActorRef<any>): void {
    this.unindexStarting(state)
    const key = keyOf(ref)
    if (key === state.refKey) return
    state.startingKey = key
    this.byRef.set(key, state)
  }

  /** A start that failed: its actor is gone, only the last ref keeps finding the child. */
  unindexStarting(state: ChildState): void {
    if (state.startingKey !== undefined && this.byRef.get(state.startingKey) === state) this.byRef.delete(state.startingKey)
    state.startingKey = undefined
  }

  private unindex(state: ChildState): void {
    this.unindexStarting(state)
    if (state.refKey !== undefined && this.byRef.get(state.refKey) === state) this.byRef.delete(state.refKey)
    state.refKey = undefined
  }

  values(): IterableIterator<ChildState> {
    return this.byId.values()
  }

  toArray(): ChildState[] {
    return [...this.byId.values()]
  }

  /** `state` and every child started after it, in start order (rest_for_one's scope). */
  from(state: ChildState): ChildState[] {
    const out: ChildState[] = []
    let found = false
    for (const s of this.byId.values()) {
      if (s === state) found = true
      if (found) out.push(s)
    }
    return found ? out : [state]
  }
}
