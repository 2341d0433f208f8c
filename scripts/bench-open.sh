#!/usr/bin/env bash
# Benchmark of opening a Parlant store through the Python plug-in (issue 18). Not part of the tests.
#
# Usage:  scripts/bench-open.sh [--events N] [--repeat R] [--keep]
#
# Starts the private PostgreSQL instance (PG_INSTANCE=bench), builds the release binary
# (--scratch-path $BENCH_SCRATCH, default .build-bench), starts the service on a free port with a
# schema of its own (bench_open), creates /sessions/events and loads N Parlant events (default
# 1,000,000) at the store's current version (0.9.0) straight into its table with
# scripts/bench/load.sql. Then clients/python/bench/open_store.py (in .venv-client, made by
# scripts/test-python-client.sh) opens SessionDocumentStore once untimed (its indexes and metadata),
# then R times (default 3) each way, alternately: the plug-in's per-version pass, and full_scan=True,
# which runs the loader over every event. Prints each open's seconds and loader calls, and the
# medians. The schema is dropped at the end (--keep keeps it); PostgreSQL keeps running
# (PG_INSTANCE=bench scripts/pg-stop.sh stops it).

set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

log() { printf 'bench-open: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

events=1000000
repeat=3
keep=false
schema=bench_open
scratch="${BENCH_SCRATCH:-.build-bench}"
while (($#)); do
    case "$1" in
        --events) events="${2:?--events needs a number}"; shift 2 ;;
        --repeat) repeat="${2:?--repeat needs a number}"; shift 2 ;;
        --keep) keep=true; shift ;;
        -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ $events =~ ^[0-9]+$ ]] && ((events >= 1)) || die "--events must be a positive number"
[[ $repeat =~ ^[0-9]+$ ]] && ((repeat >= 1)) || die "--repeat must be a positive number"

bash scripts/install-deps.sh >&2
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
python="$repo/.venv-client/bin/python"
[[ -x $python ]] || die ".venv-client is missing: run scripts/test-python-client.sh once to make it"
db_url="$(PG_INSTANCE=bench bash scripts/pg-start.sh)"
psql_run() { psql "$db_url" -X -q -v ON_ERROR_STOP=1 "$@"; }

log "building the release binary (--scratch-path $scratch)"
swift build -c release --product docstore --static-swift-stdlib --scratch-path "$scratch" >&2
binary="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/docstore"

key="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port="$(python3 scripts/bench/report.py free-port)"
base="http://127.0.0.1:$port"
service_log="$(mktemp -t bench-open.XXXXXX.log)"
psql_run -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
env DATABASE_URL="$db_url" SERVICE_KEY="$key" SUPABASE_SCHEMA="$schema" HOST=127.0.0.1 PORT="$port" \
    "$binary" serve 2>"$service_log" >&2 &
service_pid=$!
cleanup() {
    kill -TERM "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
    if [[ $keep == false ]]; then psql_run -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; fi
    rm -f "$service_log"
}
trap cleanup EXIT
for _ in $(seq 100); do
    curl -sf "$base/readyz" >/dev/null && break
    sleep 0.1
done
curl -sf "$base/readyz" >/dev/null || { cat "$service_log" >&2; die "the service did not become ready"; }

table="$(curl -sS -X PUT -H "Authorization: Bearer $key" "$base/sessions/events" | jq -r '.table')"
[[ $table =~ ^[a-z0-9_]+$ ]] || die "PUT /sessions/events failed"
log "loading $events events at version 0.9.0 into $schema.$table"
started=$SECONDS
psql_run -v schema="$schema" -v table="$table" -v n="$events" -v version=0.9.0 -f scripts/bench/load.sql
psql_run -c "VACUUM ANALYZE $schema.$table" -c CHECKPOINT
log "loaded in $((SECONDS - started)) s; versions: $(curl -sS -H "Authorization: Bearer $key" \
    "$base/sessions/events:versions" | jq -c '.versions')"

log "opening SessionDocumentStore: once untimed, then $repeat times each way"
DOCSTORE_URL="$base" DOCSTORE_KEY="$key" "$python" clients/python/bench/open_store.py --repeat "$repeat"
