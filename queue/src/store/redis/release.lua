-- Ends an active session early, freeing its slot (see `QueueStore::release`).
-- KEYS: visitors, active, offers
-- ARGV: visitor
-- Reply: 1 if the session was active, else 0
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then
  return 0
end
local ticket, kind = string.match(record, '^(%d+)|(%a)')
if kind ~= 'a' or redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ticket .. '|f')
-- An offer given back unused frees its seat for the next fan now.
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
