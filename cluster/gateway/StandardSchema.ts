/**
 * The Standard Schema v1 interface (https://standardschema.dev), declared here as the spec invites,
 * so zod, valibot, arktype and any other implementation plug in without a runtime dependency.
 * Only what the gateway uses is declared; a library's schema is assignable as it is.
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaProps<Input, Output>
}

export interface StandardSchemaProps<Input = unknown, Output = Input> {
  readonly version: 1
  readonly vendor: string
  readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>
  readonly types?: { readonly input: Input; readonly output: Output } | undefined
}

export type StandardResult<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: readonly StandardIssue[] }

export interface StandardIssue {
  readonly message: string
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined
}

/** An issue as it travels in an ERR_INVALID_ARGS reply: plain data, path keys as strings or numbers. */
export interface ArgsIssue {
  readonly message: string
  readonly path?: readonly (string | number)[]
}

export function isStandardSchema(value: unknown): value is StandardSchema {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  const props = (value as { '~standard'?: unknown })['~standard']
  return typeof props === 'object' && props !== null && (props as StandardSchemaProps).version === 1 && typeof (props as StandardSchemaProps).validate === 'function'
}

/** Replies stay small whatever the validator reports. */
const MAX_ISSUES = 16
const MAX_MESSAGE_CHARS = 300
const MAX_PATH = 16

/** The validator's issues as plain, bounded data (symbols become their description). */
export function plainIssues(issues: readonly StandardIssue[]): ArgsIssue[] {
  const out: ArgsIssue[] = []
  for (const issue of issues.slice(0, MAX_ISSUES)) {
    const message = String(issue?.message ?? 'invalid').slice(0, MAX_MESSAGE_CHARS)
    const path = Array.isArray(issue?.path) ? issue.path.slice(0, MAX_PATH).map((segment) => pathKey(segment)) : undefined
    out.push(path === undefined || path.length === 0 ? { message } : { message, path })
  }
  if (out.length === 0) out.push({ message: 'invalid' })
  return out
}

function pathKey(segment: PropertyKey | { readonly key: PropertyKey }): string | number {
  const key = typeof segment === 'object' && segment !== null ? segment.key : segment
  if (typeof key === 'number') return key
  if (typeof key === 'symbol') return key.description ?? 'symbol'
  return String(key).slice(0, MAX_MESSAGE_CHARS)
}
