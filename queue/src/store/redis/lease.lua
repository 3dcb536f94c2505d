-- Takes the admitter lease if free, renews it if `node` holds it.
-- KEYS: lease
-- ARGV: node, ttl_ms
-- Reply: 1 if `node` holds the lease now, else 0
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
