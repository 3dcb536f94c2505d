-- Repairs an event after the store lost data (see `QueueStore::restore`).
-- KEYS: seq, clock, active, settings
-- ARGV: restore id, ticket floor, head floor, placeholder sessions,
--       placeholders' expiry ms, now ms, placeholder prefix,
--       then the settings hash as field, value pairs
-- Reply: 1 restored | 0 already restored under this id
if redis.call('HGET', KEYS[2], 'restored_from') == ARGV[1] then
  return 0
end
local function raise(current, floor)
  return math.max(tonumber(current or '0'), tonumber(floor))
end
redis.call('SET', KEYS[1], string.format('%d', raise(redis.call('GET', KEYS[1]), ARGV[2])))
local clock = redis.call('HMGET', KEYS[2], 'head', 'restored_through')
redis.call('HSET', KEYS[2],
  'head', string.format('%d', raise(clock[1], ARGV[3])),
  'restored_through', string.format('%d', raise(clock[2], ARGV[2])),
  'restored_from', ARGV[1], 'restored_at', ARGV[6])
for n = 1, tonumber(ARGV[4]) do
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[7] .. n)
end
if redis.call('HEXISTS', KEYS[4], 'state') == 0 then
  redis.call('HSET', KEYS[4], unpack(ARGV, 8))
end
return 1
