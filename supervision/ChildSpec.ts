import type { Actor, ActorClass, ActorRef, Directive, ProtocolOf, SpawnOptionsBase } from '../runtime/index.ts'
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

/**
 * Delayed restarts, as Pekko's backoff: restart `n` (from 0) waits
 * `min(maxMs, minMs * 2^n) * (1 + randomFactor * random())`: the random factor applies after the cap.
 */
export interface BackoffOptions {
  readonly minMs: number
  readonly maxMs: number
  /** Fraction in [0, 1]; 0.2 adds up to 20 % to each delay so restarts of many children spread out. Default 0. */
  readonly randomFactor?: number
  /** After running this long without failing, the next restart starts from `minMs` again. Default `(minMs + maxMs) / 2`. */
  readonly resetAfterMs?: number
}

/** What a start function returns: the child it spawned (optionally with extra info), or `'ignore'` (OTP's `ignore`). */
export type StartResult = ActorRef<any> | { readonly ref: ActorRef<any>; readonly info?: unknown } | 'ignore'

type ArgsOf<C> = C extends new (...args: infer A) => any ? A : never

/** Spawns the child, named after its id, under the supervisor; resolves once its preStart has completed. */
export type ChildSpawner = <C extends ActorClass<Actor<any>, any[]>>(
  actorClass: C,
  options?: Omit<SpawnOptionsBase, 'name'> & { readonly args?: ArgsOf<C> },
) => Promise<ActorRef<ProtocolOf<InstanceType<C>>>>

/** OTP's start function: decides at start time whether and how the child starts. */
export type StartFunction = (spawn: ChildSpawner) => StartResult | Promise<StartResult>

/** Fields every child spec has, however it starts. */
export interface ChildSpecBase {
  /** Unique among the supervisor's children; also the child's actor name (path segment). */
  readonly id: string
  readonly restart?: RestartType
  /** Default: 5000 ms for a worker, `infinity` for a supervisor. */
  readonly shutdown?: Shutdown
  /** Default: `supervisor` when the class extends a supervisor, else `worker`. */
  readonly kind?: ChildKind
  /** With the supervisor's `autoShutdown`, this child's exit can end the supervisor. */
  readonly significant?: boolean
  readonly backoff?: BackoffOptions
  /** Chooses the directive per failure; default `restart`. */
  readonly decider?: (error: Error) => Directive
  /**
   * Whether an in-place restart stops the child's own children (default true). `false` keeps them
   * under the new instance, as Akka typed's `withStopChildren(false)`.
   */
  readonly stopChildren?: boolean
  /** Mailbox, registered name and other spawn options (the name is the id). */
  readonly spawn?: Omit<SpawnOptionsBase, 'name'>
}

/** One child of a supervisor started from an actor class; `args` is type-checked against its constructor. */
export type ChildSpec<C extends ActorClass<Actor<any>, any[]> = ActorClass<Actor<any>, any[]>> = ChildSpecBase & {
  readonly actor: C
  readonly start?: never
} & (ArgsOf<C> extends [] ? { readonly args?: [] } : { readonly args: ArgsOf<C> })

/** One child started by a function (OTP's `start` MFA): it may return `'ignore'` or extra info. */
export type FunctionChildSpec = ChildSpecBase & { readonly start: StartFunction; readonly actor?: never; readonly args?: never }

/** Any child spec, as collections hold them; `childSpec()` is where each one's `args` are checked. */
export type AnyChildSpec = ChildSpecBase & {
  readonly actor?: ActorClass<Actor<any>, any[]>
  readonly args?: readonly unknown[]
  readonly start?: StartFunction
}

/** Builds a child spec with its constructor arguments checked against the class. */
export function childSpec<C extends ActorClass<Actor<any>, any[]>>(spec: ChildSpec<C>): ChildSpec<C>
export function childSpec(spec: FunctionChildSpec): FunctionChildSpec
export function childSpec(spec: AnyChildSpec): AnyChildSpec {
  return spec
}

const ID_PATTERN = /^[A-Za-z0-9_\-.~:@+=]+$/
const RESTART_TYPES: ReadonlySet<unknown> = new Set(['permanent', 'transient', 'temporary'])
const KINDS: ReadonlySet<unknown> = new Set(['worker', 'supervisor'])

/** Every problem OTP (or Troupe) would reject this spec for; empty when it is valid. */
export function childSpecProblems(spec: unknown): string[] {
  if (typeof spec !== 'object' || spec === null) return ['a child spec must be an object']
  const s = spec as AnyChildSpec
  const problems: string[] = []
  const name = typeof s.id === 'string' ? `child '${s.id}'` : 'a child'
  if (s.id === undefined) problems.push('a child spec has no id')
  else if (typeof s.id !== 'string' || !ID_PATTERN.test(s.id)) problems.push(`child id '${String(s.id)}' must be a valid actor name (letters, digits, _-.~:@+=)`)
  const hasActor = s.actor !== undefined
  const hasStart = s.start !== undefined
  if (!hasActor && !hasStart) problems.push(`${name} has no actor class and no start function`)
  if (hasActor && hasStart) problems.push(`${name} has both an actor class and a start function`)
  if (hasActor && typeof s.actor !== 'function') problems.push(`${name}: actor must be an actor class`)
  if (hasStart && typeof s.start !== 'function') problems.push(`${name}: start must be a function`)
  if (s.args !== undefined && !Array.isArray(s.args)) problems.push(`${name}: args must be an array`)
  if (s.restart !== undefined && !RESTART_TYPES.has(s.restart)) problems.push(`${name}: unknown restart type '${String(s.restart)}'`)
  if (s.kind !== undefined && !KINDS.has(s.kind)) problems.push(`${name}: unknown kind '${String(s.kind)}'`)
  const shutdown = s.shutdown
  if (shutdown !== undefined && shutdown !== 'brutal' && shutdown !== 'infinity' && !(typeof shutdown === 'number' && shutdown >= 0 && Number.isFinite(shutdown))) {
    problems.push(`${name}: shutdown must be >= 0 ms, 'brutal' or 'infinity'`)
  }
  if (s.significant === true && (s.restart ?? 'permanent') === 'permanent') {
    // OTP forbids it: a permanent child is always restarted, so its exit could never end the supervisor.
    problems.push(`${name}: a significant child must be transient or temporary`)
  }
  const backoff = s.backoff
  if (backoff !== undefined) {
    if (!(backoff.minMs > 0) || !(backoff.maxMs >= backoff.minMs) || !Number.isFinite(backoff.maxMs)) problems.push(`${name}: backoff needs 0 < minMs <= maxMs (finite)`)
    const factor = backoff.randomFactor ?? 0
    if (!(factor >= 0 && factor <= 1)) problems.push(`${name}: backoff randomFactor must be in [0, 1]`)
    if (backoff.resetAfterMs !== undefined && !(backoff.resetAfterMs > 0)) problems.push(`${name}: backoff resetAfterMs must be > 0`)
  }
  return problems
}

/** Throws InvalidChildSpecError listing every problem of a spec OTP would reject. */
export function validateChildSpec(spec: AnyChildSpec): void {
  const problems = childSpecProblems(spec)
  if (problems.length > 0) throw new InvalidChildSpecError(problems.join('; '), { data: { problems } })
}
