-- Scenario 6: POST /api/v1/auth/login with a fresh wx.login code each time
-- (the fake WeChat, like WeChat, refuses a used code). Each code is a new
-- user: the first login of an owner on handover day.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
require("common")
local run = os.getenv("BENCH_RUN_ID") or "0"
local n = 0
local headers = {["Content-Type"] = "application/json"}

function request()
  n = n + 1
  local body = string.format('{"code":"C_bench_%s_%d_%d"}', run, tid, n)
  return wrk.format("POST", "/api/v1/auth/login", headers, body)
end
