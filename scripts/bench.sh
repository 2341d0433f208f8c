#!/usr/bin/env bash
# Benchmark of the service against PostgreSQL itself (issue 5). Not part of the test suite.
#
# Usage:  scripts/bench.sh [--docs N] [--duration SECONDS] [--warmup SECONDS]
#                          [--connections "1 32"] [--ops "get insert ..."] [--json FILE] [--keep]
#
# Starts PostgreSQL (a private instance, PG_INSTANCE=bench, when scripts/lib/postgres.sh supports
# it; else the shared one), builds the release binary (--scratch-path $BENCH_SCRATCH, default
# .build-bench), starts the service with DB_POOL_SIZE=32 (BENCH_POOL_SIZE), CONNECTION_LIMIT=11000
# and CONNECTION_TIMEOUT=300 (room for the idle connections below) against a fresh schema
# `bench` and times it from spawn to the first /readyz 200, creates /sessions/events through the
# service, loads N realistic Parlant event documents (default 100,000; scripts/bench/load.sql says
# how they look and how customers are distributed) straight into its table, then measures with
# wrk, at each client count, for --duration seconds (default 10) after --warmup seconds (default 2):
#   get          GET /sessions/events/{id}, a random loaded document
#   metrics_off  right after get at each client count, the same wrk script against a second service
#                process started with METRICS=off for its run: what counting for /metrics costs
#   anchors      right after get at each client count, the same wrk script against the C
#                reference servers of ../shared/anchors (BENCH_ANCHORS), built with cc -O2 into the
#                run folder and pointed at the same table: cserver.c (THREADS = CPUs), cpipeline.c
#                (one process per CPU on one port, PGCONNS=2) and cpipeline.c with COALESCE=1; their
#                rows' ratio is to get's pgbench tps, their CPU per request is their own processes'.
#                Skipped, with a message, when the folder is missing or cc fails
#   insert       POST /sessions/events, a new ~550-byte document with a unique id
#   merge        PATCH /sessions/events/{id}, two fields into a random document
#   update_one   POST /sessions/events:updateOne, filter {"customer_id": random customer}
#   page_first   GET ?customer_id=eq.<c>&limit=100, the customer's first page
#   page_middle  ... with the cursor of the customer's middle page
#   page_last    ... with the cursor of its last page (cursors: scripts/bench/pages.sql)
#   stream       GET /sessions/events, every document streamed; 1 client, curl, BENCH_STREAM_REPEAT
#                (3) timed requests, while the service's RSS is sampled
#   find_ids     POST /sessions/events:find with {"$or": [{"id": {"$eq": ...}}, ...]} of 10,000 loaded
#                ids (BENCH_FIND_IDS), as Parlant's list_customers(tags=...) sends them; every match
#                streamed back
#   watch        BENCH_WATCHERS (1,000) clients each waiting for the events of a session of its own while
#                BENCH_WATCH_RATE (200) events a second are appended for --duration seconds
#                (scripts/bench/watchers.py): first each holding GET :watch open, then each polling
#                find every 250 ms as Parlant's PollingSessionListener does; the latency from each
#                write's 201 to its client seeing it, and the service's and PostgreSQL's CPU; no pgbench
#   idle         last: GET at 32 connections without, then with BENCH_IDLE_CONNECTIONS (10,000)
#                idle keep-alive connections open (scripts/bench/idle_connections.py: each sends one
#                GET, reads the answer and stays open), sampling the service's threads and RSS; no
#                pgbench
# and after each (but anchors and idle), pgbench -M prepared with the same clients and duration runs
# the SQL the service runs for it (copied from Sources/DocumentStore/Collection) on the same table:
# the ceiling. Writes are measured on a vacuumed, checkpointed table, and inserted rows are deleted
# after each insert run.
#
# Prints one table (req/s, p50, p99, errors, pgbench tps/p50/p99, ratio, targets; the anchors as
# rows under GET by id), CPU per request (and the service's over cserver.c's for GET at 32
# connections), the service's RSS idle after the load and peak while streaming, its start-to-ready
# time, and the idle connections' figures (opened/answered, GET with and without them, threads,
# RSS); --json FILE writes the same figures. The service is stopped and the schema dropped at the
# end (--keep keeps the schema and the run folder with every raw output). The private PostgreSQL
# keeps running; stop it with PG_INSTANCE=bench scripts/pg-stop.sh [--purge].
#
# Environment: BENCH_SCRATCH (.build-bench), BENCH_POOL_SIZE (32), BENCH_SCHEMA (bench),
# BENCH_STREAM_REPEAT (3), BENCH_PG_SAMPLING (0.2: the share of pgbench transactions whose latency
# is logged for p50/p99), BENCH_PAGE_CUSTOMERS (64), BENCH_FIND_IDS (10000), BENCH_ANCHORS
# (../shared/anchors from the repository), BENCH_CSERVER_THREADS (CPUs), BENCH_CPIPELINE_PROCS
# (CPUs), BENCH_IDLE_CONNECTIONS (10000), BENCH_CONNECTION_LIMIT (the service's CONNECTION_LIMIT:
# 1,000 above the idle connections, at least 10,000), BENCH_CONNECTION_TIMEOUT (the service's
# CONNECTION_TIMEOUT: 300 s, or longer when --warmup and --duration need it).

set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

docs=100000
duration=10
warmup=2
connections="1 32"
all_ops="get metrics_off anchors insert merge update_one page_first page_middle page_last stream find_ids watch idle"
ops="$all_ops"
json_file=""
keep=false
scratch="${BENCH_SCRATCH:-.build-bench}"
pool_size="${BENCH_POOL_SIZE:-32}"
schema="${BENCH_SCHEMA:-bench}"
stream_repeat="${BENCH_STREAM_REPEAT:-3}"
pg_sampling="${BENCH_PG_SAMPLING:-0.2}"
page_customers="${BENCH_PAGE_CUSTOMERS:-64}"
find_ids="${BENCH_FIND_IDS:-10000}"
cpus="$(nproc)"
anchors_dir="${BENCH_ANCHORS:-$repo/../shared/anchors}"
cserver_threads="${BENCH_CSERVER_THREADS:-$cpus}"
cpipeline_procs="${BENCH_CPIPELINE_PROCS:-$cpus}"
cpipeline_pgconns=2
idle_connections="${BENCH_IDLE_CONNECTIONS:-10000}"
watchers="${BENCH_WATCHERS:-1000}"
watch_rate="${BENCH_WATCH_RATE:-200}"
idle_clients=32
patch='{"status": "read", "read_utc": "2026-01-01T12:00:00.000000+00:00"}'

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

while (($#)); do
    case "$1" in
        --docs) docs="${2:?--docs needs a number}"; shift 2 ;;
        --duration) duration="${2:?--duration needs seconds}"; shift 2 ;;
        --warmup) warmup="${2:?--warmup needs seconds}"; shift 2 ;;
        --connections) connections="${2:?--connections needs a list}"; shift 2 ;;
        --ops) ops="${2:?--ops needs a list}"; shift 2 ;;
        --json) json_file="${2:?--json needs a file}"; shift 2 ;;
        --keep) keep=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
if ! [[ $docs =~ ^[0-9]+$ ]] || ((docs < 1000)); then die "--docs must be a number of at least 1000"; fi
if ! [[ $duration =~ ^[0-9]+$ ]] || ((duration < 1)); then die "--duration must be whole seconds, at least 1"; fi
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be whole seconds"
for c in $connections; do
    if ! [[ $c =~ ^[0-9]+$ ]] || ((c < 1)); then die "--connections must list client counts, e.g. \"1 32\""; fi
done
for op in $ops; do
    [[ " $all_ops " == *" $op "* ]] || die "unknown operation in --ops: $op (known: $all_ops)"
done
[[ $schema =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_SCHEMA must be a plain lower-case identifier"
for setting in cserver_threads cpipeline_procs idle_connections; do
    if ! [[ ${!setting} =~ ^[0-9]+$ ]] || ((${!setting} < 1)); then die "$setting must be a positive number"; fi
done
# The service takes the idle connections besides wrk's (CONNECTION_LIMIT counts both), and keeps
# them past the warm-up and the measured run (CONNECTION_TIMEOUT closes idle ones).
connection_limit="${BENCH_CONNECTION_LIMIT:-$((idle_connections + 1000 > 10000 ? idle_connections + 1000 : 10000))}"
connection_timeout="${BENCH_CONNECTION_TIMEOUT:-$((warmup + duration + 120 > 300 ? warmup + duration + 120 : 300))}"
[[ $connection_limit =~ ^[0-9]+$ && $connection_timeout =~ ^[0-9]+$ ]] ||
    die "BENCH_CONNECTION_LIMIT and BENCH_CONNECTION_TIMEOUT must be numbers"
if [[ -n $json_file ]]; then
    json_file="$(cd "$(dirname "$json_file")" && pwd -P)/$(basename "$json_file")" ||
        die "the folder of --json $json_file does not exist"
fi
wants() { [[ " $ops " == *" $1 "* ]]; }

# --- tools -------------------------------------------------------------------------------------
bash scripts/install-deps.sh >&2
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
pg_bin="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/pgbench' 2>/dev/null |
    sort -V | tail -n 1)"
[[ -n $pg_bin ]] || die "pgbench not found in /usr/lib/postgresql/*/bin (run scripts/install-deps.sh)"
pg_bin="$(dirname "$pg_bin")"
command -v wrk >/dev/null || die "wrk is missing (run scripts/install-deps.sh)"

# --- PostgreSQL --------------------------------------------------------------------------------
if grep -q 'PG_INSTANCE' scripts/lib/postgres.sh; then
    pg_instance=bench
    log "starting (or finding) the private PostgreSQL instance '$pg_instance'"
    db_url="$(PG_INSTANCE=$pg_instance bash scripts/pg-start.sh)"
else
    pg_instance=shared
    log "scripts/lib/postgres.sh has no PG_INSTANCE: using the shared PostgreSQL, schema $schema"
    db_url="$(bash scripts/pg-start.sh)"
fi
psql_run() { "$pg_bin/psql" "$db_url" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_value() { "$pg_bin/psql" "$db_url" -X -A -t -v ON_ERROR_STOP=1 "$@"; }

# --- build -------------------------------------------------------------------------------------
log "building the release binary (swift build -c release --static-swift-stdlib --scratch-path $scratch)"
swift build -c release --product docstore --static-swift-stdlib --scratch-path "$scratch" >&2
binary="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/docstore"
[[ -x $binary ]] || die "no binary at $binary"

# --- run folder, clean-up ----------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/docstore-bench.XXXXXX")"
mkdir -p "$work/runs"
meta="$work/meta.env"
: >"$meta"
service_pid=""
sampler_pid=""
anchor_pids=()
companion_pid=""
opener_pid=""
keep_work=false
put_meta() { printf '%s=%s\n' "$1" "$2" >>"$meta"; }

stop_service() {
    [[ -n $service_pid ]] || return 0
    if kill -0 "$service_pid" 2>/dev/null; then
        kill -TERM "$service_pid" 2>/dev/null || true
        local waited=0
        while kill -0 "$service_pid" 2>/dev/null && ((waited < 300)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        kill -KILL "$service_pid" 2>/dev/null || true
    fi
    wait "$service_pid" 2>/dev/null || true
    service_pid=""
}

# The processes of the anchor server being measured (op anchors), started by start_anchor below.
stop_anchors() {
    local pid
    for pid in "${anchor_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${anchor_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    anchor_pids=()
}

# The service with METRICS=off (op metrics_off), started by run_metrics_off below.
stop_companion() {
    [[ -n $companion_pid ]] || return 0
    kill -TERM "$companion_pid" 2>/dev/null || true
    wait "$companion_pid" 2>/dev/null || true
    companion_pid=""
}

cleanup() {
    local status=$?
    if [[ -n $sampler_pid ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
    if [[ -n $opener_pid ]]; then kill "$opener_pid" 2>/dev/null || true; fi
    stop_anchors
    stop_companion
    stop_service
    if [[ $keep == true ]]; then
        log "kept schema $schema and the run folder $work"
    else
        psql_run -c "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" >/dev/null 2>&1 ||
            log "warning: could not drop schema $schema"
        if [[ $keep_work == false ]]; then rm -rf "$work"; fi
    fi
    if [[ $pg_instance == bench ]]; then
        log "the private PostgreSQL keeps running: PG_INSTANCE=bench scripts/pg-stop.sh stops it"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the C reference servers (op anchors) --------------------------------------------------------
# Measuring instruments from ../shared/anchors, built here; each is started for its run and stopped
# after it (start_anchor, further down). When they cannot be built, anchors_skipped says why and
# every other row is measured as usual.
anchors_skipped=""
anchors_failed="" # the anchor runs that could not be measured, each followed by ";"
anchor_bin="$work/anchors"
if wants anchors; then
    anchors_dir="$(cd "$anchors_dir" 2>/dev/null && pwd -P || echo "$anchors_dir")"
    if [[ ! -f $anchors_dir/cserver.c || ! -f $anchors_dir/cpipeline.c ]]; then
        anchors_skipped="no cserver.c and cpipeline.c in $anchors_dir (set BENCH_ANCHORS to their folder)"
    elif ! anchor_flags="$(pkg-config --cflags --libs libmicrohttpd libpq 2>&1)"; then
        anchors_skipped="pkg-config knows no libmicrohttpd or libpq: $anchor_flags"
    else
        mkdir -p "$anchor_bin"
        log "building the anchors of $anchors_dir (cc -O2) into $anchor_bin"
        # shellcheck disable=SC2086 # the flags are separate words
        if ! { cc -O2 -o "$anchor_bin/cserver" "$anchors_dir/cserver.c" $anchor_flags -lpthread &&
            cc -O2 -o "$anchor_bin/cpipeline" "$anchors_dir/cpipeline.c" $anchor_flags; } \
            >"$anchor_bin/build.log" 2>&1; then
            head -n 20 "$anchor_bin/build.log" >&2
            anchors_skipped="cc failed on the anchors of $anchors_dir (its messages are above in the bench log)"
        fi
    fi
    if [[ -n $anchors_skipped ]]; then log "warning: $anchors_skipped; the anchor rows are skipped"; fi
fi

# --- the service -------------------------------------------------------------------------------
psql_run -c "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" 2>/dev/null
key="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port="$(python3 scripts/bench/report.py free-port)"
base="http://127.0.0.1:$port"
auth="Authorization: Bearer $key"
service_log="$work/service.log"

log "starting the service on $base (DB_POOL_SIZE=$pool_size, SUPABASE_SCHEMA=$schema," \
    "CONNECTION_LIMIT=$connection_limit, CONNECTION_TIMEOUT=$connection_timeout), log in $service_log"
# The poller starts first (so its own start-up is not counted) and reads the spawn time from a file.
start_file="$work/start-ns"
python3 scripts/bench/report.py ready "$base/readyz" "$start_file" 30 >"$work/ready-ms" &
poller_pid=$!
until [[ -e $start_file.armed ]]; do sleep 0.01; done
date +%s%N >"$start_file"
env DATABASE_URL="$db_url" SERVICE_KEY="$key" SUPABASE_SCHEMA="$schema" HOST=127.0.0.1 PORT="$port" \
    DB_POOL_SIZE="$pool_size" CONNECTION_LIMIT="$connection_limit" CONNECTION_TIMEOUT="$connection_timeout" \
    "$binary" serve 2>"$service_log" >&2 &
service_pid=$!
if ! wait "$poller_pid"; then
    tail -n 20 "$service_log" >&2
    die "the service did not become ready"
fi
ready_ms="$(<"$work/ready-ms")"
log "ready after $ready_ms ms"

rss_field() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
status_field() { sed -n "s/^$2:[[:space:]]*\([0-9]*\).*/\1/p" "/proc/$1/status"; } # e.g. Threads

# --- the collection and its documents ----------------------------------------------------------
collection_path=/sessions/events
created="$(curl -sS -X PUT -H "$auth" "$base$collection_path")"
table="$(jq -r '.table' <<<"$created")"
[[ $table =~ ^[a-z0-9_]+$ ]] || die "PUT $collection_path answered $created"
qualified="\"$schema\".\"$table\""

log "loading $docs documents into $schema.$table (secondary indexes rebuilt after the load)"
load_start=$SECONDS
psql_run -v schema="$schema" -v table="$table" -v n="$docs" -v version=0.6.0 -f scripts/bench/load.sql
# The load's WAL would otherwise be checkpointed during the first measured runs.
psql_run -c CHECKPOINT
log "loaded in $((SECONDS - load_start)) s (checkpointed)"
doc_bytes="$(psql_value -c "SELECT min(octet_length(data::text)) || '-' || max(octet_length(data::text))
    || ', mean ' || round(avg(octet_length(data::text))) FROM $qualified")"
customer_spread="$(psql_value -c "SELECT count(*) || ' customers, ' || max(n) || ' to ' || min(n)
    || ' documents each' FROM (SELECT count(*) AS n FROM $qualified GROUP BY customer_id) c")"
log "documents: $doc_bytes bytes as JSON text; $customer_spread"

pages="$work/pages.tsv"
"$pg_bin/psql" "$db_url" -X -A -t -F $'\t' -v ON_ERROR_STOP=1 -v schema="$schema" -v table="$table" \
    -v max="$page_customers" -f scripts/bench/pages.sql >"$pages"
page_count="$(wc -l <"$pages")"
((page_count > 0)) || die "no customer has 300 documents: load more (--docs)"
log "page benchmark over $page_count customers with 300+ documents"

export BENCH_LUA_DIR="$repo/scripts/bench" BENCH_DOCS="$docs" BENCH_COLLECTION_PATH="$collection_path"
export BENCH_CUSTOMERS=1000 BENCH_PATCH="$patch" BENCH_PAGES="$pages"

# The find_ids body and the id list of its pgbench script: distinct loaded ids, the same each run.
find_body="$work/find_ids.json"
find_list="$work/find_ids.list"
python3 - "$docs" "$find_ids" "$find_body" "$find_list" <<'PY'
import json, random, sys
docs, count, body_path, list_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ids = [str(10000000000 + (i * 2654435761) % 4294967296) for i in random.Random(5).sample(range(docs), count)]
with open(body_path, "w") as body:
    json.dump({"where": {"$or": [{"id": {"$eq": id}} for id in ids]}}, body)
with open(list_path, "w") as listing:
    listing.write("{" + ",".join(ids) + "}")
PY
export BENCH_FIND_BODY="$find_body"

# --- one request of each kind, checked before measuring -----------------------------------------
check() { # NAME EXPECTED_STATUS JQ_TEST CURL_ARGS...
    local name=$1 expected=$2 test=$3 body status
    shift 3
    body="$(curl -sS -o - -w '\n%{http_code}' -H "$auth" "$@")"
    status="${body##*$'\n'}"
    body="${body%$'\n'*}"
    [[ $status == "$expected" ]] || die "check $name: status $status, expected $expected: $body"
    jq -e "$test" >/dev/null <<<"$body" || die "check $name: the response fails $test: ${body:0:300}"
}
first_id="10000000000"
IFS=$'\t' read -r page_customer _ middle_token last_token _ <"$pages"
page_url="$base$collection_path?customer_id=eq.$page_customer&limit=100"
json=(-H "Content-Type: application/json")
check get 200 ".id == \"$first_id\"" "$base$collection_path/$first_id"
check insert 201 '.id == "bench-check"' "${json[@]}" -d '{"id": "bench-check", "customer_id": "cust_1"}' \
    "$base$collection_path"
check merge 200 '.status == "read"' "${json[@]}" -X PATCH -d "$patch" "$base$collection_path/$first_id"
check update_one 200 '.matched_count == 1' "${json[@]}" \
    -d "{\"where\": {\"customer_id\": \"cust_0\"}, \"params\": $patch}" "$base$collection_path:updateOne"
check page_first 200 '(.items | length) == 100 and .has_more' "$page_url"
check page_middle 200 '(.items | length) == 100 and .has_more' "$page_url&cursor=$middle_token"
check page_last 200 '(.items | length) == 100 and (.has_more | not)' "$page_url&cursor=$last_token"
check find_ids 200 "(.items | length) == $find_ids" "${json[@]}" --data-binary "@$find_body" \
    "$base$collection_path:find"
psql_run -c "DELETE FROM $qualified WHERE id = 'bench-check'" -c "VACUUM ANALYZE $qualified"

sleep 1
loadavg_before="$(cut -d' ' -f1-3 /proc/loadavg)"
idle_rss="$(rss_field "$service_pid" VmRSS)"
idle_hwm="$(rss_field "$service_pid" VmHWM)"
log "idle after load: VmRSS $idle_rss kB, VmHWM $idle_hwm kB"

# --- the pgbench scripts: the service's SQL, from Sources/DocumentStore/Collection ----------------
pgb="$work/pgbench"
mkdir -p "$pgb"
selection="data::text, id, creation_utc"
columns="id, version, creation_utc, session_id, customer_id, agent_id, data"
column_values="d ->> 'id', d ->> 'version', d ->> 'creation_utc', d ->> 'session_id', d ->> 'customer_id', d ->> 'agent_id', d"
merged="(target.data || p.patch)"
merge_set="data = $merged, id = $merged ->> 'id', version = $merged ->> 'version', creation_utc = $merged ->> 'creation_utc', session_id = $merged ->> 'session_id', customer_id = $merged ->> 'customer_id', agent_id = $merged ->> 'agent_id'"
target_selection="target.data::text, target.id, target.creation_utc"
# A loaded document's id from a random i, as load.sql and common.lua compute it.
random_id='\set i random(0, :docs - 1)
\set k 10000000000 + (:i * 2654435761) % 4294967296'

# DocumentCollection.get: SELECT ... WHERE id = $1 (prepared by the service too).
cat >"$pgb/get.sql" <<EOF
$random_id
SELECT $selection FROM $qualified WHERE id = :k;
EOF
# DocumentCollection.insert: the document is the parameter; here its text is built around a random
# id and customer (a concatenation the service does not do; everything else is the same statement).
cat >"$pgb/insert.sql" <<EOF
\set k random(1, 9000000000000000000)
\set c random(0, 999)
INSERT INTO $qualified ($columns) SELECT $column_values FROM (SELECT ('{"id": "pb' || :k || '", "version": "0.6.0", "creation_utc": "2026-06-01T12:00:00.000000+00:00", "session_id": "sess_pb", "customer_id": "cust_' || :c || '", "agent_id": "agent_1", "source": "customer", "kind": "message", "offset": 1, "correlation_id": "RID(pb)::1", "deleted": false, "data": {"message": "Hello, I would like to change the delivery address of my last order to the office address, and please make sure the invoice shows the company name as well. Thank you!", "participant": {"id": "cust_' || :c || '", "display_name": "Customer"}, "flagged": false, "tags": [], "draft": null}}')::jsonb AS d) s ON CONFLICT (id) DO NOTHING RETURNING $selection;
EOF
# DocumentCollection.merge (prepared by the service too); the patch is a parameter (-D patch=...).
cat >"$pgb/merge.sql" <<EOF
$random_id
UPDATE $qualified AS target SET $merge_set FROM (SELECT :patch::jsonb AS patch) p WHERE target.id = :k RETURNING $target_selection;
EOF
# DocumentCollection.updateOne without upsert, filter {"customer_id": "cust_<c>"} (the service sends
# it unnamed; the customer's id is built in SQL here).
cat >"$pgb/update_one.sql" <<EOF
\set c random(0, 999)
UPDATE $qualified AS target SET $merge_set FROM (SELECT :patch::jsonb AS patch) p WHERE target.id = (SELECT id FROM $qualified WHERE "customer_id" = ('cust_' || :c) ORDER BY creation_utc COLLATE "C", id COLLATE "C" LIMIT 1 FOR UPDATE) RETURNING $target_selection;
EOF
# DocumentCollection.find, limit 100 (+1 to know has_more), customer_id=eq.<c> [and the cursor]:
# one script per customer and position, chosen uniformly, values as literals.
while IFS=$'\t' read -r customer _ _ _ middle_utc middle_id last_utc last_id; do
    where="WHERE (TRUE AND \"customer_id\" = '$customer')"
    order='ORDER BY creation_utc COLLATE "C" ASC, id COLLATE "C" ASC LIMIT 101'
    after='(creation_utc COLLATE "C", id COLLATE "C") >'
    printf 'SELECT %s FROM %s %s %s;\n' "$selection" "$qualified" "$where" "$order" \
        >"$pgb/page_first.$customer.sql"
    printf "SELECT %s FROM %s %s AND %s ('%s', '%s') %s;\n" "$selection" "$qualified" \
        "$where" "$after" "$middle_utc" "$middle_id" "$order" >"$pgb/page_middle.$customer.sql"
    printf "SELECT %s FROM %s %s AND %s ('%s', '%s') %s;\n" "$selection" "$qualified" \
        "$where" "$after" "$last_utc" "$last_id" "$order" >"$pgb/page_last.$customer.sql"
done <"$pages"
# DocumentCollection.stream with {} (the service streams it row by row, pgbench reads it whole).
cat >"$pgb/stream.sql" <<EOF
SELECT $selection FROM $qualified WHERE TRUE ORDER BY creation_utc COLLATE "C" ASC, id COLLATE "C" ASC;
EOF
# DocumentCollection.find without a limit, the $or of ids folded into one array (the service binds it
# and streams the rows; here it is a literal of the prepared statement).
cat >"$pgb/find_ids.sql" <<EOF
SELECT $selection FROM $qualified WHERE ("id" = ANY('$(<"$find_list")'::text[])) ORDER BY creation_utc COLLATE "C" ASC, id COLLATE "C" ASC;
EOF

# --- measuring ---------------------------------------------------------------------------------
postmaster_pid="$(psql_value -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")"
postmaster_pid="$(sed 's/^.*) //' "/proc/$postmaster_pid/stat" | cut -d' ' -f2)"
# CPU ticks of the measured server (the service, or the comma-separated pids of an anchor server),
# of PostgreSQL and of the machine.
cpu_snapshot() { python3 scripts/bench/report.py cpu "${1:-$service_pid}" "$postmaster_pid"; }

threads_for() { if (($1 < 2)); then echo "$1"; else echo 2; fi; }

# Before each measured write run, the service's and pgbench's alike: no dead rows left by the run
# before, and no checkpoint debt (the same full-page-write state for both).
vacuum() { psql_run -c "VACUUM $qualified" -c CHECKPOINT; }

# Rows inserted by the insert runs have ids starting with w (wrk) or pb (pgbench); every loaded id
# starts with 1, so `id >= '2'` is exactly them, found through the primary key.
delete_inserted() { psql_run -c "DELETE FROM $qualified WHERE id >= '2'"; }

wrk_at() { # URL PIDS OP CLIENTS SCRIPT [ENV...]: wrk against URL, CPU of the processes PIDS
    local url=$1 pids=$2 op=$3 clients=$4 script=$5 threads prefix
    shift 5
    prefix="$work/runs/${op}_c$clients"
    threads="$(threads_for "$clients")"
    if ((warmup > 0)); then
        env "$@" BENCH_TAG="warm$clients" wrk -t "$threads" -c "$clients" -d "${warmup}s" --timeout 10s \
            -H "$auth" -s "scripts/bench/$script" "$url" >/dev/null
    fi
    cpu_snapshot "$pids" >"$prefix.cpu"
    # The service's access-log lines of the run (its own latency figures); anchors keep no log.
    if [[ $url == "$base" ]]; then wc -l <"$service_log" >"$prefix.loglines"; fi
    env "$@" BENCH_TAG="c$clients" wrk -t "$threads" -c "$clients" -d "${duration}s" --timeout 10s \
        -H "$auth" -s "scripts/bench/$script" "$url" >"$prefix.wrk"
    if [[ $url == "$base" ]]; then wc -l <"$service_log" >>"$prefix.loglines"; fi
    cpu_snapshot "$pids" >>"$prefix.cpu"
    grep -q '^BENCH_RESULT ' "$prefix.wrk" || die "wrk printed no result for $op"
    log "$op, $clients clients: $(sed -n 's/^Requests\/sec: *//p' "$prefix.wrk") req/s"
}

run_wrk() { wrk_at "$base" "$service_pid" "$@"; } # OP CLIENTS SCRIPT [ENV...]: the service

run_pgbench() { # OP CLIENTS [pgbench args: scripts...]
    local op=$1 clients=$2 prefix status=0
    shift 2
    prefix="$work/runs/${op}_c$clients"
    cpu_snapshot >"$prefix.pgcpu"
    "$pg_bin/pgbench" -n -M prepared -c "$clients" -j "$(threads_for "$clients")" \
        -D docs="$docs" -D patch="$patch" --log --log-prefix="$prefix.pglog" "$@" "$db_url" \
        >"$prefix.pgbench" 2>&1 || status=$?
    cpu_snapshot >>"$prefix.pgcpu"
    ((status == 0)) || log "warning: pgbench for $op exited with status $status (see the table)"
    log "$op, $clients clients: pgbench $(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$prefix.pgbench") tps"
}

pgbench_timed() { # OP CLIENTS SCRIPTS...
    local op=$1 clients=$2
    shift 2
    run_pgbench "$op" "$clients" -T "$duration" --sampling-rate="$pg_sampling" "$@"
}

# start_anchor NAME PROCS [ENV...]: PROCS processes of the anchor NAME (cserver or cpipeline) on one
# free port (cpipeline.c shares it with SO_REUSEPORT), on the bench's table with the service's key;
# sets anchor_port and anchor_pids. Fails unless, within 10 s, every process listens and a GET of a
# loaded id answers 200.
start_anchor() {
    local name=$1 procs=$2 n pid waited=0 listening
    shift 2
    anchor_port="$(python3 scripts/bench/report.py free-port)"
    for ((n = 0; n < procs; n++)); do
        # TABLE goes into the SQL as it is: the schema-qualified, quoted name.
        env CONNINFO="$db_url" TABLE="$qualified" KEY="$key" PORT="$anchor_port" "$@" "$anchor_bin/$name" \
            >>"$anchor_bin/$name.log" 2>&1 &
        anchor_pids+=("$!")
    done
    while ((waited < 100)); do
        for pid in "${anchor_pids[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
        listening="$(ss -Hltn "sport = :$anchor_port" 2>/dev/null | wc -l)" || listening=$procs
        if ((listening >= procs)) && [[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" \
            "http://127.0.0.1:$anchor_port$collection_path/$first_id")" == 200 ]]; then
            return 0
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    return 1
}

run_anchor() { # OP CLIENTS NAME PROCS [ENV...]: one anchor row, the GET by id script against it
    local op=$1 clients=$2 name=$3 procs=$4 pid pids
    shift 4
    if ! start_anchor "$name" "$procs" "$@"; then
        tail -n 5 "$anchor_bin/$name.log" >&2
        log "warning: $op did not start or answer 200 (its log above); no row at $clients clients"
        anchors_failed+="$op at $clients connections: did not start or answer 200;"
        stop_anchors
        return 0
    fi
    pids="$(IFS=,; echo "${anchor_pids[*]}")"
    wrk_at "http://127.0.0.1:$anchor_port" "$pids" "$op" "$clients" get.lua
    for pid in "${anchor_pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 5 "$anchor_bin/$name.log" >&2
            log "warning: a process of $op died during its run (its log above)"
            anchors_failed+="$op at $clients connections: a process died during the run;"
            break
        fi
    done
    stop_anchors
}

# run_metrics_off CLIENTS: the GET by id script against the same binary with METRICS=off, as a second
# process on the same table, started for its run and stopped after it.
run_metrics_off() {
    local clients=$1 companion_port companion_log="$work/service-metrics-off.log" waited=0
    companion_port="$(python3 scripts/bench/report.py free-port)"
    env DATABASE_URL="$db_url" SERVICE_KEY="$key" SUPABASE_SCHEMA="$schema" HOST=127.0.0.1 \
        PORT="$companion_port" DB_POOL_SIZE="$pool_size" CONNECTION_LIMIT="$connection_limit" \
        CONNECTION_TIMEOUT="$connection_timeout" METRICS=off "$binary" serve 2>>"$companion_log" >&2 &
    companion_pid=$!
    until [[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" \
        "http://127.0.0.1:$companion_port$collection_path/$first_id")" == 200 ]]; do
        if ((waited >= 100)) || ! kill -0 "$companion_pid" 2>/dev/null; then
            tail -n 5 "$companion_log" >&2
            log "warning: the METRICS=off service did not answer 200 within 10 s; no row at $clients clients"
            stop_companion
            return 0
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    wrk_at "http://127.0.0.1:$companion_port" "$companion_pid" get_metrics_off "$clients" get.lua
    stop_companion
}

run_anchors() { # CLIENTS: the three anchor rows
    [[ -z $anchors_skipped ]] || return 0
    run_anchor anchor_cserver "$1" cserver 1 THREADS="$cserver_threads"
    run_anchor anchor_cpipeline "$1" cpipeline "$cpipeline_procs" PGCONNS="$cpipeline_pgconns"
    run_anchor anchor_coalesce "$1" cpipeline "$cpipeline_procs" PGCONNS="$cpipeline_pgconns" COALESCE=1
}

if wants stream; then
    log "streamed find of all $docs documents, $stream_repeat times (RSS sampled every 50 ms)"
    sample_file="$work/rss-samples"
    (
        max=0
        while kill -0 "$service_pid" 2>/dev/null; do
            while read -r name value _; do
                if [[ $name == VmRSS: ]] && ((value > max)); then max=$value; fi
            done <"/proc/$service_pid/status"
            echo "$max" >"$sample_file"
            sleep 0.05
        done
    ) &
    sampler_pid=$!
    cpu_snapshot >"$work/runs/stream_c1.cpu"
    for ((n = 0; n < stream_repeat; n++)); do
        code=0
        result="$(curl -sS -o /dev/null -H "$auth" -w '%{http_code} %{size_download} %{time_total}' \
            "$base$collection_path")" || code=$?
        printf '%s %s\n' "$result" "$code" >>"$work/runs/stream_c1.curl"
    done
    cpu_snapshot >>"$work/runs/stream_c1.cpu"
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
    put_meta stream_peak_hwm_kib "$(rss_field "$service_pid" VmHWM)"
    put_meta stream_max_sampled_rss_kib "$(cat "$sample_file" 2>/dev/null || true)"
    log "stream: $(tr '\n' ';' <"$work/runs/stream_c1.curl") VmHWM $(rss_field "$service_pid" VmHWM) kB"
    run_pgbench stream 1 -t "$stream_repeat" -f "$pgb/stream.sql"
fi

for op in get page_first page_middle page_last find_ids insert merge update_one; do
    if [[ $op == get ]]; then
        # The anchors and metrics_off run at get's place, even without it.
        wants get || wants anchors || wants metrics_off || continue
    else
        wants "$op" || continue
    fi
    for clients in $connections; do
        case "$op" in
            get)
                if wants get; then
                    run_wrk get "$clients" get.lua
                    pgbench_timed get "$clients" -f "$pgb/get.sql"
                fi
                if wants metrics_off; then run_metrics_off "$clients"; fi
                if wants anchors; then run_anchors "$clients"; fi
                ;;
            find_ids)
                run_wrk find_ids "$clients" find_ids.lua
                pgbench_timed find_ids "$clients" -f "$pgb/find_ids.sql"
                ;;
            page_*)
                run_wrk "$op" "$clients" page.lua BENCH_POSITION="${op#page_}"
                page_scripts=()
                for file in "$pgb/$op".*.sql; do page_scripts+=(-f "$file@1"); done
                pgbench_timed "$op" "$clients" "${page_scripts[@]}"
                ;;
            insert)
                vacuum
                run_wrk insert "$clients" insert.lua
                delete_inserted
                vacuum
                pgbench_timed insert "$clients" -f "$pgb/insert.sql"
                delete_inserted
                ;;
            merge | update_one)
                vacuum
                run_wrk "$op" "$clients" "$op.lua"
                vacuum
                pgbench_timed "$op" "$clients" -f "$pgb/$op.sql"
                ;;
        esac
    done
done

# --- watchers against pollers (op watch) ------------------------------------------------------------
# The same waits, driven by the change feed and by 250 ms polling, each on a fresh collection of its own.
if wants watch; then
    for mode in watch poll; do
        log "$watchers clients waiting by $mode, $watch_rate events/s for $duration s"
        if ! python3 scripts/bench/watchers.py --port "$port" --key "$key" --mode "$mode" --watchers "$watchers" \
            --rate "$watch_rate" --duration "$duration" --path "/sessions/feed_$mode" \
            --service-pid "$service_pid" --postmaster-pid "$postmaster_pid" \
            >"$work/runs/watch_$mode.json" 2>"$work/watch_$mode.log"; then
            tail -n 20 "$work/watch_$mode.log" >&2
            log "warning: scripts/bench/watchers.py --mode $mode failed (its messages above)"
        fi
    done
fi

# --- idle keep-alive connections (op idle) -------------------------------------------------------
# GET at $idle_clients connections without, then with $idle_connections idle keep-alive connections
# open (each has sent one GET and read its answer), the service's threads and RSS sampled every
# 100 ms from before they open to the end of the run. The service's EVENT_LOOPS and WORKER_THREADS
# are its defaults (CPUs, DB_POOL_SIZE) unless this environment sets them: it inherits them.
hwm_before_idle=""
if wants idle; then
    if ((warmup + duration + 60 > connection_timeout)); then
        log "warning: CONNECTION_TIMEOUT=$connection_timeout s may close the idle connections before the run ends"
    fi
    log "GET at $idle_clients connections without, then with $idle_connections idle keep-alive connections"
    run_wrk idle_base "$idle_clients" get.lua
    put_meta idle_conns_requested "$idle_connections"
    put_meta idle_conns_clients "$idle_clients"
    put_meta idle_conns_event_loops "${EVENT_LOOPS:-$cpus}"
    put_meta idle_conns_worker_threads "${WORKER_THREADS:-$pool_size}"
    put_meta idle_conns_threads_before "$(status_field "$service_pid" Threads)"
    put_meta idle_conns_rss_before_kib "$(rss_field "$service_pid" VmRSS)"
    # Writing 5 to clear_refs resets VmHWM: from here on it is the peak with the idle connections (the
    # peak before is kept for the report's peak over all runs).
    hwm_before_idle="$(rss_field "$service_pid" VmHWM)"
    hwm_reset=no
    if echo 5 2>/dev/null >"/proc/$service_pid/clear_refs"; then hwm_reset=yes; fi
    sample_file="$work/idle-samples"
    (
        threads_max=0 rss_max=0 samples=0
        while kill -0 "$service_pid" 2>/dev/null; do
            while read -r name value _; do
                case $name in
                    Threads:) if ((value > threads_max)); then threads_max=$value; fi ;;
                    VmRSS:) if ((value > rss_max)); then rss_max=$value; fi ;;
                esac
            done <"/proc/$service_pid/status"
            samples=$((samples + 1))
            echo "$threads_max $rss_max $samples" >"$sample_file"
            sleep 0.1
        done
    ) &
    sampler_pid=$!
    ready_file="$work/runs/idle_ready.json"
    python3 scripts/bench/idle_connections.py --port "$port" --key "$key" --count "$idle_connections" \
        --docs "$docs" --path "$collection_path" --ready-file "$ready_file" \
        --hold-max "$((warmup + duration + 300))" >"$work/runs/idle_final.json" 2>"$work/idle_connections.log" &
    opener_pid=$!
    waited=0
    until [[ -e $ready_file ]] || ! kill -0 "$opener_pid" 2>/dev/null || ((waited >= 1200)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if [[ -e $ready_file ]]; then
        log "idle connections: $(jq -r '"\(.answered) of \(.requested) answered and kept alive in" +
            " \(.open_seconds) s, errors \(.errors | tostring)"' "$ready_file")"
        run_wrk idle "$idle_clients" get.lua
    else
        log "warning: the idle connections were not open after $((waited / 10)) s; no run with them"
    fi
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
    put_meta idle_conns_hwm_kib "$(rss_field "$service_pid" VmHWM)"
    put_meta idle_conns_hwm_reset "$hwm_reset"
    read -r threads_max rss_max samples <"$sample_file" || true
    put_meta idle_conns_threads_max "${threads_max:-}"
    put_meta idle_conns_rss_max_kib "${rss_max:-}"
    put_meta idle_conns_samples "${samples:-}"
    # The opener then checks its connections (a second GET on each) and prints its final figures.
    kill -TERM "$opener_pid" 2>/dev/null || true
    if ! wait "$opener_pid"; then
        tail -n 20 "$work/idle_connections.log" >&2
        log "warning: scripts/bench/idle_connections.py failed (its messages above)"
    fi
    opener_pid=""
    if [[ -s $work/runs/idle_final.json ]]; then
        log "idle connections after the run: $(jq -r '"\(.closed_while_idle) closed by the service," +
            " \(.answered_after) answered a second GET"' "$work/runs/idle_final.json")"
    fi
fi

# --- report ------------------------------------------------------------------------------------
{
    echo "docs=$docs"
    echo "duration=$duration"
    echo "warmup=$warmup"
    echo "connections=$connections"
    echo "pool_size=$pool_size"
    echo "connection_limit=$connection_limit"
    echo "connection_timeout=$connection_timeout"
    echo "pg_instance=$pg_instance"
    echo "pg_version=$(psql_value -c 'SHOW server_version' | cut -d' ' -f1)"
    echo "pg_sampling_rate=$pg_sampling"
    echo "stream_repeat=$stream_repeat"
    echo "cpus=$cpus"
    if wants anchors; then
        echo "anchors_dir=$anchors_dir"
        echo "anchors_skipped=$anchors_skipped"
        echo "anchors_failed=$anchors_failed"
        echo "cserver_threads=$cserver_threads"
        echo "cpipeline_procs=$cpipeline_procs"
        echo "cpipeline_pgconns=$cpipeline_pgconns"
    fi
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "doc_bytes=$doc_bytes"
    echo "customers=$customer_spread"
    echo "page_customers=$page_count"
    echo "start_to_ready_ms=$ready_ms"
    echo "idle_rss_kib=$idle_rss"
    echo "idle_hwm_kib=$idle_hwm"
    echo "end_rss_kib=$(rss_field "$service_pid" VmRSS)"
    end_hwm="$(rss_field "$service_pid" VmHWM)"
    # The idle connections' run reset VmHWM: the peak over all runs is also the one before it.
    if [[ -n $hwm_before_idle ]] && ((hwm_before_idle > end_hwm)); then end_hwm=$hwm_before_idle; fi
    echo "end_hwm_kib=$end_hwm"
    echo "loadavg_before=$loadavg_before"
    echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$meta"
report_status=0
python3 scripts/bench/report.py report "$work" ${json_file:+"$json_file"} || report_status=$?
if [[ -n $json_file ]]; then log "wrote $json_file"; fi
if ((report_status == 3)); then
    keep_work=true
    log "some runs had failed requests (ERRORS above); kept the run folder $work (service.log, raw outputs)"
elif ((report_status != 0)); then
    die "report.py failed"
fi
