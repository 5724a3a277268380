-- Scenario 2: an owner lists their tickets, 20 a page (the first page: the
-- newest 20 of their 50), GET /api/v1/repairs?limit=20.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")
local reqs = {}

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  for _, token in ipairs(common.lines(os.getenv("BENCH_DATA") .. "/owners.txt")) do
    reqs[#reqs + 1] = wrk.format("GET", "/api/v1/repairs?limit=20", {Authorization = "Bearer " .. token})
  end
end

function request()
  return reqs[math.random(#reqs)]
end
