-- PATCH /sessions/events/{id} of a random loaded document with two top-level fields.
local bench = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local headers
local body = os.getenv("BENCH_PATCH")

function init(args)
    bench.init_thread()
    headers = bench.json_headers()
end

function request()
    return wrk.format("PATCH", bench.path .. "/" .. bench.random_doc_id(), headers, body)
end
