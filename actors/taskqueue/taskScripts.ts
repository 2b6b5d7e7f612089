/**
 * The Redis side of the task queue: one Lua script per state change, so each is atomic (a task is
 * in exactly one place — a priority stream, the delayed set or the DLQ — and never in two, never in
 * none). Time comes only from Redis `TIME` (ms), so every process agrees on due dates and ages.
 *
 * Keys of one queue share the hash tag `{<queue>}` (one Redis Cluster slot):
 *   `<base>:p:<priority>` streams (one per priority, one consumer group), `<base>:delayed` (ZSET of
 *   JSON task records scored by due ms), `<base>:dlq` (stream), `<base>:seq` (task ids),
 *   `<base>:idem:<key>` (idempotency markers), `<base>:stats` (hash of counters).
 *
 * Task fields (stream entry and delayed record alike): v (format, '1'), id, p (payload JSON), a
 * (attempts done), m (max attempts), t (enqueued ms), pr (priority name), and optionally k
 * (idempotency key), ff / lf (first / last failure ms), lc / lm (last error code / message).
 * A stream entry is XACKed *and* XDELed when it leaves, so XLEN = waiting + in flight.
 */

export const PRELUDE = `
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local FIELDS = {'v', 'id', 'p', 'a', 'm', 't', 'pr', 'k', 'ff', 'lf', 'lc', 'lm'}
local function totable(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
local function toflat(t)
  local out = {}
  for _, f in ipairs(FIELDS) do
    if t[f] ~= nil then out[#out + 1] = f; out[#out + 1] = tostring(t[f]) end
  end
  return out
end
local function owned(key, group, consumer, id)
  local r = redis.call('XPENDING', key, group, id, id, 1, consumer)
  return #r == 1
end
local function truncate(s, n)
  if #s > n then return string.sub(s, 1, n) end
  return s
end
local function dead(dlq, rec)
  local flat = {}
  for k, v in pairs(rec) do flat[#flat + 1] = k; flat[#flat + 1] = tostring(v) end
  redis.call('XADD', dlq, '*', unpack(flat))
end
`

/**
 * A batch of enqueues, each atomic and in order. KEYS: seq, delayed, the P streams, then the
 * idempotency keys used. ARGV: P, idemTtlMs, maxDepth, the P priority names, then 6 per task:
 * payload, maxAttempts, priority index (0-based), delayMs, idempotency key index into KEYS (0:
 * none), idempotency key. Reply: per task {1 created | 0 duplicate | -1 full, id}.
 */
export const ENQUEUE = `${PRELUDE}
local P, ttl, maxDepth = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for j = 4 + P, #ARGV, 6 do
  local level, delay, ki = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3]), tonumber(ARGV[j + 4])
  local stream = KEYS[3 + level]
  local prev = false
  if ki > 0 then prev = redis.call('GET', KEYS[ki]) end
  if prev then
    out[#out + 1] = {0, prev}
  elseif maxDepth > 0 and redis.call('XLEN', stream) + redis.call('ZCARD', KEYS[2]) >= maxDepth then
    out[#out + 1] = {-1, ''}
  else
    local id = tostring(redis.call('INCR', KEYS[1]))
    local t = {v = '1', id = id, p = ARGV[j], a = '0', m = ARGV[j + 1], t = tostring(now), pr = ARGV[4 + level]}
    if ki > 0 then
      redis.call('SET', KEYS[ki], id, 'NX', 'PX', ttl)
      t.k = ARGV[j + 5]
    end
    if delay > 0 then
      redis.call('ZADD', KEYS[2], now + delay, cjson.encode(t))
    else
      redis.call('XADD', stream, '*', unpack(toflat(t)))
    end
    out[#out + 1] = {1, id}
  end
end
return out
`

/**
 * KEYS: the priority streams. ARGV: group, consumer, maxInFlight (0: no cap), then one quota per
 * stream. Reads each stream's quota of new entries; what a short stream could not fill goes to the
 * others in order (highest priority first). A missing group is created (someone deleted the stream).
 * Reply: {shortFlags (one 0/1 per stream), entries: {streamIndex, entryId, flatFields}...}.
 */
export const FETCH = `${PRELUDE}
local group, consumer, cap = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = #KEYS
local budget = 0
for i = 1, n do budget = budget + tonumber(ARGV[3 + i]) end
if cap > 0 then
  local pending = 0
  for i = 1, n do
    local s = redis.pcall('XPENDING', KEYS[i], group)
    if type(s) == 'table' and s.err == nil then pending = pending + tonumber(s[1]) end
  end
  if cap - pending < budget then budget = cap - pending end
end
local short, out = {}, {}
local function read(i, count)
  local r = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', KEYS[i], '>')
  if type(r) == 'table' and r.err ~= nil then
    if string.find(r.err, 'NOGROUP') == nil then return redis.error_reply(r.err) end
    redis.call('XGROUP', 'CREATE', KEYS[i], group, '0', 'MKSTREAM')
    r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', KEYS[i], '>')
  end
  local got = 0
  if r then
    for _, e in ipairs(r[1][2]) do out[#out + 1] = {i - 1, e[1], e[2]}; got = got + 1 end
  end
  return got
end
local spare = 0
for i = 1, n do
  short[i] = 0
  local q = tonumber(ARGV[3 + i])
  if q > budget then q = budget end
  if q > 0 then
    local got = read(i, q)
    if type(got) ~= 'number' then return got end
    budget = budget - got
    if got < q then short[i] = 1; spare = spare + q - got end
  end
end
if spare > budget then spare = budget end
for i = 1, n do
  if spare <= 0 then break end
  if short[i] == 0 then
    local got = read(i, spare)
    if type(got) ~= 'number' then return got end
    spare = spare - got
    if got == 0 then short[i] = 1 end
  end
end
return {short, out}
`

/**
 * Owner-checked batch: ARGV group, consumer, op ('ack' | 'renew'), then pairs (streamIndex 0-based,
 * entryId). KEYS: the streams, then stats. One XPENDING per stream over the batch's id range finds
 * what this consumer still owns; 'ack' XACKs and XDELs those, 'renew' resets their idle time
 * (XCLAIM … JUSTID, the delivery count untouched). Reply: one 0/1 per pair (0: not ours any more —
 * reclaimed, or removed).
 */
export const SETTLE = `${PRELUDE}
local group, consumer, op = ARGV[1], ARGV[2], ARGV[3]
local stats = KEYS[#KEYS]
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms or -1), tonumber(seq or -1)
end
local function less(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  return am < bm or (am == bm and as < bs)
end
local by, order = {}, {}
for j = 4, #ARGV, 2 do
  local i = tonumber(ARGV[j]) + 1
  local id = ARGV[j + 1]
  if KEYS[i] ~= nil and i < #KEYS and parts(id) >= 0 then
    local g = by[i]
    if g == nil then g = {lo = id, hi = id, n = 0}; by[i] = g; order[#order + 1] = i end
    if less(id, g.lo) then g.lo = id end
    if less(g.hi, id) then g.hi = id end
    g.n = g.n + 1
  end
end
local mine, done = {}, 0
for _, i in ipairs(order) do
  local g = by[i]
  local owned = {}
  -- Our pending entries in the batch's range: at most what we hold, bounded by the range's size.
  for _, e in ipairs(redis.call('XPENDING', KEYS[i], group, g.lo, g.hi, g.n + 10000, consumer)) do
    owned[#owned + 1] = e[1]
    mine[i .. '/' .. e[1]] = true
  end
  for c = 1, #owned, 1000 do
    local chunk = {unpack(owned, c, math.min(c + 999, #owned))}
    if op == 'ack' then
      redis.call('XACK', KEYS[i], group, unpack(chunk))
      redis.call('XDEL', KEYS[i], unpack(chunk))
    else
      local args = {KEYS[i], group, consumer, 0}
      for _, id in ipairs(chunk) do args[#args + 1] = id end
      args[#args + 1] = 'JUSTID'
      redis.call('XCLAIM', unpack(args))
    end
  end
end
local res = {}
for j = 4, #ARGV, 2 do
  local key = (tonumber(ARGV[j]) + 1) .. '/' .. ARGV[j + 1]
  if mine[key] then
    res[#res + 1] = 1
    if op == 'ack' then done = done + 1 end
    mine[key] = nil
  else
    res[#res + 1] = 0
  end
end
if done > 0 then redis.call('HINCRBY', stats, 'completed', done) end
return res
`

/**
 * A failed delivery leaves its stream, owner-checked. KEYS: stream, delayed, dlq, stats. ARGV: group,
 * consumer, entryId, mode ('retry' | 'dead'), delayMs, then flat fields: the task record (retry) or
 * the DLQ record (dead). Retry: the record goes to the delayed set due at now + delayMs (ff set on
 * the first failure, lf now). Dead: first/last failure times are filled in. Reply: 1, or 0 when the
 * entry is not ours any more (nothing done: whoever owns it now settles it).
 */
export const FAIL = `${PRELUDE}
local group, consumer, id, mode, delay = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
if not owned(KEYS[1], group, consumer, id) then return 0 end
local flat = {}
for j = 6, #ARGV do flat[#flat + 1] = ARGV[j] end
local t = totable(flat)
if mode == 'retry' then
  if t.ff == nil then t.ff = tostring(now) end
  t.lf = tostring(now)
  redis.call('ZADD', KEYS[2], now + delay, cjson.encode(t))
  redis.call('HINCRBY', KEYS[4], 'retries', 1)
else
  if t.first == nil or t.first == '' then t.first = tostring(now) end
  t.last = tostring(now)
  dead(KEYS[3], t)
  redis.call('HINCRBY', KEYS[4], 'dead', 1)
end
redis.call('XACK', KEYS[1], group, id)
redis.call('XDEL', KEYS[1], id)
return 1
`
