import type { Actor, ActorClass, Directive, SpawnOptionsBase } from '../runtime/index.ts'
import { InvalidChildSpecError } from './errors.ts'

/** OTP restart types: when a child that stopped is started again. */
export type RestartType =
  /** Always restarted, whatever the exit reason. */
  | 'permanent'
  /** Restarted only after an abnormal exit (not `normal` or `shutdown`). */
  | 'transient'
  /** Never restarted; its spec is removed when it stops. */
  | 'temporary'

/** How a child is stopped: killed at once, given this many ms, or waited for without limit. */
export type Shutdown = 'brutal' | 'infinity' | number

export type ChildKind = 'worker' | 'supervisor'

/** Delayed restarts: exponential from `minMs` to `maxMs`, plus up to `jitter` × delay at random. */
export interface BackoffOptions {
  readonly minMs: number
  readonly maxMs: number
  /** Fraction in [0, 1]; 0.2 adds up to 20 % to each delay so restarts of many children spread out. */
  readonly jitter?: number
  /** After running this long without failing, the next restart starts from `minMs` again. Default: `maxMs`. */
  readonly resetAfterMs?: number
}

type ArgsOf<C> = C extends new (...args: infer A) => any ? A : never

/** One child of a supervisor. `args` is type-checked against the actor class's constructor. */
export type ChildSpec<C extends ActorClass<Actor<any>, any[]> = ActorClass<Actor<any>, any[]>> = {
  /** Unique among the supervisor's children; also the child's actor name (path segment). */
  readonly id: string
  readonly actor: C
  readonly restart?: RestartType
  /** Default: 5000 ms for a worker, `infinity` for a supervisor. */
  readonly shutdown?: Shutdown
  /** Default: `supervisor` when the class extends Supervisor, else `worker`. */
  readonly kind?: ChildKind
  /** With the supervisor's `autoShutdown`, this child's exit can end the supervisor. */
  readonly significant?: boolean
  readonly backoff?: BackoffOptions
  /** Chooses the directive per failure; default `restart`. */
  readonly decider?: (error: Error) => Directive
  /** Mailbox, registered name and other spawn options (the name is the id). */
  readonly spawn?: Omit<SpawnOptionsBase, 'name'>
} & (ArgsOf<C> extends [] ? { readonly args?: [] } : { readonly args: ArgsOf<C> })

/** Any child spec, as collections hold them; `childSpec()` is where each one's `args` are checked. */
export type AnyChildSpec = Omit<ChildSpec, 'args'> & { readonly args?: readonly unknown[] }

/** Builds a child spec with its constructor arguments checked against the class. */
export function childSpec<C extends ActorClass<Actor<any>, any[]>>(spec: ChildSpec<C>): ChildSpec<C> {
  return spec
}

const ID_PATTERN = /^[A-Za-z0-9_\-.~:@+=]+$/

/** Throws InvalidChildSpecError for a spec OTP would reject. */
export function validateChildSpec(spec: AnyChildSpec): void {
  if (typeof spec.id !== 'string' || !ID_PATTERN.test(spec.id)) {
    throw new InvalidChildSpecError(`child id '${String(spec.id)}' must be a valid actor name (letters, digits, _-.~:@+=)`)
  }
  if (typeof spec.actor !== 'function') throw new InvalidChildSpecError(`child '${spec.id}' has no actor class`)
  const shutdown = spec.shutdown
  if (typeof shutdown === 'number' && !(shutdown >= 0)) {
    throw new InvalidChildSpecError(`child '${spec.id}': shutdown must be >= 0 ms, 'brutal' or 'infinity'`)
  }
  if (spec.significant === true && (spec.restart ?? 'permanent') === 'permanent') {
    // OTP forbids it: a permanent child is always restarted, so its exit could never end the supervisor.
    throw new InvalidChildSpecError(`child '${spec.id}': a significant child must be transient or temporary`)
  }
  const backoff = spec.backoff
  if (backoff !== undefined) {
    if (!(backoff.minMs > 0) || !(backoff.maxMs >= backoff.minMs)) {
      throw new InvalidChildSpecError(`child '${spec.id}': backoff needs 0 < minMs <= maxMs`)
    }
    const jitter = backoff.jitter ?? 0
    if (!(jitter >= 0 && jitter <= 1)) throw new InvalidChildSpecError(`child '${spec.id}': backoff jitter must be in [0, 1]`)
  }
}
