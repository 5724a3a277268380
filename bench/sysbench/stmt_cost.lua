-- bench/sysbench/stmt_cost.lua: what one prepared statement costs MariaDB,
-- run the way sysbench runs its point select, so that the two rates compare
-- (bench/RESULTS.md, "The caller's checks as joins").
--
--   SQLFILE=variant.sql SPEC=sti TICKETS=build/bench/data/tickets.txt \
--   sysbench bench/sysbench/stmt_cost.lua --db-driver=mysql \
--     --mysql-socket=build/bench/run/db/mysql.sock --mysql-user=root \
--     --mysql-db=gateway --threads=64 --time=6 run
--
-- SQLFILE holds one statement with `?` markers; SPEC names each marker in
-- order: s a session id, i the owner's user id, t the ticket id. Each event
-- binds a random line of TICKETS ("<token> <ticket id>", as bench.py writes
-- it: the user id is the token's second field) and executes the statement
-- once. Start the stack with `make bench` (or bench.py's Stack) first.
local rows = {}

function thread_init()
  local f = assert(io.open(os.getenv("TICKETS")))
  for line in f:lines() do
    local tok, tid = line:match("^(%S+) (%d+)")
    local uid = tok:match("^[^.]+%.(%d+)%.")
    rows[#rows + 1] = {tonumber(uid), tonumber(tid), tok:sub(1, 20)}
  end
  f:close()
  local sf = assert(io.open(os.getenv("SQLFILE")))
  local sql = sf:read("*a")
  sf:close()
  drv = sysbench.sql.driver()
  con = drv:connect()
  stmt = con:prepare(sql)
  params = {}
  local binds = {}
  for k in os.getenv("SPEC"):gmatch("[sit]") do
    local p = k == "s" and stmt:bind_create(sysbench.sql.type.VARCHAR, 32)
      or stmt:bind_create(sysbench.sql.type.BIGINT)
    params[#params + 1] = {k, p}
    binds[#binds + 1] = p
  end
  stmt:bind_param(unpack(binds))
end

function event()
  local r = rows[sysbench.rand.uniform(1, #rows)]
  for _, p in ipairs(params) do
    p[2]:set(p[1] == "s" and r[3] or p[1] == "i" and r[1] or r[2])
  end
  local rs = stmt:execute()
  if rs then
    rs:free()
  end
end

function thread_done()
  stmt:close()
  con:disconnect()
end
