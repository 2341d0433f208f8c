-- POST /sessions/events: a new message event of about 550 bytes with a unique id (w<tag>_<thread>_<n>),
-- a random customer and the current time as creation_utc.
local bench = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local headers, thread, count

local template = '{"id": "w%s_%d_%d", "version": "0.6.0", "creation_utc": "%s.%06d+00:00", '
    .. '"session_id": "sess_w%d", "customer_id": "%s", "agent_id": "agent_1", "source": "customer", '
    .. '"kind": "message", "offset": %d, "correlation_id": "RID(w%d)::%d", "deleted": false, '
    .. '"data": {"message": "Hello, I would like to change the delivery address of my last order to '
    .. 'the office address, and please make sure the invoice shows the company name as well. '
    .. 'Thank you!", "participant": {"id": "%s", "display_name": "Customer"}, "flagged": false, '
    .. '"tags": [], "draft": null}}'

function init(args)
    thread = bench.init_thread()
    headers = bench.json_headers()
    count = 0
end

function request()
    count = count + 1
    local customer = bench.random_customer()
    local body = string.format(template, bench.tag, thread, count,
        os.date("!%Y-%m-%dT%H:%M:%S"), count % 1000000, count, customer, count % 10, count, count, customer)
    return wrk.format("POST", bench.path, headers, body)
end
