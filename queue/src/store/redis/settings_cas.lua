-- Compare-and-set of an event's settings (see `QueueStore::put_settings_if`):
-- operators editing concurrently must not silently overwrite each other.
-- KEYS: settings
-- ARGV: expected version ('' = the event must not exist yet), then the
--       settings fields and values, alternating, as `HSET` takes them
-- Reply: 1 if written, 0 if the stored version differs
local current = ''
if redis.call('HEXISTS', KEYS[1], 'state') == 1 then
  -- The version lives in the policy JSON, written by Rust; a missing policy
  -- (data from before policies existed) counts as version 0.
  current = '0'
  local policy = redis.call('HGET', KEYS[1], 'policy')
  if policy then
    local ok, decoded = pcall(cjson.decode, policy)
    if ok and type(decoded) == 'table' and decoded.version then
      current = string.format('%d', decoded.version)
    end
  end
end
if current ~= ARGV[1] then
  return 0
end
local fields = {}
for i = 2, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
return 1
