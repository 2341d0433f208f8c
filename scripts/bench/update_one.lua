-- POST /sessions/events:updateOne merging two fields into the first document (keyset order) of a
-- random customer: {"where": {"customer_id": "cust_<c>"}, "params": BENCH_PATCH}.
local bench = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local headers
local patch = os.getenv("BENCH_PATCH")

function init(args)
    bench.init_thread()
    headers = bench.json_headers()
end

function request()
    local body = '{"where": {"customer_id": "' .. bench.random_customer() .. '"}, "params": ' .. patch .. '}'
    return wrk.format("POST", bench.path .. ":updateOne", headers, body)
end
