-- Scenario 3: a buyer leaves a lead, POST /api/v1/leads (insert, funnel
-- history and round-robin assignment in one transaction). Every request is a
-- new phone, so every one is a new lead, spread over the 4 projects.
-- data/buyers.txt: one buyer token a line. BENCH_RUN_SEQ (10..99, one per
-- wrk run) keeps phones unique across runs: 1 <seq> <thread> <7-digit n>.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")
local tokens = {}
local seq = tonumber(os.getenv("BENCH_RUN_SEQ") or "10")
local n = 0

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  for _, token in ipairs(common.lines(os.getenv("BENCH_DATA") .. "/buyers.txt")) do
    tokens[#tokens + 1] = {["Content-Type"] = "application/json", Authorization = "Bearer " .. token}
  end
end

function request()
  n = n + 1
  local phone = string.format("1%02d%d%07d", seq, tid % 10, n)
  local body = string.format(
    '{"project_id":%d,"name":"基准客户%d","phone":"%s","consent":true,"channel":"poster",' ..
    '"interest":{"layout":"三室两厅","area":"120","budget":"300万"}}', n % 4 + 1, n, phone)
  return wrk.format("POST", "/api/v1/leads", tokens[math.random(#tokens)], body)
end
