-- Gives a visitor a place in the queue, atomically (see `QueueStore::join`
-- and `QueueStore::reinstate`).
-- KEYS: seq, fifo, visitors, seen, settings, prequeue, pending_reinstated
-- ARGV: visitor, now_ms, joinable states (comma separated, from Rust so the
--       rule lives in one place), mode (`join` | `reinstate`)
-- Reply: {ticket, fresh (0|1), reinstated (0|1)} (ticket 0 in the
--        pre-queue) | {-1} unknown event | {-2, state} refused |
--        {-3} no kept place (mode `reinstate` only)
local state = redis.call('HGET', KEYS[5], 'state')
if not state then
  return {-1}
end
local now = tonumber(ARGV[2])
local record = redis.call('HGET', KEYS[3], ARGV[1])
if record then
  -- Departed by absence (`t|d|ms`): the place is kept for
  -- `place_ttl_seconds` (policy JSON; null = the whole sale).
  local ticket, gone = string.match(record, '^(%d+)|d|(%d+)$')
  if ticket then
    local ok, policy = pcall(cjson.decode, redis.call('HGET', KEYS[5], 'policy') or '{}')
    local ttl = ok and type(policy) == 'table' and policy['place_ttl_seconds']
    if type(ttl) ~= 'number' or now - tonumber(gone) < ttl * 1000 then
      redis.call('ZADD', KEYS[2], ticket, ARGV[1])
      redis.call('HSET', KEYS[3], ARGV[1], ticket)
      redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
      redis.call('RPUSH', KEYS[7], ticket)
      return {tonumber(ticket), 0, 1}
    end
  end
end
if ARGV[4] == 'reinstate' then
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
if not string.find(',' .. ARGV[3] .. ',', ',' .. state .. ',', 1, true) then
  return {-2, state}
end
-- Pre-queue: no ticket until the shuffle at opening (open_prequeue.lua).
if state == 'prequeue' then
  redis.call('ZADD', KEYS[6], 'NX', ARGV[2], ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], '0|p')
  return {0, 1, 0}
end
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ticket)
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
return {ticket, 1, 0}
