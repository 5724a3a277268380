-- Staff scenario: a supervisor lists the overdue tickets of their project
-- (200 000 tickets), 20 a page, GET /api/v1/admin/repairs?project=5&
-- overdue=true&limit=20, through several pages: data/staff_pages.txt holds
-- "<token> <path>" a line, the path of each page with the cursor the API
-- returned for it (bench.py follows next_cursor once before the run; the
-- project's tickets do not change during it). Each request is a random
-- supervisor's random page.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")
local reqs = {}

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  for _, line in ipairs(common.lines(os.getenv("BENCH_DATA") .. "/staff_pages.txt")) do
    local f = common.split(line)
    reqs[#reqs + 1] = wrk.format("GET", f[2], {Authorization = "Bearer " .. f[1]})
  end
end

function request()
  return reqs[math.random(#reqs)]
end
