-- GET /sessions/events/{id} of a random loaded document.
local bench = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
    bench.init_thread()
end

function request()
    return wrk.format("GET", bench.path .. "/" .. bench.random_doc_id())
end
