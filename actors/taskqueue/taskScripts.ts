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
 * A stream entry is positional, because every field costs on every hop (XADD, XREADGROUP's reply
 * into Lua and out again, the client's decode, XDEL's seek through the listpack): `h` (header
 * `<id>:<attempts done>:<max attempts>:<enqueued ms>`), `p` (payload JSON), then only when set k
 * (idempotency key), ff / lf (first / last failure ms), lc / lm (last error code / message). The
 * priority is the stream's. A delayed record is JSON of the named fields: v ('1'), id, p, a, m, t,
 * pr (priority name) and the optional ones. An entry is XACKed *and* XDELed when it leaves its
 * stream, so XLEN = waiting + in flight.
 */

/** Helpers every script shares (no Redis call: scripts that need the time call clock()). */
export const PRELUDE = `
local EXTRAS = {'k', 'ff', 'lf', 'lc', 'lm'}
local function clock()
  local tm = redis.call('TIME')
  return tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
end
local function totable(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
-- A stream entry as a task table (named fields, the delayed record's shape), or nil when it does not decode.
local function totask(flat, pr)
  if flat[1] ~= 'h' or flat[3] ~= 'p' or type(flat[2]) ~= 'string' or type(flat[4]) ~= 'string' then return nil end
  local id, a, m, at = string.match(flat[2], '^(%d+):(%d+):(%d+):(%d+)$')
  if id == nil then return nil end
  local t = {v = '1', id = id, a = a, m = m, t = at, p = flat[4], pr = pr}
  for i = 5, #flat - 1, 2 do
    local f = flat[i]
    if f == 'k' or f == 'ff' or f == 'lf' or f == 'lc' or f == 'lm' then t[f] = flat[i + 1] end
  end
  return t
end
-- A task table as stream entry fields (tostring everywhere: a delayed record is untrusted JSON).
local function toflat(t)
  local out = {'h', tostring(t.id) .. ':' .. tostring(t.a) .. ':' .. tostring(t.m) .. ':' .. tostring(t.t), 'p', tostring(t.p)}
  for _, f in ipairs(EXTRAS) do
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
-- Owner-checked batch from ARGV[from] on, per stream: streamIndex (0-based), count c, the lowest and
-- highest entry id of the group (the caller compares ids), then the c ids. Returns {settled, lost ids...}.
-- A delivery is redelivered only under a new entry id (reclaim XACKs + XDELs it and XADDs the task
-- again), so an entry id still pending is still its consumer's. 'ack': XACK's count is then the owner
-- check; only when it falls short (a reclaimed task: rare) does one XPENDING over the range tell
-- which ids were lost (the pending ones among them were acked by the XACK: none is left). 'renew'
-- resets the idle time of what XPENDING shows is still ours (XCLAIM … JUSTID: the delivery count
-- untouched).
local function settle(group, consumer, op, stats, from)
  local settled, lost = 0, {0}
  local j = from
  while j <= #ARGV do
    local key = KEYS[tonumber(ARGV[j]) + 1]
    local c = tonumber(ARGV[j + 1])
    local first, last = j + 4, j + 3 + c
    if key == nil or key == stats then return redis.error_reply('ERR settle: bad stream index') end
    local mine = nil
    if op ~= 'ack' or c > 4000 then
      mine = {}
      for _, e in ipairs(redis.call('XPENDING', key, group, ARGV[j + 2], ARGV[j + 3], c + 10000, consumer)) do mine[e[1]] = true end
    end
    local ids = {}
    for k = first, last do
      local id = ARGV[k]
      if mine == nil or mine[id] then
        ids[#ids + 1] = id
        if mine ~= nil then mine[id] = nil end
      else
        lost[#lost + 1] = id
      end
    end
    if mine == nil then
      -- 'ack', one call: what XACK acknowledges is exactly what was still ours.
      local before = {}
      local n = redis.call('XACK', key, group, unpack(ids))
      if n < #ids then
        -- Some were not pending: an XDEL of them touches nothing that is anyone's (reclaim deleted them),
        -- but the caller must learn which. Each of ours is gone from the PEL now, so ask per id whether
        -- it still exists in the stream: a reclaimed one was deleted with its reclaim.
        for _, id in ipairs(ids) do
          if #redis.call('XRANGE', key, id, id) == 0 then before[#before + 1] = id end
        end
      end
      redis.call('XDEL', key, unpack(ids))
      for _, id in ipairs(before) do lost[#lost + 1] = id end
      settled = settled + #ids - #before
    else
      for s = 1, #ids, 1000 do
        local chunk = {unpack(ids, s, math.min(s + 999, #ids))}
        if op == 'ack' then
          redis.call('XACK', key, group, unpack(chunk))
          redis.call('XDEL', key, unpack(chunk))
        else
          chunk[#chunk + 1] = 'JUSTID'
          redis.call('XCLAIM', key, group, consumer, 0, unpack(chunk))
        end
      end
      settled = settled + #ids
    end
    j = last + 1
  end
  if op == 'ack' and settled > 0 then redis.call('HINCRBY', stats, 'completed', settled) end
  lost[1] = settled
  return lost
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
 * none), idempotency key. Ids come from one INCRBY per batch (an id a duplicate or a refusal did
 * not use is skipped: ids are unique and increasing, not dense). Reply: flat, per task
 * `1 | 0 | -1` (created, duplicate, full) then the id.
 */
export const ENQUEUE = `${PRELUDE}
local P, ttl, maxDepth = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = clock()
local nows = tostring(now)
local first = 4 + P
local n = math.floor((#ARGV - first + 1) / 6)
local nextId = redis.call('INCRBY', KEYS[1], n) - n
local out = {}
for j = first, #ARGV, 6 do
  local level, delay, ki = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3]), tonumber(ARGV[j + 4])
  local stream = KEYS[3 + level]
  nextId = nextId + 1
  local prev = false
  if ki > 0 then prev = redis.call('GET', KEYS[ki]) end
  if prev then
    out[#out + 1] = 0; out[#out + 1] = prev
  elseif maxDepth > 0 and redis.call('XLEN', stream) + redis.call('ZCARD', KEYS[2]) >= maxDepth then
    out[#out + 1] = -1; out[#out + 1] = ''
  else
    local id = tostring(nextId)
    if ki > 0 then redis.call('SET', KEYS[ki], id, 'NX', 'PX', ttl) end
    if delay > 0 then
      local t = {v = '1', id = id, p = ARGV[j], a = '0', m = ARGV[j + 1], t = nows, pr = ARGV[4 + level]}
      if ki > 0 then t.k = ARGV[j + 5] end
      redis.call('ZADD', KEYS[2], now + delay, cjson.encode(t))
    elseif ki > 0 then
      redis.call('XADD', stream, '*', 'h', id .. ':0:' .. ARGV[j + 1] .. ':' .. nows, 'p', ARGV[j], 'k', ARGV[j + 5])
    else
      redis.call('XADD', stream, '*', 'h', id .. ':0:' .. ARGV[j + 1] .. ':' .. nows, 'p', ARGV[j])
    end
    out[#out + 1] = 1; out[#out + 1] = id
  end
end
return out
`

/**
 * Acks what the consumer finished, then reads for it: one round trip per batch rather than two.
 * KEYS: the P priority streams, then stats. ARGV: group, consumer, maxInFlight (0: no cap), then one
 * quota per stream, then the acks as `settle()` reads them. Reads each stream's quota of new
 * entries; what a short stream could not fill goes to the others in order (highest priority
 * first). A missing group is created (someone deleted the stream). Reply: {shortFlags (one 0/1 per
 * stream), the acks' reply, then pairs streamIndex, XREADGROUP's entry list}: the entries pass
 * through as Redis gave them (no table per entry here).
 */
export const FETCH = `${PRELUDE}
local group, consumer, cap = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = #KEYS - 1
local acked = settle(group, consumer, 'ack', KEYS[#KEYS], 4 + n)
if acked.err ~= nil then return acked end
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
local short, out = {}, {0, acked}
local function read(i, count)
  local r = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', KEYS[i], '>')
  if type(r) == 'table' and r.err ~= nil then
    if string.find(r.err, 'NOGROUP') == nil then return redis.error_reply(r.err) end
    redis.call('XGROUP', 'CREATE', KEYS[i], group, '0', 'MKSTREAM')
    r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', KEYS[i], '>')
  end
  if not r then return 0 end
  local entries = r[1][2]
  out[#out + 1] = i - 1
  out[#out + 1] = entries
  return #entries
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
out[1] = short
return out
`

/**
 * Owner-checked acks or lease renewals. KEYS: the streams, then stats. ARGV: group, consumer, op
 * ('ack' | 'renew'), then the groups `settle()` in the prelude reads. Reply: {settled, ids not ours
 * any more (reclaimed, or removed)...}.
 */
export const SETTLE = `${PRELUDE}
return settle(ARGV[1], ARGV[2], ARGV[3], KEYS[#KEYS], 4)
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
local now = clock()
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
