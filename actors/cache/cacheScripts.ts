/**
 * The cache's Redis scripts. Each runs atomically, so a compare-and-set, its version bump and the
 * generation bump are one step. Keys: `<prefix>v:<key>` value, `<prefix>n:<key>` version counter,
 * `<prefix>t:<tag>` tag index (a set of keys), `<prefix>gen` generation, `<prefix>l:<key>` load
 * lock, `<prefix>fence` fencing counter. Tag and prefix scripts touch keys they compute, so they
 * need a single Redis (not Redis Cluster).
 */

/**
 * KEYS: value, version, generation, tag sets…; ARGV: payload, px, expectedVersion (-1: none),
 * versionRetentionMs, key. A compare-and-set lands when the version is still the expected one or 0.
 * The payload's header (bytes 2–17, see CachePayload) gets the new version and the absolute expiry
 * on Redis's clock, which the key is given with PXAT: a read is then one GET (no script, no PTTL).
 * → [written 0|1, version, generation]
 */
export const WRITE = `
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local expected = tonumber(ARGV[3])
-- Version 0: nothing newer exists (never written, retention over, or Redis lost its data).
if expected >= 0 and cur ~= expected and cur ~= 0 then
  return {0, cur, tonumber(redis.call('GET', KEYS[3]) or '0')}
end
local px = tonumber(ARGV[2])
local ver = math.max(cur, expected) + 1
local t = redis.call('TIME')
local exp = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + px
local p = ARGV[1]
redis.call('SET', KEYS[1], string.sub(p, 1, 1) .. struct.pack('>dd', ver, exp) .. string.sub(p, 18), 'PXAT', exp)
redis.call('SET', KEYS[2], ver, 'PXAT', exp + tonumber(ARGV[4]))
for i = 4, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[5])
  if redis.call('PTTL', KEYS[i]) < px then redis.call('PEXPIRE', KEYS[i], px) end
end
return {1, ver, redis.call('INCR', KEYS[3])}
`

/** KEYS: value, version, generation; ARGV: versionRetentionMs. → [deleted, version, generation] */
export const DELETE = `
local existed = redis.call('DEL', KEYS[1])
local ver = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
redis.call('SET', KEYS[2], ver, 'PX', ARGV[1])
return {existed, ver, redis.call('INCR', KEYS[3])}
`

/** KEYS: generation; ARGV: prefix, versionRetentionMs, bump (0|1), keys… → [deleted, generation] */
export const DELETE_MANY = `
local n = 0
for i = 4, #ARGV do
  local k = ARGV[i]
  n = n + redis.call('DEL', ARGV[1] .. 'v:' .. k)
  local nk = ARGV[1] .. 'n:' .. k
  redis.call('SET', nk, tonumber(redis.call('GET', nk) or '0') + 1, 'PX', ARGV[2])
end
local g
if ARGV[3] == '1' then g = redis.call('INCR', KEYS[1]) else g = tonumber(redis.call('GET', KEYS[1]) or '0') end
return {n, g}
`

/** KEYS: tag set, generation; ARGV: prefix, versionRetentionMs. → [deleted, generation] */
export const DELETE_TAG = `
local members = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, k in ipairs(members) do
  n = n + redis.call('DEL', ARGV[1] .. 'v:' .. k)
  local nk = ARGV[1] .. 'n:' .. k
  redis.call('SET', nk, tonumber(redis.call('GET', nk) or '0') + 1, 'PX', ARGV[2])
end
redis.call('DEL', KEYS[1])
return {n, redis.call('INCR', KEYS[2])}
`

/** KEYS: lock, fence; ARGV: px. → fencing token, or 0 when held by someone else. */
export const LOCK = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
`

/** KEYS: lock; ARGV: token. Compare-and-delete: a holder whose lock expired cannot free its successor's. */
export const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`
