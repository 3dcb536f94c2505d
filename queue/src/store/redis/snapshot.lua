-- A consistent view for computing positions from scratch. `departed` holds
-- only departures already reported by ticks up to `seq`; later ones arrive
-- with tick `seq + 1`. Cost: O(departed above the head), a repair path.
-- KEYS: seq, fifo, departed, active, settings, clock, waitlist
-- Reply: {-1} unknown event |
--        {1, seq, head, last_ticket, departed[], active, waiting, settings[6],
--         returning, epoch, restored_at, sold_out (0|1)}
local settings = redis.call('HMGET', KEYS[5], 'state', 'admit_per_minute',
  'max_active', 'session_ttl_seconds', 'departure_grace_seconds', 'policy')
if not settings[1] then
  return {-1}
end
local clock = redis.call('HMGET', KEYS[6], 'seq', 'head', 'epoch', 'restored_at')
local head = tonumber(clock[2]) or 0
return {
  1,
  tonumber(clock[1]) or 0,
  head,
  tonumber(redis.call('GET', KEYS[1]) or '0'),
  redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. string.format('%d', head), '+inf'),
  redis.call('ZCARD', KEYS[4]),
  redis.call('ZCARD', KEYS[2]),
  settings,
  redis.call('ZCOUNT', KEYS[2], '-inf', string.format('%d', head)),
  clock[3] or '', clock[4] or '0',
  redis.call('HGET', KEYS[7], 'sold_out') == '1' and 1 or 0,
}
