-- common.lua: shared by the scenario scripts (wrk, LuaJIT).
--   lines(path)       the lines of a data file written by bench.py
--   thread ids        setup() numbers the threads; each thread's `tid`
--   done()            prints one BENCH_JSON line with the figures bench.py reads
--   count_statuses()  installs a response() hook counting statuses and 503s
--                     that carry Retry-After (only for the overload run: a
--                     response() hook makes wrk parse every response in Lua)
local M = {}

function M.lines(path)
  local out = {}
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in f:lines() do
    if #line > 0 then out[#out + 1] = line end
  end
  f:close()
  assert(#out > 0, path .. " is empty")
  return out
end

function M.split(line)
  local out = {}
  for field in line:gmatch("%S+") do out[#out + 1] = field end
  return out
end

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  threads[#threads + 1] = thread
end

-- Sums a per-thread table (name) over the threads into a JSON object text.
local function sum_tables(name)
  local total = {}
  for _, t in ipairs(threads) do
    local tbl = t:get(name)
    if type(tbl) == "table" then
      for k, v in pairs(tbl) do total[tostring(k)] = (total[tostring(k)] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(total) do parts[#parts + 1] = string.format('"%s":%d', k, v) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"statuses":%s,"retry_after_503":%s}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    sum_tables("statuses"), sum_tables("retry_after")))
end

function M.count_statuses()
  statuses = {}
  retry_after = {}
  response = function(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status == 503 then
      local ra = headers["retry-after"] or headers["Retry-After"]
      if ra then retry_after["with"] = (retry_after["with"] or 0) + 1
      else retry_after["without"] = (retry_after["without"] or 0) + 1 end
    end
  end
end

-- BENCH_COUNT_STATUSES=1 turns the hook on for any scenario script.
if os.getenv("BENCH_COUNT_STATUSES") == "1" then M.count_statuses() end

return M
