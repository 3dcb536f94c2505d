-- Gives back a place the store lost, on a verified claim (see
-- `QueueStore::claim`).
-- KEYS: fifo, visitors, seen, clock, settings
-- ARGV: visitor, ticket, now ms
-- Reply: 1 placed | 0 not covered or already known | -1 unknown event
if not redis.call('HGET', KEYS[5], 'state') then
  return -1
end
local ticket = tonumber(ARGV[2])
local through = tonumber(redis.call('HGET', KEYS[4], 'restored_through') or '0')
if ticket < 1 or ticket > through or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 0
end
if #redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[2], 'LIMIT', 0, 1) > 0 then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
