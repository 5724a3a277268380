-- The HTTP ceiling: GET /healthz, a static answer from the event loop.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
require("common")
wrk.method = "GET"
wrk.path = "/healthz"
