/**
 * Fencing tokens on client writes (guide item 22: "put a fencing epoch on every write"). A holder of
 * a lease or a singleton placement writes with its token; the service remembers the highest token
 * seen per fence name and refuses, atomically with the write, a write whose token is older. A
 * holder that lost its lease (paused, partitioned) and comes back therefore cannot overwrite what
 * its successor wrote. Tokens are the cluster singleton's `FencingToken { term, version }`,
 * ordered as pairs, term first. An equal token passes: one holder writes many times.
 */
import { FencedError } from '../errors.ts'

export interface FencingToken {
  readonly term: number
  readonly version: number
}

/** A write's fence: the name of what is fenced (a singleton, a lease, a shard) and the writer's token. */
export interface Fence {
  readonly name: string
  readonly token: FencingToken
}

const FENCE_NAME = /^[A-Za-z0-9_.:/-]{1,128}$/

/** Why a fence is malformed, or null: names are plain words, token parts safe integers ≥ 0. */
export function fenceProblem(fence: unknown): string | null {
  const f = fence as { name?: unknown; token?: { term?: unknown; version?: unknown } } | null
  if (typeof f !== 'object' || f === null) return 'fence must be { name, token: { term, version } }'
  if (typeof f.name !== 'string' || !FENCE_NAME.test(f.name)) return `fence.name must match ${String(FENCE_NAME)}`
  const t = f.token
  if (typeof t !== 'object' || t === null) return 'fence.token must be { term, version }'
  if (!Number.isSafeInteger(t.term) || (t.term as number) < 0) return 'fence.token.term must be a safe integer ≥ 0'
  if (!Number.isSafeInteger(t.version) || (t.version as number) < 0) return 'fence.token.version must be a safe integer ≥ 0'
  return null
}

export function fencedError(client: string, fence: Fence, highest: FencingToken): FencedError {
  const { term, version } = fence.token
  return new FencedError(`write fenced off: '${fence.name}' has seen token (${highest.term}, ${highest.version}), this write carries (${term}, ${version})`, {
    data: { client, name: fence.name, token: { term, version }, highest: { term: highest.term, version: highest.version } },
  })
}

/**
 * Redis: KEYS[1] the fence hash (`t`, `v`); ARGV: term, version, then the commands as
 * `argc, name, args…` each. Check, raise and every command run in one script, so no other client's
 * command comes between them. The commands' keys are not declared: on Redis Cluster give them the
 * fence key's hash tag (`{name}`) so they live in its slot.
 * Reply: `{1, reply…}` written, or `{0, term, version}` (the highest seen) fenced off.
 */
export const REDIS_FENCE_SCRIPT = `
local t = tonumber(ARGV[1])
local v = tonumber(ARGV[2])
local cur = redis.call('HMGET', KEYS[1], 't', 'v')
if cur[1] then
  local ct = tonumber(cur[1])
  local cv = tonumber(cur[2])
  if ct > t or (ct == t and cv > v) then return {0, cur[1], cur[2]} end
  if ct ~= t or cv ~= v then redis.call('HSET', KEYS[1], 't', ARGV[1], 'v', ARGV[2]) end
else
  redis.call('HSET', KEYS[1], 't', ARGV[1], 'v', ARGV[2])
end
local out = {1}
local i = 3
while i <= #ARGV do
  local argc = tonumber(ARGV[i])
  out[#out + 1] = redis.call(unpack(ARGV, i + 1, i + argc))
  i = i + argc + 1
end
return out
`

/** The fence key of `name` under `prefix`; the hash tag keeps it in one Redis Cluster slot with keys tagged `{name}`. */
export function redisFenceKey(prefix: string, name: string): string {
  return `${prefix}{${name}}`
}

/** PostgreSQL: the fence table, created on first use (one row per name). */
export function pgFenceTableSql(table: string): string {
  return `create table if not exists ${table} (name text primary key, term bigint not null, version bigint not null)`
}

/**
 * Raises the row of the fence to the token unless it already holds a newer one, in the caller's
 * transaction. The row stays locked until commit, so concurrent holders of one name run their
 * transactions one after the other and the older one, if second, finds the newer token and is
 * refused. No row returned: fenced off.
 */
export function pgFenceSql(table: string): string {
  return (
    `insert into ${table} as f (name, term, version) values ($1, $2, $3) ` +
    'on conflict (name) do update set term = excluded.term, version = excluded.version ' +
    'where (f.term, f.version) <= (excluded.term, excluded.version) returning term'
  )
}

/** The highest token of the fence, read after a refusal (for the error's `data`). */
export function pgFenceReadSql(table: string): string {
  return `select term, version from ${table} where name = $1`
}

/** Table names are identifiers we interpolate: only `[a-z_][a-z0-9_]*`, optionally schema-qualified. */
export const PG_FENCE_TABLE = /^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/
