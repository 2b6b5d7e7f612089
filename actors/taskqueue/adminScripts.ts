/**
 * The scheduler's and the admin's scripts (promote, reclaim, replay, stats, groups): the other half
 * of taskScripts.ts, whose header describes the keys and task fields.
 */
import { PRELUDE } from './taskScripts.ts'

/**
 * Scheduler: moves due delayed records back to their streams (ZRANGEBYSCORE + XADD + ZREM in one
 * step). A record that does not decode, or names no known priority, goes to the DLQ with the reason.
 * KEYS: delayed, dlq, stats, then the streams. ARGV: limit, then the priority names (same order).
 * Reply: {moved, malformed, ms until the next due record (-1: none)}.
 */
export const PROMOTE = `${PRELUDE}
local now = clock()
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
 * KEYS: dlq, stats, then the streams. ARGV: group, reclaimer consumer, vtMs, count, then the
 * priority names (same order as the streams). Reply: {requeued, dead, lost}.
 */
export const RECLAIM = `${PRELUDE}
local now = clock()
local group, claimer, vt, count = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local requeued, deadN, lost = 0, 0, 0
for i = 3, #KEYS do
  local key = KEYS[i]
  local r = redis.pcall('XAUTOCLAIM', key, group, claimer, vt, '0-0', 'COUNT', count)
  if type(r) == 'table' and r.err == nil then
    for _, e in ipairs(r[2]) do
      local t = totask(e[2], ARGV[2 + i])
      local a, m = nil, nil
      if t ~= nil then a, m = tonumber(t.a), tonumber(t.m) end
      if t == nil or a == nil or m == nil then
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
local now = clock()
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
local now = clock()
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
