/**
 * The Redis side of the limiters: one Lua script per algorithm, each the same rules as
 * algorithms.ts, run atomically by Redis (check and update in one script, so no CAS loop and no
 * race between nodes). Time comes only from Redis `TIME`, in microseconds; expiries are set with
 * `PEXPIRE`/`PX` in milliseconds, rounded up, so a sub-second window never loses its key early.
 *
 * KEYS (one hash tag, so Redis Cluster puts them in one slot):
 *   1 state, 2 block marker (its end, µs), 3 log sequence (sliding log members), 4 `set` deadline (µs).
 * Needs Redis >= 5 (effects replication by default, ZPOPMAX); TIME before writes is then safe.
 * ARGV (one decision): 1 op (d decide, a adjust, g get, s set, x delete, b block), 2 cost / delta / consumed,
 *   3 ms (block duration for d and b, rest deadline for s), 4.. algorithm parameters (µs).
 * Reply: {allowed 0/1, remaining, retry µs (-1 never), reset µs, now µs, exists 0/1};
 *   for x: the number of keys deleted.
 */

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
-- Per decision (a batch runs several in one script): its keys, op and arguments, and what the
-- one MGET read: the block marker, the set deadline and (string states) the state itself. The
-- markers hold their end instant in µs, so no PTTL call is needed on the hot path.
local K1, K2, K3, K4, op, n, ms
local blockUntil, deadline, cached
local function num(x) return string.format('%.17g', x) end
local function pxOf(us) local p = math.ceil(us / 1000) if p < 1 then p = 1 end return p end
`

const DRIVER = `
local function reply(ok, rem, retry, reset, exists)
  local a = 0
  if ok then a = 1 end
  if rem < 0 then rem = 0 end
  if reset < 0 then reset = 0 end
  if retry > 0 then retry = math.ceil(retry) end
  return {a, math.floor(rem), retry, math.ceil(reset), now, exists}
end
local function blocked()
  if blockUntil > now then return reply(false, 0, blockUntil - now, blockUntil - now, 1) end
  return nil
end
local function clampToDeadline()
  if deadline > now then
    local d = pxOf(deadline - now)
    if redis.call('PTTL', K1) > d then redis.call('PEXPIRE', K1, d) end
    if redis.call('PTTL', K3) > d then redis.call('PEXPIRE', K3, d) end
  end
end
local function one()
  local m = redis.call('MGET', K2, K4, K1)
  blockUntil = tonumber(m[1] or '0') or 0
  deadline = tonumber(m[2] or '0') or 0
  cached = m[3]
  if op == 'x' then return {redis.call('DEL', K1, K2, K3, K4)} end
  if op == 'b' then
    blockUntil = now + ms * 1000
    redis.call('SET', K2, num(blockUntil), 'PX', ms)
  end
  if op == 'd' or op == 'g' or op == 'b' then
    local r = blocked()
    if r then return r end
  end
  if op == 'g' and exists() == 0 then return {0, 0, 0, 0, now, 0} end
  if op == 'a' then adjust(n) clampToDeadline() end
  if op == 's' then
    redis.call('DEL', K1, K3, K4)
    cached = nil
    deadline = 0
    adjust(n)
    if ms > 0 and exists() == 1 then
      deadline = now + ms * 1000
      redis.call('SET', K4, num(deadline), 'PX', ms)
      clampToDeadline()
    end
  end
  if op == 'a' or op == 's' then
    local r = blocked()
    if r then return r end
  end
  local cost = 0
  if op == 'd' then cost = n end
  local ok, rem, retry, reset = decide(cost)
  if op == 'd' then
    if ok and cost > 0 then clampToDeadline() end
    if (not ok) and ms > 0 then
      blockUntil = now + ms * 1000
      redis.call('SET', K2, num(blockUntil), 'PX', ms)
      if retry >= 0 and retry < ms * 1000 then retry = ms * 1000 end
    end
  end
  return reply(ok, rem, retry, reset, 1)
end
if ARGV[1] == 'B' then
  -- A batch: ARGV 2 count, 6.. (op, n, ms) per decision; KEYS 4 per decision. One script, so the
  -- whole batch is atomic too; the reply is every decision's reply, concatenated.
  local out = {}
  for i = 1, tonumber(ARGV[2]) do
    K1, K2, K3, K4 = KEYS[4 * i - 3], KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i]
    op, n, ms = ARGV[3 * i + 3], tonumber(ARGV[3 * i + 4]), tonumber(ARGV[3 * i + 5])
    local r = one()
    for j = 1, #r do out[#out + 1] = r[j] end
  end
  return out
end
K1, K2, K3, K4 = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
op, n, ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local r = one()
if op == 'x' then return r[1] end
return r
`

/** ARGV 4 emission interval (µs), 5 limit (max_burst + 1). */
const GCRA = `
local emission = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local tol = emission * limit
local function exists() if cached then return 1 end return 0 end
local function tat()
  local v = cached
  local x = now
  if v then x = tonumber(v) if x < now then x = now end end
  return x
end
local function left(ttl)
  local nx = tol - ttl
  if nx > -emission then
    local r = nx / emission
    if r < 0 then return 0 end
    return math.floor(r)
  end
  return 0
end
local function put(x)
  if x > now then
    cached = num(x)
    redis.call('SET', K1, cached, 'PX', pxOf(x - now))
  else
    cached = nil
    redis.call('DEL', K1)
  end
end
local function decide(cost)
  local x = tat()
  local inc = emission * cost
  local nx = x + inc
  local diff = now - (nx - tol)
  if diff < 0 then
    local retry = -1
    if inc <= tol then retry = -diff end
    return false, left(x - now), retry, x - now
  end
  if cost > 0 then put(nx) end
  return true, left(nx - now), 0, nx - now
end
local function adjust(d)
  local nx = tat() + emission * d
  if nx < now then nx = now end
  put(nx)
end
`

/** ARGV 4 capacity, 5 refill rate (tokens per µs). */
const TOKEN_BUCKET = `
local cap = tonumber(ARGV[4])
local rate = tonumber(ARGV[5])
local function exists() return redis.call('EXISTS', K1) end
local function level()
  local v = redis.call('HMGET', K1, 't', 'a')
  if not v[1] then return cap end
  local el = now - tonumber(v[2])
  if el < 0 then el = 0 end
  local x = tonumber(v[1]) + el * rate
  if x > cap then x = cap end
  return x
end
local function put(x)
  if x >= cap then redis.call('DEL', K1) return end
  redis.call('HSET', K1, 't', num(x), 'a', num(now))
  redis.call('PEXPIRE', K1, pxOf((cap - x) / rate))
end
local function decide(cost)
  local x = level()
  if cost > cap then return false, math.floor(x), -1, (cap - x) / rate end
  if x + 1e-9 < cost then return false, math.floor(x), (cost - x) / rate, (cap - x) / rate end
  local rest = x - cost
  if rest < 0 then rest = 0 end
  if cost > 0 then put(rest) end
  return true, math.floor(rest), 0, (cap - rest) / rate
end
local function adjust(d)
  local x = level() - d
  if x > cap then x = cap end
  put(x)
end
`

/** ARGV 4 limit, 5 window (µs). */
const FIXED_WINDOW = `
local limit = tonumber(ARGV[4])
local win = tonumber(ARGV[5])
local function load()
  local v = redis.call('HMGET', K1, 's', 'c')
  if not v[1] then return nil, 0 end
  local s = tonumber(v[1])
  if now >= s + win then return nil, 0 end
  return s, tonumber(v[2])
end
local function exists() local s = load() if s then return 1 end return 0 end
local function put(s, c)
  redis.call('HSET', K1, 's', num(s), 'c', c)
  redis.call('PEXPIRE', K1, pxOf(s + win - now))
end
local function decide(cost)
  local s, c = load()
  local reset = 0
  if s then reset = s + win - now end
  if cost > limit then return false, limit - c, -1, reset end
  if c + cost > limit then return false, limit - c, reset, reset end
  if cost == 0 then return true, limit - c, 0, reset end
  if not s then s = now end
  put(s, c + cost)
  return true, limit - c - cost, 0, s + win - now
end
local function adjust(d)
  local s, c = load()
  c = c + d
  if c < 0 then c = 0 end
  if not s then
    if c == 0 then redis.call('DEL', K1) return end
    s = now
  end
  put(s, c)
end
`

/** ARGV 4 limit, 5 window (µs). Members are `<µs>:<sequence>`: unique even within one microsecond. */
const SLIDING_LOG = `
local limit = tonumber(ARGV[4])
local win = tonumber(ARGV[5])
local function prune() redis.call('ZREMRANGEBYSCORE', K1, '-inf', num(now - win)) end
local function exists() prune() return redis.call('EXISTS', K1) end
local function newestReset()
  local r = redis.call('ZRANGE', K1, -1, -1, 'WITHSCORES')
  if r[2] then return tonumber(r[2]) + win - now end
  return 0
end
local function add(k)
  local last = redis.call('INCRBY', K3, k)
  local first = last - k + 1
  local stamp = num(now)
  local i = first
  while i <= last do
    local args = {}
    local stop = math.min(last, i + 499)
    for j = i, stop do
      args[#args + 1] = stamp
      args[#args + 1] = stamp .. ':' .. j
    end
    redis.call('ZADD', K1, unpack(args))
    i = stop + 1
  end
  local px = pxOf(win)
  redis.call('PEXPIRE', K1, px)
  redis.call('PEXPIRE', K3, px)
end
local function decide(cost)
  prune()
  local c = redis.call('ZCARD', K1)
  local reset = newestReset()
  if cost > limit then return false, limit - c, -1, reset end
  local excess = c + cost - limit
  if excess > 0 then
    local r = redis.call('ZRANGE', K1, excess - 1, excess - 1, 'WITHSCORES')
    return false, limit - c, tonumber(r[2]) + win - now, reset
  end
  if cost == 0 then return true, limit - c, 0, reset end
  add(cost)
  return true, limit - c - cost, 0, win
end
local function adjust(d)
  prune()
  if d > 0 then add(d) elseif d < 0 then redis.call('ZPOPMAX', K1, -d) end
end
`

/** ARGV 4 limit, 5 window (µs). */
const SLIDING_WINDOW = `
local limit = tonumber(ARGV[4])
local win = tonumber(ARGV[5])
local function load()
  local st = math.floor(now / win) * win
  local v = redis.call('HMGET', K1, 's', 'p', 'c')
  if not v[1] then return st, 0, 0 end
  local s0 = tonumber(v[1])
  if s0 + 2 * win <= now then return st, 0, 0 end
  if s0 == st then return s0, tonumber(v[2]), tonumber(v[3]) end
  return st, tonumber(v[3]), 0
end
local function exists() local s, p, c = load() if p > 0 or c > 0 then return 1 end return 0 end
local function est(s, p, c) return p * (win - (now - s)) / win + c end
local function resetOf(s, p, c)
  if c > 0 then return s + 2 * win - now end
  if p > 0 then return s + win - now end
  return 0
end
local function retryOf(s, p, c, cost)
  local el = now - s
  if c + cost <= limit and p > 0 then
    local at = win - (limit - c - cost) * win / p
    if at < win then
      local r = at - el
      if r < 0 then r = 0 end
      return r
    end
  end
  local at = 0
  if c > 0 then at = win - (limit - cost) * win / c if at < 0 then at = 0 end end
  return win - el + at
end
local function put(s, p, c)
  if p == 0 and c == 0 then redis.call('DEL', K1) return end
  redis.call('HSET', K1, 's', num(s), 'p', p, 'c', c)
  redis.call('PEXPIRE', K1, pxOf(resetOf(s, p, c)))
end
local function decide(cost)
  local s, p, c = load()
  local used = est(s, p, c)
  if cost > limit then return false, limit - used, -1, resetOf(s, p, c) end
  if used + cost > limit + 1e-9 then return false, limit - used + 1e-9, retryOf(s, p, c, cost), resetOf(s, p, c) end
  if cost == 0 then return true, limit - used + 1e-9, 0, resetOf(s, p, c) end
  put(s, p, c + cost)
  return true, limit - used - cost + 1e-9, 0, resetOf(s, p, c + cost)
end
local function adjust(d)
  local s, p, c = load()
  c = c + d
  if c < 0 then
    p = p + c
    if p < 0 then p = 0 end
    c = 0
  end
  put(s, p, c)
end
`

/** The command name and Lua source of each algorithm (ioredis `defineCommand`; the caller passes the key count: 4 per decision). */
export const LIMITER_SCRIPTS = {
  gcra: { name: 'troupeLimiterGcra', lua: PRELUDE + GCRA + DRIVER },
  'token-bucket': { name: 'troupeLimiterTokenBucket', lua: PRELUDE + TOKEN_BUCKET + DRIVER },
  'fixed-window': { name: 'troupeLimiterFixedWindow', lua: PRELUDE + FIXED_WINDOW + DRIVER },
  'sliding-log': { name: 'troupeLimiterSlidingLog', lua: PRELUDE + SLIDING_LOG + DRIVER },
  'sliding-window': { name: 'troupeLimiterSlidingWindow', lua: PRELUDE + SLIDING_WINDOW + DRIVER },
} as const
