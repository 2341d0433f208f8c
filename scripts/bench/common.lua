-- Shared by the wrk scripts of scripts/bench.sh (loaded with dofile): settings from the
-- environment, the ids of the loaded documents, request helpers, and the done() hook that prints
-- one line `BENCH_RESULT {json}` with the figures bench.sh reads.
--
-- Environment: BENCH_DOCS (documents loaded), BENCH_COLLECTION_PATH (/sessions/events),
-- BENCH_CUSTOMERS (1000), BENCH_TAG (makes inserted ids unique across runs). The Authorization
-- header comes from wrk's -H option, so it is in wrk.headers.

local bench = {}

bench.docs = tonumber(os.getenv("BENCH_DOCS") or "100000")
bench.path = os.getenv("BENCH_COLLECTION_PATH") or "/sessions/events"
bench.customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "1000")
bench.tag = os.getenv("BENCH_TAG") or "0"

-- The id of loaded document i: 10000000000 + (i * 2654435761) mod 2^32, in decimal (load.sql).
-- Split so that every intermediate stays exact in a double.
function bench.doc_id(i)
    local k = (((i * 40503) % 65536) * 65536 + i * 31153) % 4294967296
    return string.format("%.0f", 10000000000 + k)
end

function bench.random_doc_id()
    return bench.doc_id(math.random(0, bench.docs - 1))
end

function bench.random_customer()
    return "cust_" .. math.random(0, bench.customers - 1)
end

-- wrk.headers (with -H's Authorization) plus a JSON content type, for requests with a body.
function bench.json_headers()
    local headers = {}
    for name, value in pairs(wrk.headers) do
        headers[name] = value
    end
    headers["Content-Type"] = "application/json"
    return headers
end

-- Each thread gets its own number (for unique ids) and its own random sequence.
local thread_count = 0
function setup(thread)
    thread_count = thread_count + 1
    thread:set("bench_thread", thread_count)
end

function bench.init_thread()
    local number = bench_thread or 0
    math.randomseed(os.time() * 1000 + number * 7919)
    return number
end

-- Requests per second, latency percentiles (µs) and every kind of error. wrk counts a response as
-- a status error when its status is 400 or above; the service sends no 1xx or 3xx on these routes.
function done(summary, latency, requests)
    local errors = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        'BENCH_RESULT {"requests": %d, "seconds": %.3f, "rps": %.1f, "bytes": %d, '
            .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
            .. '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_timeout": %d, '
            .. '"errors_status": %d}\n',
        summary.requests, seconds, summary.requests / seconds, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
        errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end

return bench
