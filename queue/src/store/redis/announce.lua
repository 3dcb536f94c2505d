-- Sets or clears an event's announcement (see `QueueStore::announce`),
-- only for an event that has a queue.
-- KEYS: settings, announcement
-- ARGV: the announcement as JSON, '' to clear
-- Reply: 1 if done, 0 if the event has no queue
if redis.call('HEXISTS', KEYS[1], 'state') == 0 then
  return 0
end
if ARGV[1] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[1])
end
return 1
