-- wrk -s mixed.lua: writes for the replication run: 80 % PUT of a random
-- key mix00000000 .. mix00199999 with a 20..200-byte binary value (every
-- byte value, tabs and newlines included), 20 % DELETE of such a key.
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
request = function()
  local path = string.format("/kv/mix%08d", math.random(0, 199999))
  if math.random() < 0.2 then return wrk.format("DELETE", path) end
  local bytes = {}
  for i = 1, math.random(20, 200) do bytes[i] = string.char(math.random(0, 255)) end
  return wrk.format("PUT", path, nil, table.concat(bytes))
end
