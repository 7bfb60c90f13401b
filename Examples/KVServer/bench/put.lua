-- wrk -s put.lua: PUT /kv/<random key> with a 100-byte body.
math.randomseed(os.time())
local body = string.rep("v", 100)
request = function()
  return wrk.format("PUT", string.format("/kv/put%08d", math.random(0, 9999999)), nil, body)
end
