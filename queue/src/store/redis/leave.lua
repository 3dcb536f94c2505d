-- A waiter leaves now (see `QueueStore::leave`). The ticket is queued for
-- the next tick's `departed` list; the tick also indexes it.
-- KEYS: fifo, visitors, seen, pending_departed
-- ARGV: visitor
-- Reply: 1 if they were waiting, else 0
local record = redis.call('HGET', KEYS[2], ARGV[1])
if not record or not string.match(record, '^%d+$') then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], record .. '|d')
redis.call('RPUSH', KEYS[4], record)
return 1
