-- The database-hop probe (bench/dbhop): an owner reads one of their
-- tickets, GET /r/<user>/<ticket>. data/dbhop_tickets.txt: "<user> <ticket>"
-- per owner (2 000 owners, each one's latest ticket, as scenario 1 of
-- bench/bench.py picks); each request picks one at random.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")
local reqs = {}

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  for _, line in ipairs(common.lines(os.getenv("BENCH_DATA") .. "/dbhop_tickets.txt")) do
    local f = common.split(line)
    reqs[#reqs + 1] = wrk.format("GET", "/r/" .. f[1] .. "/" .. f[2])
  end
end

function request()
  return reqs[math.random(#reqs)]
end
