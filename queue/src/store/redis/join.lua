-- Gives visitors places in one event's queue, one after another in ARGV's
-- order, each atomically (see `QueueStore::join` and `reinstate`). Joins
-- that arrive together share one call (`joins.rs`): the event's state and
-- policy are read once, and Redis parses and runs one script instead of
-- one per visitor.
-- KEYS: seq, fifo, visitors, seen, settings, prequeue, pending_reinstated
-- ARGV: now_ms, joinable states (comma separated, from Rust so the rule
--       lives in one place), mode (`join` | `reinstate`), visitor...
-- Reply: {-1} unknown event | {1, answer...}, one answer per visitor:
--        {ticket, fresh (0|1), reinstated (0|1)} (ticket 0 in the
--        pre-queue) | {-2, state} refused | {-3} no kept place (mode
--        `reinstate` only)
local state = redis.call('HGET', KEYS[5], 'state')
if not state then
  return {-1}
end
local now = tonumber(ARGV[1])
-- Scores go as sent: a Lua number could come back in another notation.
local now_ms = ARGV[1]
local joinable = string.find(',' .. ARGV[2] .. ',', ',' .. state .. ',', 1, true)
local reinstate = ARGV[3] == 'reinstate'
-- `place_ttl_seconds` (policy JSON; null = the whole sale), read when a
-- departed visitor first needs it; false when there is none.
local ttl
local function kept(gone)
  if ttl == nil then
    local ok, policy = pcall(cjson.decode, redis.call('HGET', KEYS[5], 'policy') or '{}')
    ttl = ok and type(policy) == 'table' and policy['place_ttl_seconds']
    if type(ttl) ~= 'number' then
      ttl = false
    end
  end
  return not ttl or now - tonumber(gone) < ttl * 1000
end

local function place(visitor)
  local record = redis.call('HGET', KEYS[3], visitor)
  if record then
    -- Departed by absence (`t|d|ms`): the place is kept for a while.
    local ticket, gone = string.match(record, '^(%d+)|d|(%d+)$')
    if ticket and kept(gone) then
      redis.call('ZADD', KEYS[2], ticket, visitor)
      redis.call('HSET', KEYS[3], visitor, ticket)
      redis.call('ZADD', KEYS[4], now_ms, visitor)
      redis.call('RPUSH', KEYS[7], ticket)
      return {tonumber(ticket), 0, 1}
    end
  end
  if reinstate then
    return {-3}
  end
  -- A visitor who has a place (waiting `t`, admitted `t|a|..`, pre-queue
  -- `0|p`) gets it back, even when the queue no longer takes new visitors.
  -- Departed (`t|d`, `t|d|ms` past its kept time) and finished (`t|f`)
  -- visitors have none: they start again.
  local ended = record and (string.find(record, '|d', 1, true) or string.sub(record, -2) == '|f')
  if record and not ended then
    return {tonumber(string.match(record, '^%d+')), 0, 0}
  end
  if not joinable then
    return {-2, state}
  end
  -- Pre-queue: no ticket until the shuffle at opening (open_prequeue.lua).
  if state == 'prequeue' then
    redis.call('ZADD', KEYS[6], 'NX', now_ms, visitor)
    redis.call('HSET', KEYS[3], visitor, '0|p')
    return {0, 1, 0}
  end
  local ticket = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[2], ticket, visitor)
  redis.call('HSET', KEYS[3], visitor, ticket)
  redis.call('ZADD', KEYS[4], now_ms, visitor)
  return {ticket, 1, 0}
end

local answers = {1}
for i = 4, #ARGV do
  answers[#answers + 1] = place(ARGV[i])
end
return answers
