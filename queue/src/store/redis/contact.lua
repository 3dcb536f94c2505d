-- Keeps a visitor's contact (see `QueueStore::set_contact`), only for a
-- visitor the event knows.
-- KEYS: settings, visitors, contacts
-- ARGV: visitor, contact
-- Reply: 1 if kept, 0 if the visitor is unknown, 2 if the event has no queue
if redis.call('HEXISTS', KEYS[1], 'state') == 0 then
  return 2
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return 1
