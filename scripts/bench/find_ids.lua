-- POST /sessions/events:find with the body in BENCH_FIND_BODY: an $or of one {"id": {"$eq": ...}}
-- per loaded id, as Parlant's list_customers(tags=...) sends it (bench.sh writes the file).
local bench = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local request_text

function init(args)
    bench.init_thread()
    local file = assert(io.open(os.getenv("BENCH_FIND_BODY"), "rb"))
    local body = file:read("*a")
    file:close()
    request_text = wrk.format("POST", bench.path .. ":find", bench.json_headers(), body)
end

function request()
    return request_text
end
