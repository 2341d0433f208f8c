-- GET /sessions/events?customer_id=eq.<c>&limit=100[&cursor=<token>] for a random customer of the
-- positions file (BENCH_PAGES, made by pages.sql) at position BENCH_POSITION: first (no cursor),
-- middle or last.
local bench = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local paths = {}

function init(args)
    bench.init_thread()
    local position = os.getenv("BENCH_POSITION") or "first"
    for line in io.lines(os.getenv("BENCH_PAGES")) do
        local customer, _, middle, last = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
        local path = bench.path .. "?customer_id=eq." .. customer .. "&limit=100"
        if position == "middle" then
            path = path .. "&cursor=" .. middle
        elseif position == "last" then
            path = path .. "&cursor=" .. last
        end
        paths[#paths + 1] = path
    end
    assert(#paths > 0, "no customers in " .. os.getenv("BENCH_PAGES"))
end

function request()
    return wrk.format("GET", paths[math.random(1, #paths)])
end
