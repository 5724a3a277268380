-- Scenario 4: a 1 MB JPEG upload, POST /api/v1/uploads, multipart/form-data
-- as wx.uploadFile sends it (the photo in the field "file"). The photos are
-- data/photo<N>.jpg, made by bench/run.sh (distinct pictures, each with an
-- EXIF block to strip); each request is one of them from one of the owners.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")
local reqs = {}
local boundary = "----WebKitFormBoundarybench7MA4YWxkTrZu0gW"

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  local dir = os.getenv("BENCH_DATA")
  local tokens = common.lines(dir .. "/owners.txt")
  local i = 1
  while true do
    local f = io.open(string.format("%s/photo%d.jpg", dir, i), "rb")
    if not f then break end
    local jpeg = f:read("*a")
    f:close()
    local body = "--" .. boundary .. "\r\n" ..
      'Content-Disposition: form-data; name="file"; filename="wx' .. i .. '.jpg"\r\n' ..
      "Content-Type: image/jpeg\r\n\r\n" .. jpeg .. "\r\n--" .. boundary .. "--\r\n"
    reqs[#reqs + 1] = wrk.format("POST", "/api/v1/uploads", {
      ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
      Authorization = "Bearer " .. tokens[(i * 37) % #tokens + 1]}, body)
    i = i + 1
  end
  assert(#reqs > 0, "no photos in " .. dir)
end

function request()
  return reqs[math.random(#reqs)]
end
