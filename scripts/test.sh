#!/usr/bin/env bash
# The project's test command: everything CI checks, in one run.
#
#   1. installs the apt dependencies and starts the throwaway PostgreSQL (exported as
#      TEST_DATABASE_URL);
#   2. builds with warnings as errors and runs the Swift tests (the core library against that
#      PostgreSQL, the HTTP service in process and as the docstore executable, over real sockets);
#   3. scripts/openapi-check.sh: the OpenAPI file validates, matches the router, and schemathesis
#      finds nothing against the live service;
#   4. the Python client's tests (clients/python) against the live service, directly and through
#      PgBouncer in transaction mode (scripts/pgbouncer-start.sh) on 6543 with
#      DB_PREPARED_STATEMENTS=auto and on 6432 with off, with scripts/smoke.sh through the first;
#   5. starts the service the way the README starts it (scripts/run.sh: a release build) on a
#      database set up like a Supabase project's (scripts/pg-supabase.sh), runs scripts/smoke.sh
#      against it, and stops it with SIGTERM (it must exit 0);
#   6. scripts/docker-check.sh on that release binary.
#
# Usage:  scripts/test.sh                        all of the above
#         scripts/test.sh --filter RouteTests    only steps 1-2, with these `swift test` arguments
#
# The PostgreSQL server is left running afterwards (stop it with scripts/pg-stop.sh).
# Exit status: non-zero at the first step that fails, which is named.

set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

log() { printf 'test: %s\n' "$*"; }
fail() {
    log "FAILED: $*"
    log "PostgreSQL is still running at ${TEST_DATABASE_URL:-?}; stop it with scripts/pg-stop.sh"
    exit 1
}

case "${1:-}" in
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

bash scripts/install-deps.sh
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

log "starting PostgreSQL"
TEST_DATABASE_URL="$(bash scripts/pg-start.sh)"
export TEST_DATABASE_URL
log "TEST_DATABASE_URL=$TEST_DATABASE_URL"

log "swift build --build-tests -Xswiftc -warnings-as-errors"
swift build --build-tests -Xswiftc -warnings-as-errors || fail "swift build"

log "swift test --skip-build${*:+ $*}"
swift test --skip-build "$@" || fail "swift test"
if (($# > 0)); then
    log "swift test passed (only the Swift tests run when arguments are given)"
    exit 0
fi

debug_binary="$(swift build --show-bin-path)/docstore"

log "scripts/openapi-check.sh"
DOCSTORE_BIN="$debug_binary" bash scripts/openapi-check.sh || fail "scripts/openapi-check.sh"

if [[ -f scripts/test-python-client.sh ]]; then
    log "scripts/test-python-client.sh"
    DOCSTORE_BIN="$debug_binary" bash scripts/test-python-client.sh || fail "scripts/test-python-client.sh"
    for pooler in "6543 auto" "6432 off"; do
        read -r pooler_port prepared <<<"$pooler"
        pooler_url="$(bash scripts/pgbouncer-start.sh "$pooler_port")" ||
            fail "scripts/pgbouncer-start.sh $pooler_port"
        log "scripts/test-python-client.sh through PgBouncer on $pooler_port, DB_PREPARED_STATEMENTS=$prepared"
        CLIENT_DATABASE_URL="$pooler_url" DB_PREPARED_STATEMENTS="$prepared" DOCSTORE_BIN="$debug_binary" \
            bash scripts/test-python-client.sh -q || fail "scripts/test-python-client.sh through PgBouncer on $pooler_port"
    done
fi

# The contract through the pooler: the debug binary on PgBouncer's 6543, walked by scripts/smoke.sh.
pooler_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
pooler_key="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
pooler_log="$(mktemp)"
pooler_schema="smoke_pooled_$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
pooler_url="$(bash scripts/pgbouncer-start.sh 6543)" || fail "scripts/pgbouncer-start.sh 6543"
log "scripts/smoke.sh through PgBouncer on 6543 (the service on 127.0.0.1:$pooler_port)"
HOST=127.0.0.1 PORT="$pooler_port" SERVICE_KEY="$pooler_key" SUPABASE_SCHEMA="$pooler_schema" \
    DATABASE_URL="$pooler_url" "$debug_binary" serve >"$pooler_log" 2>&1 &
pooler_pid=$!
for _ in $(seq 300); do
    grep -q "listening on" "$pooler_log" && break
    sleep 0.1
done
SERVICE_KEY="$pooler_key" bash scripts/smoke.sh "http://127.0.0.1:$pooler_port" ||
    { kill -TERM "$pooler_pid" 2>/dev/null || true; tail -20 "$pooler_log"; fail "scripts/smoke.sh through PgBouncer"; }
kill -TERM "$pooler_pid" 2>/dev/null || true
wait "$pooler_pid" || { tail -20 "$pooler_log"; fail "the service behind PgBouncer did not stop cleanly"; }
psql "$TEST_DATABASE_URL" -qc "DROP SCHEMA IF EXISTS \"$pooler_schema\" CASCADE" >/dev/null 2>&1 || true

# The smoke run uses a database set up like a Supabase project's (default privileges that open every
# new table to the Data API's roles, and a service user that is neither superuser nor BYPASSRLS), so
# every route is shown to work on the tables the service closes to those roles.
supabase_url="$(bash scripts/pg-supabase.sh "$TEST_DATABASE_URL")"
log "starting the service as the README does (scripts/run.sh), for scripts/smoke.sh, on $supabase_url"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
run_log="$(mktemp)"
schema="smoke_$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HOST=127.0.0.1 PORT="$port" SERVICE_KEY="$key" SUPABASE_SCHEMA="$schema" DATABASE_URL="$supabase_url" \
    bash scripts/run.sh >"$run_log" 2>&1 &
run_pid=$!
stop_service() { kill -TERM "$run_pid" 2>/dev/null || true; }
trap stop_service EXIT
for _ in $(seq 900); do
    grep -q "listening on" "$run_log" && break
    kill -0 "$run_pid" 2>/dev/null || { cat "$run_log"; fail "scripts/run.sh exited before listening"; }
    sleep 1
done
grep -q "listening on" "$run_log" || { cat "$run_log"; fail "scripts/run.sh did not start listening"; }

log "scripts/smoke.sh http://127.0.0.1:$port"
SERVICE_KEY="$key" bash scripts/smoke.sh "http://127.0.0.1:$port" || { tail -20 "$run_log"; fail "scripts/smoke.sh"; }

log "stopping the service with SIGTERM"
kill -TERM "$run_pid"
status=0
wait "$run_pid" || status=$?
trap - EXIT
((status == 0)) || { tail -20 "$run_log"; fail "the service exited with status $status after SIGTERM"; }
grep -q "stopped" "$run_log" || fail "the service did not log that it stopped"
psql "$supabase_url" -qc "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" >/dev/null 2>&1 || true

log "scripts/docker-check.sh"
DOCSTORE_BIN="$(swift build -c release --show-bin-path)/docstore" bash scripts/docker-check.sh ||
    fail "scripts/docker-check.sh"

log "all checks passed"
log "PostgreSQL is still running at $TEST_DATABASE_URL; stop it with scripts/pg-stop.sh"
