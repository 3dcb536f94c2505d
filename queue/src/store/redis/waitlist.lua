-- The waitlist of a sold-out event (see store/waitlist.rs), atomically.
-- KEYS: waitlist, offers, settings
-- ARGV: mode (`sold_out` | `return` | `take` | `read`), seats, visitor
--       (`take`, `read`; '' for none), now_ms (`read`)
-- Reply: `sold_out`: 1 if this call sold the event out, else 0;
--        `return`, `take`: 1 if the event is sold out, else 0 (ignored);
--        `read`: {sold_out (0|1), free, outstanding offers, the visitor's
--        offer expiry or -1}; {-1} for every mode when no such queue
if redis.call('EXISTS', KEYS[3]) == 0 then
  return -1
end
local mode = ARGV[1]
local sold_out = redis.call('HGET', KEYS[1], 'sold_out') == '1'
if mode == 'sold_out' then
  if sold_out then
    return 0
  end
  redis.call('HSET', KEYS[1], 'sold_out', '1', 'free', '0')
  return 1
end
if mode == 'read' then
  local now = tonumber(ARGV[4])
  local offers = redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[4], '+inf')
  local mine = -1
  if ARGV[3] ~= '' then
    local at = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[3]))
    if at and at > now then
      mine = at
    end
  end
  return {sold_out and 1 or 0, tonumber(redis.call('HGET', KEYS[1], 'free') or '0'), offers, mine}
end
if not sold_out then
  return 0
end
local seats = tonumber(ARGV[2])
if mode == 'return' then
  redis.call('HINCRBY', KEYS[1], 'free', seats)
elseif mode == 'take' then
  local free = tonumber(redis.call('HGET', KEYS[1], 'free') or '0')
  redis.call('HSET', KEYS[1], 'free', string.format('%d', math.max(0, free - seats)))
  redis.call('ZREM', KEYS[2], ARGV[3])
end
return 1
