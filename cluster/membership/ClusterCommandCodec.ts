import { ClusterMalformedCommandError } from './errors.ts'
import type { ClusterCommand, MemberInfo } from './types.ts'

/** First byte of every encoded command: a reader refuses versions it does not know instead of guessing. */
export const CLUSTER_COMMAND_VERSION = 1
/** Bounds on hostile input (checked before parsing). */
export const MAX_COMMAND_BYTES = 16 * 1024
export const MAX_FIELD_CHARS = 512
export const MAX_ROLES = 32

const enc = new TextEncoder()
// fatal: invalid UTF-8 is an error, not silently replaced.
const dec = new TextDecoder('utf-8', { fatal: true })

type Obj = Record<string, unknown>

function fail(why: string): never {
  throw new ClusterMalformedCommandError(`malformed cluster command: ${why}`)
}

export function str(o: Obj, k: string, allowEmpty = false): string {
  const v = o[k]
  if (typeof v !== 'string') fail(`${k} must be a string`)
  if (v.length > MAX_FIELD_CHARS) fail(`${k} longer than ${MAX_FIELD_CHARS}`)
  if (!allowEmpty && v.length === 0) fail(`${k} is empty`)
  return v
}

export function nat(o: Obj, k: string, min = 0): number {
  const v = o[k]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`${k} must be an integer >= ${min}`)
  return v
}

function bool(o: Obj, k: string): boolean {
  const v = o[k]
  if (typeof v !== 'boolean') fail(`${k} must be a boolean`)
  return v
}

function roles(o: Obj): string[] {
  const v = o['roles']
  if (!Array.isArray(v) || v.length > MAX_ROLES) fail(`roles must be an array of at most ${MAX_ROLES}`)
  const out = v.map((r, i) => {
    if (typeof r !== 'string' || r.length === 0 || r.length > MAX_FIELD_CHARS) fail(`roles[${i}] must be a non-empty string`)
    return r
  })
  return [...new Set(out)].sort()
}

function memberInfo(o: Obj): MemberInfo {
  return { node: str(o, 'node'), incarnation: nat(o, 'incarnation', 1), roles: roles(o), shards: nat(o, 'shards', 1), httpAddress: str(o, 'httpAddress', true), appVersion: str(o, 'appVersion', true) }
}

function ref(o: Obj): { node: string; incarnation: number } {
  return { node: str(o, 'node'), incarnation: nat(o, 'incarnation', 1) }
}

/** Validates a parsed value as a command (every field checked, unknown kinds refused); used by decode and by the public API. */
export function validateCommand(value: unknown): ClusterCommand {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('not an object')
  const o = value as Obj
  const type = o['type']
  switch (type) {
    case 'join':
      return { type, ...memberInfo(o) }
    case 'up':
    case 'leave':
    case 'exit':
    case 'remove':
      return { type, ...ref(o) }
    case 'down':
      return { type, ...ref(o), reason: str(o, 'reason', true) }
    case 'suspect':
      return { type, observer: str(o, 'observer'), observerIncarnation: nat(o, 'observerIncarnation', 1), ...ref(o), suspected: bool(o, 'suspected') }
    case 'register':
      return { type, key: str(o, 'key'), ref: str(o, 'ref'), ...ref(o), unique: bool(o, 'unique') }
    case 'unregister':
      return { type, key: str(o, 'key'), ref: str(o, 'ref') }
    case 'actorDied':
      return { type, ref: str(o, 'ref') }
    case 'singleton': {
      const role = o['role']
      if (role !== null && (typeof role !== 'string' || role.length === 0 || role.length > MAX_FIELD_CHARS)) fail('role must be null or a non-empty string')
      return { type, name: str(o, 'name'), role }
    }
    default:
      return fail(`unknown command type ${JSON.stringify(type)?.slice(0, 40)}`)
  }
}

/** Encodes a (validated) command: a version byte, then JSON. */
export function encodeCommand(command: ClusterCommand): Uint8Array {
  const body = enc.encode(JSON.stringify(validateCommand(command)))
  if (body.length + 1 > MAX_COMMAND_BYTES) fail(`command of ${body.length + 1} bytes exceeds ${MAX_COMMAND_BYTES}`)
  const out = new Uint8Array(body.length + 1)
  out[0] = CLUSTER_COMMAND_VERSION
  out.set(body, 1)
  return out
}

/** Decodes bytes from the log or the wire; any fault is ERR_CLUSTER_MALFORMED_COMMAND. */
export function decodeCommand(bytes: Uint8Array): ClusterCommand {
  return validateCommand(parseVersioned(bytes, MAX_COMMAND_BYTES))
}

/** Checks the version byte and size, then parses the JSON body (shared with the snapshot codec). */
export function parseVersioned(bytes: Uint8Array, maxBytes: number): unknown {
  if (bytes.length < 2) fail('too short')
  if (bytes.length > maxBytes) fail(`${bytes.length} bytes exceed ${maxBytes}`)
  if (bytes[0] !== CLUSTER_COMMAND_VERSION) fail(`unknown version ${bytes[0]}`)
  let text: string
  try {
    text = dec.decode(bytes.subarray(1))
  } catch {
    return fail('invalid UTF-8')
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    return fail('invalid JSON')
  }
}

export { fail as malformed }
