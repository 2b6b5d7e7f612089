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

const PRELUDE = `
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

/**
 * Scheduler: moves due delayed records back to their streams (ZRANGEBYSCORE + XADD + ZREM in one
 * step). A record that does not decode, or names no known priority, goes to the DLQ with the reason.
 * KEYS: delayed, dlq, stats, then the streams. ARGV: limit, then the priority names (same order).
 * Reply: {moved, malformed, ms until the next due record (-1: none)}.
 */
export const PROMOTE = `${PRELUDE}
local limit = tonumber(ARGV[1])
local streams = {}
for i = 2, #ARGV do streams[ARGV[i]] = KEYS[2 + i] end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
local moved, bad = 0, 0
for _, m in ipairs(due) do
  local ok, t = pcall(cjson.decode, m)
  local key = nil
  if ok and type(t) == 'table' and t.v == '1' and type(t.id) == 'string' and type(t.p) == 'string' and type(t.pr) == 'string' then key = streams[t.pr] end
  if key ~= nil then
    redis.call('XADD', key, '*', unpack(toflat(t)))
    moved = moved + 1
  else
    dead(KEYS[2], {code = 'ERR_TASK_MALFORMED', message = 'a delayed record that does not decode or names no known priority', raw = truncate(m, 1024), first = now, last = now, attempts = 0})
    redis.call('HINCRBY', KEYS[3], 'malformed', 1)
    bad = bad + 1
  end
  redis.call('ZREM', KEYS[1], m)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = -1
if #nxt == 2 then wait = math.max(0, tonumber(nxt[2]) - now) end
return {moved, bad, wait}
`

/**
 * Scheduler: the visibility timeout. XAUTOCLAIM takes entries idle for at least vtMs (their owner
 * neither settled nor renewed them in time: it died or stalled) and puts each back at the tail of
 * its stream with one more attempt, or in the DLQ (ERR_TASK_VISIBILITY_TIMEOUT) when attempts are
 * used up. Entries deleted while pending (someone XDELed them) are recorded in the DLQ.
 * KEYS: dlq, stats, then the streams. ARGV: group, reclaimer consumer, vtMs, count.
 * Reply: {requeued, dead, lost}.
 */
export const RECLAIM = `${PRELUDE}
local group, claimer, vt, count = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local requeued, deadN, lost = 0, 0, 0
for i = 3, #KEYS do
  local key = KEYS[i]
  local r = redis.pcall('XAUTOCLAIM', key, group, claimer, vt, '0-0', 'COUNT', count)
  if type(r) == 'table' and r.err == nil then
    for _, e in ipairs(r[2]) do
      local t = totable(e[2])
      local a, m = tonumber(t.a), tonumber(t.m)
      if t.v ~= '1' or t.id == nil or t.p == nil or a == nil or m == nil then
        dead(KEYS[1], {code = 'ERR_TASK_MALFORMED', message = 'a pending entry that does not decode', raw = truncate(cjson.encode(e[2]), 1024), src = e[1], first = now, last = now, attempts = 0})
        redis.call('HINCRBY', KEYS[2], 'malformed', 1)
        deadN = deadN + 1
      else
        t.a = tostring(a + 1)
        t.lc = 'ERR_TASK_VISIBILITY_TIMEOUT'
        t.lm = 'not settled within the visibility timeout (consumer lost or stalled)'
        if t.ff == nil then t.ff = tostring(now) end
        t.lf = tostring(now)
        if a + 1 >= m then
          dead(KEYS[1], {id = t.id, pr = t.pr or '', p = t.p, m = t.m, k = t.k or '', code = t.lc, message = t.lm, attempts = a + 1, first = t.ff, last = now, src = e[1]})
          redis.call('HINCRBY', KEYS[2], 'dead', 1)
          deadN = deadN + 1
        else
          redis.call('XADD', key, '*', unpack(toflat(t)))
          requeued = requeued + 1
        end
      end
      redis.call('XACK', key, group, e[1])
      redis.call('XDEL', key, e[1])
    end
    for _, id in ipairs(r[3] or {}) do
      dead(KEYS[1], {code = 'ERR_TASK_MALFORMED', message = 'entry deleted from the stream while pending', src = id, first = now, last = now, attempts = 0})
      redis.call('HINCRBY', KEYS[2], 'malformed', 1)
      lost = lost + 1
    end
  end
end
if requeued > 0 then redis.call('HINCRBY', KEYS[2], 'reclaimed', requeued) end
return {requeued, deadN, lost}
`

/**
 * DLQ → queue. KEYS: dlq, then the streams. ARGV: count, then the priority names, then '--', then
 * specific DLQ entry ids (none: the oldest `count`). A record without a payload, id or known
 * priority stays in the DLQ (counted as skipped). Reply: {replayed, skipped}.
 */
export const REPLAY = `${PRELUDE}
local count = tonumber(ARGV[1])
local streams, ids, sep = {}, {}, false
for i = 2, #ARGV do
  if ARGV[i] == '--' then sep = true
  elseif sep then ids[#ids + 1] = ARGV[i]
  else streams[ARGV[i]] = KEYS[i] end
end
local entries = {}
if #ids > 0 then
  for _, id in ipairs(ids) do
    local r = redis.call('XRANGE', KEYS[1], id, id)
    if #r == 1 then entries[#entries + 1] = r[1] end
  end
else
  entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', count)
end
local replayed, skipped = 0, 0
for _, e in ipairs(entries) do
  local r = totable(e[2])
  local key = nil
  if r.pr ~= nil then key = streams[r.pr] end
  if key ~= nil and r.id ~= nil and r.id ~= '' and r.p ~= nil and tonumber(r.m) ~= nil then
    local t = {v = '1', id = r.id, p = r.p, a = '0', m = r.m, t = tostring(now), pr = r.pr}
    if r.k ~= nil and r.k ~= '' then t.k = r.k end
    redis.call('XADD', key, '*', unpack(toflat(t)))
    redis.call('XDEL', KEYS[1], e[1])
    replayed = replayed + 1
  else
    skipped = skipped + 1
  end
end
return {replayed, skipped}
`

/**
 * Gauges in one atomic read. KEYS: delayed, dlq, stats, then the streams. ARGV: group.
 * Reply: {now, delayed, dlqLength, statsFlat, per stream {waiting, inFlight, oldestWaitingMs, oldestPendingMs}} (-1: none).
 */
export const STATS = `${PRELUDE}
local group = ARGV[1]
local per = {}
local function idms(id) return tonumber(string.match(id, '^(%d+)')) end
for i = 4, #KEYS do
  local key = KEYS[i]
  local len = redis.call('XLEN', key)
  local pending, oldestPending, oldestWaiting = 0, -1, -1
  local s = redis.pcall('XPENDING', key, group)
  if type(s) == 'table' and s.err == nil then
    pending = tonumber(s[1])
    if pending > 0 then
      local first = redis.call('XRANGE', key, s[2], '+', 'COUNT', 1)
      if #first == 1 then oldestPending = idms(first[1][1]) end
    end
    local last = '0-0'
    local groups = redis.call('XINFO', 'GROUPS', key)
    for _, g in ipairs(groups) do
      local gt = totable(g)
      if gt['name'] == group then last = gt['last-delivered-id'] end
    end
    local w = redis.call('XRANGE', key, '(' .. last, '+', 'COUNT', 1)
    if #w == 1 then oldestWaiting = idms(w[1][1]) end
  elseif len > 0 then
    local w = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
    oldestWaiting = idms(w[1][1])
  end
  per[#per + 1] = {len - pending, pending, oldestWaiting, oldestPending}
end
return {now, redis.call('ZCARD', KEYS[1]), redis.call('XLEN', KEYS[2]), redis.call('HGETALL', KEYS[3]), per}
`

/** KEYS: the streams. ARGV: group. Creates each stream's group at '0' (MKSTREAM) unless it exists. */
export const ENSURE_GROUPS = `
for i = 1, #KEYS do
  local r = redis.pcall('XGROUP', 'CREATE', KEYS[i], ARGV[1], '0', 'MKSTREAM')
  if type(r) == 'table' and r.err ~= nil and string.find(r.err, 'BUSYGROUP') == nil then return redis.error_reply(r.err) end
end
return #KEYS
`
