import { childSpecProblems, type AnyChildSpec } from './ChildSpec.ts'
import { InvalidSupervisorSpecError } from './errors.ts'
import type { Intensity } from './RestartIntensity.ts'

/** OTP strategies: which children restart when one fails. */
export type Strategy =
  /** Only the failed child. */
  | 'one_for_one'
  /** Every child: stopped in reverse start order, then started in order. */
  | 'one_for_all'
  /** The failed child and those started after it. */
  | 'rest_for_one'

/** OTP auto shutdown: whether the exit of significant children ends the supervisor. */
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant'

export interface SupervisorOptions {
  readonly strategy?: Strategy
  /** Most restarts within `periodMs` before the supervisor gives up. Default 1 (OTP); `'unlimited'` never gives up. */
  readonly intensity?: Intensity
  /** Default 5000 ms (OTP). */
  readonly periodMs?: number
  readonly autoShutdown?: AutoShutdown
}

const STRATEGIES: ReadonlySet<unknown> = new Set(['one_for_one', 'one_for_all', 'rest_for_one'])
const AUTO_SHUTDOWNS: ReadonlySet<unknown> = new Set(['never', 'any_significant', 'all_significant'])

/** Problems of the options every supervisor has. */
function optionProblems(options: SupervisorOptions): string[] {
  const problems: string[] = []
  if (options.strategy !== undefined && !STRATEGIES.has(options.strategy)) problems.push(`unknown strategy '${String(options.strategy)}'`)
  const intensity = options.intensity
  if (intensity !== undefined && intensity !== 'unlimited' && !(typeof intensity === 'number' && Number.isInteger(intensity) && intensity >= 0)) {
    problems.push(`intensity must be an integer >= 0 or 'unlimited', got ${String(intensity)}`)
  }
  const period = options.periodMs
  if (period !== undefined && !(typeof period === 'number' && period > 0 && Number.isFinite(period))) problems.push(`periodMs must be a finite number > 0, got ${String(period)}`)
  if (options.autoShutdown !== undefined && !AUTO_SHUTDOWNS.has(options.autoShutdown)) problems.push(`unknown autoShutdown '${String(options.autoShutdown)}'`)
  return problems
}

/** Every problem of a static supervisor's spec (options and children); empty when valid. */
export function supervisorSpecProblems(spec: SupervisorOptions & { readonly children?: readonly AnyChildSpec[] }): string[] {
  const problems = optionProblems(spec)
  const children = spec.children
  if (!Array.isArray(children)) {
    problems.push('children must be an array of child specs')
    return problems
  }
  const seen = new Set<string>()
  for (const child of children) {
    problems.push(...childSpecProblems(child))
    const id = (child as AnyChildSpec | null)?.id
    if (typeof id === 'string') {
      if (seen.has(id)) problems.push(`duplicate child id '${id}'`)
      seen.add(id)
    }
  }
  problems.push(...significantProblems(spec.autoShutdown, children))
  return problems
}

/** OTP rejects a significant child under `autoShutdown: 'never'`: its exit could never do anything. */
export function significantProblems(autoShutdown: AutoShutdown | undefined, children: readonly AnyChildSpec[]): string[] {
  if ((autoShutdown ?? 'never') !== 'never') return []
  return children.filter((c) => (c as AnyChildSpec | null)?.significant === true).map((c) => `child '${c.id}' is significant but autoShutdown is 'never'`)
}

/** Every problem of a dynamic pool's spec; empty when valid. */
export function dynamicSpecProblems(spec: SupervisorOptions & { readonly child?: unknown; readonly children?: unknown; readonly maxChildren?: number }): string[] {
  const problems = optionProblems(spec)
  if (spec.strategy !== undefined && spec.strategy !== 'one_for_one') problems.push(`a dynamic pool's strategy is always one_for_one, got '${String(spec.strategy)}'`)
  if (spec.autoShutdown !== undefined && spec.autoShutdown !== 'never') problems.push(`a dynamic pool cannot have autoShutdown '${String(spec.autoShutdown)}' (OTP: simple_one_for_one)`)
  if (spec.children !== undefined) problems.push('a dynamic pool has exactly one child spec: give it as `child`, not `children`')
  if (spec.child === undefined) problems.push('a dynamic pool needs exactly one child spec (`child`)')
  else {
    const template = spec.child as object
    problems.push(...childSpecProblems({ ...template, id: 'template' }).filter((p) => !p.includes('args must')))
    if ((template as AnyChildSpec).significant === true) problems.push(`child 'template' is significant but a dynamic pool's autoShutdown is 'never'`)
  }
  const max = spec.maxChildren
  if (max !== undefined && !(max === Infinity || (Number.isInteger(max) && max >= 0))) problems.push(`maxChildren must be an integer >= 0, got ${String(max)}`)
  return problems
}

/** Throws one InvalidSupervisorSpecError listing every problem (`data.problems`), if there are any. */
export function throwIfProblems(problems: readonly string[], what: string): void {
  if (problems.length === 0) return
  throw new InvalidSupervisorSpecError(`invalid ${what}: ${problems.join('; ')}`, { data: { problems: [...problems] } })
}
