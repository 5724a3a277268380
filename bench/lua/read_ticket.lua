-- Scenario 1: an owner reads one of their tickets, GET /api/v1/repairs/{id}.
-- data/tickets.txt: "<token> <ticket id>" per owner (2 000 owners); each
-- request picks one at random, so reads spread over the owners' rows.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")
local reqs = {}

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  for _, line in ipairs(common.lines(os.getenv("BENCH_DATA") .. "/tickets.txt")) do
    local f = common.split(line)
    reqs[#reqs + 1] = wrk.format("GET", "/api/v1/repairs/" .. f[2], {Authorization = "Bearer " .. f[1]})
  end
end

function request()
  return reqs[math.random(#reqs)]
end
