-- One admission tick, atomically (see `QueueStore::tick`). Work is
-- O(expired + departed + admitted): it never scans or ranks the FIFO, so
-- its cost does not grow with the number of waiters.
-- KEYS: seq, fifo, visitors, seen, departed, pending_departed, active,
--       settings, clock, lease, pending_reinstated, waitlist, offers
-- ARGV: node, now_ms, admitting states (comma separated), max departures,
--       max expiries (both bounds keep one tick short), a fresh epoch (kept
--       only if the event has none yet), the ticket high-water mark and the
--       epoch last checkpointed ('' = any): below the one or with another
--       epoch the store lost writes, and nothing may change
-- Reply: {0} lease not held | {-1} unknown event | {-2} writes were lost |
--        {1, seq, head, last_ticket, expires_at, active, waiting,
--         admitted[visitor, ticket, ...], departed[ticket...], settings[6],
--         reinstated[ticket...], returning, epoch, restored_at,
--         sold_out (0|1)}
if redis.call('GET', KEYS[10]) ~= ARGV[1] then
  return {0}
end
local settings = redis.call('HMGET', KEYS[8], 'state', 'admit_per_minute',
  'max_active', 'session_ttl_seconds', 'departure_grace_seconds', 'policy')
if not settings[1] then
  return {-1}
end
local function int(x)
  return string.format('%d', x)
end
local stored_epoch = redis.call('HGET', KEYS[9], 'epoch')
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[7])
  or (ARGV[8] ~= '' and stored_epoch and stored_epoch ~= ARGV[8]) then
  return {-2}
end
local now = tonumber(ARGV[2])
local rate = tonumber(settings[2])
local cap = tonumber(settings[3])
local expires = now + tonumber(settings[4]) * 1000
local cutoff = now - tonumber(settings[5]) * 1000

-- 1. Retire expired sessions: they become finished.
local expired = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', int(now),
  'LIMIT', 0, ARGV[5])
for _, visitor in ipairs(expired) do
  redis.call('ZREM', KEYS[7], visitor)
  local ticket = string.match(redis.call('HGET', KEYS[3], visitor) or '', '^%d+')
  if ticket then
    redis.call('HSET', KEYS[3], visitor, ticket .. '|f')
  end
end

-- 2. Returns first (a fan may have come back and left again since the last
-- tick), then departures: tickets `leave` queued, then waiters idle past
-- the grace, stamped with the time so their place can be kept.
local reinstated = redis.call('LRANGE', KEYS[11], 0, -1)
redis.call('DEL', KEYS[11])
for i, ticket in ipairs(reinstated) do
  redis.call('ZREM', KEYS[5], ticket)
  reinstated[i] = tonumber(ticket)
end
local departed = redis.call('LRANGE', KEYS[6], 0, -1)
redis.call('DEL', KEYS[6])
if cutoff >= 0 then
  local idle = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', int(cutoff),
    'LIMIT', 0, ARGV[4])
  for _, visitor in ipairs(idle) do
    redis.call('ZREM', KEYS[4], visitor)
    local record = redis.call('HGET', KEYS[3], visitor)
    if record and string.match(record, '^%d+$') then
      redis.call('ZREM', KEYS[2], visitor)
      redis.call('HSET', KEYS[3], visitor, record .. '|d|' .. int(now))
      departed[#departed + 1] = record
    end
  end
end
for i, ticket in ipairs(departed) do
  departed[i] = tonumber(ticket)
end
table.sort(departed)
for _, ticket in ipairs(departed) do
  redis.call('ZADD', KEYS[5], int(ticket), int(ticket))
end

-- 3. Budget: the same arithmetic as `rate_budget` in store/mod.rs. When not
-- admitting only `last` moves (carry kept), so resuming releases no burst.
local clock = redis.call('HMGET', KEYS[9], 'last', 'carry', 'head')
local last = tonumber(clock[1]) or 0
local carry = tonumber(clock[2]) or 0
local budget = 0
local admits = string.find(',' .. ARGV[3] .. ',', ',' .. settings[1] .. ',', 1, true)
if admits and last ~= 0 and now > last then
  local total = carry + math.min(now - last, 5000) * rate / 60000
  budget = math.floor(total)
  carry = total - budget
  last = now
else
  last = math.max(last, now)
end

-- 4. Admit in ticket order (ZPOPMIN: lowest tickets first). Once sold
-- out, expired offers pass on and only free seats without an outstanding
-- offer are offered, with the offer's own expiry (store/waitlist.rs).
local active = redis.call('ZCARD', KEYS[7])
local n = math.min(budget, cap - active, redis.call('ZCARD', KEYS[2]))
local wl = redis.call('HMGET', KEYS[12], 'sold_out', 'free')
local sold_out = wl[1] == '1'
if sold_out then
  redis.call('ZREMRANGEBYSCORE', KEYS[13], '-inf', int(now))
  local room = (tonumber(wl[2]) or 0) - redis.call('ZCARD', KEYS[13])
  n = math.max(0, math.min(n, room))
  local ok, policy = pcall(cjson.decode, settings[6] or '{}')
  local ttl = ok and type(policy) == 'table' and tonumber(policy['offer_ttl_seconds']) or 900
  expires = now + ttl * 1000
end
local admitted = {}
if n > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], int(n))
  for i = 1, #popped, 2 do
    local visitor = popped[i]
    local ticket = int(tonumber(popped[i + 1]))
    redis.call('ZREM', KEYS[4], visitor)
    redis.call('HSET', KEYS[3], visitor,
      ticket .. '|a|' .. int(now) .. '|' .. int(expires))
    redis.call('ZADD', KEYS[7], int(expires), visitor)
    if sold_out then
      redis.call('ZADD', KEYS[13], int(expires), visitor)
    end
    admitted[#admitted + 1] = visitor
    admitted[#admitted + 1] = tonumber(ticket)
  end
end

-- 5. Head: everything below the first waiter is admitted or departed.
local last_ticket = tonumber(redis.call('GET', KEYS[1]) or '0')
local head = last_ticket
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if first[2] then
  head = tonumber(first[2]) - 1
end
head = math.max(head, tonumber(clock[3]) or 0)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', int(head))

-- 6. Sequence, clock and epoch (made by the first tick after the event's
-- state was created, or lost and restored).
local seq = redis.call('HINCRBY', KEYS[9], 'seq', 1)
local epoch = stored_epoch
if not epoch then
  epoch = ARGV[6]
  redis.call('HSET', KEYS[9], 'epoch', epoch)
end
redis.call('HSET', KEYS[9], 'last', int(last), 'carry',
  string.format('%.17g', carry), 'head', int(head))
return {
  1, seq, head, last_ticket, expires,
  redis.call('ZCARD', KEYS[7]), redis.call('ZCARD', KEYS[2]),
  admitted, departed, settings, reinstated,
  redis.call('ZCOUNT', KEYS[2], '-inf', int(head)),
  epoch, redis.call('HGET', KEYS[9], 'restored_at') or '0',
  sold_out and 1 or 0,
}
