-- wrk -s get.lua: GET /kv/<key> of random keys key00000000 .. key(N-1),
-- N from the KEYS environment variable (default 100000). KEYS=1000 keeps
-- every read in the block cache (warm); the whole range misses (cold).
local keys = tonumber(os.getenv("KEYS") or "100000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("/kv/key%08d", math.random(0, keys - 1)))
end
