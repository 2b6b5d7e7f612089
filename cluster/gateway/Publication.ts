import { InvalidArgumentError, RESERVED_METHODS, type MethodArgs, type MethodName } from '../../runtime/index.ts'
import { InvalidArgsError } from './errors.ts'
import { isStandardSchema, plainIssues, type ArgsIssue, type StandardIssue, type StandardResult, type StandardSchema } from './StandardSchema.ts'

/**
 * What may be called on a published actor from outside. Publication is default-deny: only the
 * methods listed are callable, and the list is required.
 *
 * `M` is inferred from `methods` and checked against the ref's protocol `P` (TypeScript-private
 * members and lifecycle hooks are not in `P`, so they cannot be listed).
 */
export interface PublishOptions<P = any, M extends MethodName<P> = MethodName<P>> {
  /** The only methods callable from outside (at least one). */
  readonly methods: readonly M[]
  /**
   * Per-method Standard Schema (zod, valibot, arktype, …) for the argument tuple, e.g.
   * `{ transfer: z.tuple([TransferRequest]) }`. A call whose arguments it refuses gets
   * ERR_INVALID_ARGS with the schema's issues and never reaches the actor; the actor receives the
   * schema's output (coerced values included). Its output must fit the method's parameters.
   */
  readonly args?: { readonly [K in NoInfer<M>]?: StandardSchema<unknown, MethodArgs<P, K & keyof P>> }
  /**
   * Methods that accept 64-bit integers as BigInt (msgpack int64/uint64, as decoded). For every
   * other method a 64-bit integer within ±(2^53−1) becomes a number and a larger one is refused
   * with ERR_INVALID_ARGS instead of reaching the handler.
   */
  readonly bigint?: readonly NoInfer<M>[]
}

/** A publication's rules, checked once at publish time. */
export interface Publication {
  readonly methods: ReadonlySet<string>
  readonly schemas: ReadonlyMap<string, StandardSchema>
  readonly bigint: ReadonlySet<string>
}

/** Checks options from any caller (JavaScript included): throws ERR_INVALID_ARGUMENT on a mistake. */
export function compilePublication(options: unknown): Publication {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError("publish needs options with the methods to expose: { methods: ['…'] } (publication is default-deny)")
  }
  const { methods, args, bigint } = options as { methods?: unknown; args?: unknown; bigint?: unknown }
  if (!Array.isArray(methods) || methods.length === 0) {
    throw new InvalidArgumentError("publish needs a non-empty 'methods' list: only the methods listed are callable from outside")
  }
  const allowed = new Set<string>()
  for (const method of methods as unknown[]) {
    if (typeof method !== 'string' || method.length === 0) throw new InvalidArgumentError(`published method names must be non-empty strings, got ${String(method)}`)
    if (RESERVED_METHODS.has(method)) throw new InvalidArgumentError(`'${method}' is not a handler and cannot be published`)
    allowed.add(method)
  }
  const listed = (what: string, name: string): string => {
    if (!allowed.has(name)) throw new InvalidArgumentError(`${what} names '${name}', which is not in 'methods'`)
    return name
  }
  const schemas = new Map<string, StandardSchema>()
  if (args !== undefined) {
    if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new InvalidArgumentError("'args' must be an object of Standard Schemas by method name")
    for (const [method, schema] of Object.entries(args)) {
      if (schema === undefined) continue
      if (!isStandardSchema(schema)) throw new InvalidArgumentError(`'args.${method}' is not a Standard Schema (v1 '~standard' interface)`)
      schemas.set(listed("'args'", method), schema)
    }
  }
  const big = new Set<string>()
  if (bigint !== undefined) {
    if (!Array.isArray(bigint)) throw new InvalidArgumentError("'bigint' must be a list of method names")
    for (const method of bigint as unknown[]) big.add(listed("'bigint'", String(method)))
  }
  return { methods: allowed, schemas, bigint: big }
}

/** The arguments the actor receives, or the refusal. A promise only when the schema is async. */
export type ArgsVerdict = unknown[] | InvalidArgsError

/**
 * Everything checked about a call's arguments before the actor sees them: integers beyond 2^53
 * (unless the method declares `bigint`), then the method's schema if it has one.
 */
export function checkArgs(publication: Publication, method: string, args: unknown[]): ArgsVerdict | Promise<ArgsVerdict> {
  const unsafe = checkIntegers(args, publication.bigint.has(method))
  if (unsafe !== null) return invalid(method, [unsafe])
  const schema = publication.schemas.get(method)
  if (schema === undefined) return args
  let result: StandardResult<unknown> | Promise<StandardResult<unknown>>
  try {
    result = schema['~standard'].validate(args)
  } catch (error) {
    return validatorFailed(method, error)
  }
  if (result instanceof Promise) {
    return result.then(
      (settled) => verdictOf(method, settled),
      (error: unknown) => validatorFailed(method, error),
    )
  }
  return verdictOf(method, result)
}

function verdictOf(method: string, result: StandardResult<unknown>): ArgsVerdict {
  if (result.issues !== undefined) return invalid(method, plainIssues(result.issues as readonly StandardIssue[]))
  const value = (result as { value: unknown }).value
  // Typed publishers cannot get here; an untyped schema that yields no tuple must still not reach the actor.
  if (!Array.isArray(value)) return invalid(method, [{ message: `the schema for '${method}' did not produce an argument list` }])
  return value
}

function validatorFailed(method: string, error: unknown): InvalidArgsError {
  return invalid(method, [{ message: `the validator failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300) }])
}

function invalid(method: string, issues: ArgsIssue[]): InvalidArgsError {
  const first = issues[0]
  const where = first?.path === undefined ? '' : ` at ${first.path.join('.')}`
  return new InvalidArgsError(`invalid arguments for '${method}'${where}: ${first?.message ?? 'invalid'}`, { data: { method, issues } })
}

/**
 * Deepest nesting of containers an argument may have. A node frame wraps arguments in three levels
 * (its tables, the argument list, the call's arguments) and the receiving codec refuses frames nested
 * deeper than 64 (CodecOptions.maxDepth), which would drop the whole frame, other callers' messages
 * included. So the gateway refuses deeper arguments itself, for JSON and msgpack alike.
 */
export const MAX_ARG_DEPTH = 60

/** Largest integer magnitude a double holds exactly. */
const SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * Walks the decoded arguments once (iteratively), refusing nesting past MAX_ARG_DEPTH. Without `bigint`,
 * a BigInt (what the msgpack decoder yields for a 64-bit integer) within the safe range becomes a
 * number, since writers may use int64 for small values, and a larger one is refused. With `bigint`
 * the method gets BigInts as decoded. A number that is an integer beyond the safe range may have
 * lost precision on the way (JSON has no int64), so it is refused in every case.
 */
function checkIntegers(args: unknown[], bigint: boolean): ArgsIssue | null {
  // Each frame links to its parent, so the path is built only for the refusal (linear time).
  const stack: Frame[] = [{ value: args as never, parent: null, key: 0, depth: 0 }]
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const container = top.value
    const array = Array.isArray(container)
    const keys: readonly (string | number)[] = array ? [] : Object.keys(container)
    const length = array ? (container as unknown[]).length : keys.length
    for (let i = 0; i < length; i++) {
      const key = array ? i : (keys[i] as string)
      const value = container[key]
      if (typeof value === 'bigint') {
        if (bigint) continue
        if (value >= -SAFE && value <= SAFE) container[key] = Number(value)
        else return { message: 'integer beyond ±(2^53−1): declare the method in `bigint` at publication to accept it as BigInt', path: pathOf(top, key) }
      } else if (typeof value === 'number') {
        if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
          return { message: 'integer beyond ±(2^53−1) as a number may have lost precision: send it as a msgpack int64 (to a method declared `bigint`) or as a string', path: pathOf(top, key) }
        }
      } else if (typeof value === 'object' && value !== null && (Array.isArray(value) || isPlainObject(value))) {
        if (top.depth + 1 > MAX_ARG_DEPTH) {
          return { message: `arguments nest deeper than ${MAX_ARG_DEPTH} levels (a frame between nodes would be refused)`, path: pathOf(top, key) }
        }
        stack.push({ value: value as never, parent: top, key, depth: top.depth + 1 })
      }
    }
  }
  return null
}

interface Frame {
  readonly value: Record<string | number, unknown>
  readonly parent: Frame | null
  readonly key: string | number
  /** Containers above this one within the argument list (the list itself is 0). */
  readonly depth: number
}

function pathOf(frame: Frame, key: string | number): (string | number)[] {
  const path = [key]
  for (let at: Frame | null = frame; at !== null && at.parent !== null; at = at.parent) path.push(at.key)
  return path.reverse()
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A type-level helper: the names `publish` accepts for a ref typed `ActorRef<P>`. */
export type PublishableMethod<P> = MethodName<P>
