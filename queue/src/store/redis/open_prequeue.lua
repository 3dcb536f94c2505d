-- The fair start (see `QueueStore::open_prequeue`): tickets for the
-- pre-queue, shuffled ones first in the given order, then late arrivals by
-- join time; then the opened settings. One script, so no join can slip in
-- between the tickets and the state change.
-- The permutation itself is computed in Rust (HMAC-SHA256 is not available
-- to Redis Lua); the script only applies it.
-- KEYS: settings, prequeue, seq, fifo, visitors, seen
-- ARGV: expected version, now_ms, n, n visitor ids in shuffled order, then
--       the settings fields and values, alternating
-- Reply: {1, tickets given} | {0} version differs
if redis.call('HEXISTS', KEYS[1], 'state') == 0 then
  return {0}
end
local current = '0'
local policy = redis.call('HGET', KEYS[1], 'policy')
if policy then
  local ok, decoded = pcall(cjson.decode, policy)
  if ok and type(decoded) == 'table' and decoded.version then
    current = string.format('%d', decoded.version)
  end
end
if current ~= ARGV[1] then
  return {0}
end
local given = 0
local function give(visitor)
  local ticket = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[4], ticket, visitor)
  redis.call('HSET', KEYS[5], visitor, ticket)
  redis.call('ZADD', KEYS[6], ARGV[2], visitor)
  given = given + 1
end
local n = tonumber(ARGV[3])
for i = 4, 3 + n do
  -- ZREM also skips anyone listed twice or no longer in the pre-queue.
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    give(ARGV[i])
  end
end
-- Arrivals the caller did not order: by join time (ties by id), FIFO.
for _, visitor in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  give(visitor)
end
redis.call('DEL', KEYS[2])
local fields = {}
for i = 4 + n, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
return {1, given}
