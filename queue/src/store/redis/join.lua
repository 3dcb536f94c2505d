-- Gives a visitor a place in the queue, atomically (see `QueueStore::join`).
-- KEYS: seq, fifo, visitors, seen, settings, prequeue
-- ARGV: visitor, now_ms, joinable states (comma separated, from Rust so the
--       rule lives in one place)
-- Reply: {ticket, fresh (0|1)} (ticket 0 in the pre-queue) | {-1} unknown
--        event | {-2, state} refused
local state = redis.call('HGET', KEYS[5], 'state')
if not state then
  return {-1}
end
-- A visitor who has a place (waiting `t`, admitted `t|a|..`, pre-queue
-- `0|p`) gets it back, even when the queue no longer takes new visitors.
-- Departed (`t|d`) and finished (`t|f`) visitors have none: they start again.
local record = redis.call('HGET', KEYS[3], ARGV[1])
local ended = record and (string.sub(record, -2) == '|d' or string.sub(record, -2) == '|f')
if record and not ended then
  return {tonumber(string.match(record, '^%d+')), 0}
end
if not string.find(',' .. ARGV[3] .. ',', ',' .. state .. ',', 1, true) then
  return {-2, state}
end
-- Pre-queue: no ticket until the shuffle at opening (open_prequeue.lua).
if state == 'prequeue' then
  redis.call('ZADD', KEYS[6], 'NX', ARGV[2], ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], '0|p')
  return {0, 1}
end
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ticket)
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
return {ticket, 1}
