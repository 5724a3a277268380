-- The peer's "owner reads a ticket" load: its own wrk script
-- (BENCH_PEER_LUA, the peer's wrk/tickets.lua, given the tokens file and the
-- path prefix as wrk arguments), plus common.lua's done() for the figures
-- bench.py reads. The peer's setup() replaces common's; only the status
-- counts (unused here) depend on it.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
require("common")
dofile(os.getenv("BENCH_PEER_LUA"))
