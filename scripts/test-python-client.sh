#!/usr/bin/env bash
# Tests of the Python client (clients/python) against the real service and PostgreSQL:
#
#   1. creates (or reuses) the virtualenv .venv-client and installs the client with its test
#      extras (pip install -e clients/python[test]; Parlant and the test tools from PyPI);
#   2. starts the shared local PostgreSQL (scripts/pg-start.sh; left running, it is shared); the
#      service uses it, or CLIENT_DATABASE_URL when that is set (a pooler in front of it);
#   3. starts the service ($DOCSTORE_BIN, default .build/debug/docstore, built with
#      `swift build --product docstore` if missing) on 127.0.0.1, a free port, a schema of its own
#      (pyclient_<random>) and a keys file with a random key and a random read-only key, and waits
#      for /healthz;
#   4. runs pytest in clients/python with DOCSTORE_URL, DOCSTORE_KEY and DOCSTORE_READ_KEY exported
#      (and DOCSTORE_BIN, DOCSTORE_DATABASE_URL, DOCSTORE_SCHEMA, for a second service of its own).
#
# The service is always stopped and its schema dropped at the end; the exit status is pytest's.
#
# Usage:  scripts/test-python-client.sh [pytest arguments]     e.g.  -k quarantine -x

set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

log() { printf 'test-python-client: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

case "${1:-}" in
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

venv="$repo/.venv-client"
python="$venv/bin/python"

# 1. The virtualenv and the client.
if [[ ! -x $python ]]; then
    log "creating $venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            log "python3 -m venv failed; installing python3-venv"
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; } >&2 ||
                die "could not install python3-venv"
            python3 -m venv "$venv" || die "python3 -m venv $venv failed"
        else
            die "python3 -m venv failed: install python3-venv"
        fi
    fi
fi
log "installing clients/python[test] into $venv"
"$python" -m pip install --quiet --disable-pip-version-check -e "clients/python[test]" ||
    die "pip install -e clients/python[test] failed"

# 2. PostgreSQL.
database_url="$(bash scripts/pg-start.sh)"
database_url="${CLIENT_DATABASE_URL:-$database_url}"

# 3. The service.
binary="${DOCSTORE_BIN:-.build/debug/docstore}"
if [[ ! -x $binary ]]; then
    [[ -z ${DOCSTORE_BIN:-} ]] || die "DOCSTORE_BIN=$DOCSTORE_BIN is not an executable"
    if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    log "building $binary (swift build --product docstore)"
    swift build --product docstore >&2 || die "swift build failed"
fi

random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
key="$(random_hex 16)"
# A second key that may only read, for the tests of 403 (DOCSTORE_READ_KEY).
read_key="$(random_hex 16)"
keys_file="$(mktemp -t pyclient-keys.XXXXXX)"
printf '%s\n%s access=read\n' "$key" "$read_key" >"$keys_file"
schema="pyclient_$(random_hex 4)"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
service_log="$(mktemp -t pyclient-service.XXXXXX.log)"
service_pid=""

psql_bin() {
    command -v psql 2>/dev/null && return 0
    local candidate
    for candidate in /usr/lib/postgresql/*/bin/psql; do
        [[ -x $candidate ]] && { echo "$candidate"; return 0; }
    done
    return 1
}

cleanup() {
    if [[ -n $service_pid ]] && kill -0 "$service_pid" 2>/dev/null; then
        kill -TERM "$service_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$service_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$service_pid" 2>/dev/null || true
    fi
    local psql
    if psql="$(psql_bin)"; then
        "$psql" "$database_url" -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" \
            >/dev/null 2>&1 || log "could not drop schema $schema (harmless)"
    fi
    rm -f "$service_log" "$keys_file"
}
trap cleanup EXIT

log "starting $binary on 127.0.0.1:$port, schema $schema"
DATABASE_URL="$database_url" SERVICE_KEY_FILE="$keys_file" HOST=127.0.0.1 PORT="$port" SUPABASE_SCHEMA="$schema" \
    "$binary" >"$service_log" 2>&1 &
service_pid=$!

url="http://127.0.0.1:$port"
ready=""
for _ in $(seq 300); do
    if ! kill -0 "$service_pid" 2>/dev/null; then
        cat "$service_log" >&2
        die "the service exited before answering /healthz"
    fi
    if "$python" - "$url/healthz" <<'EOF' 2>/dev/null; then
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)
EOF
        ready=1
        break
    fi
    sleep 0.1
done
[[ -n $ready ]] || { cat "$service_log" >&2; die "the service did not answer /healthz within 30 s"; }

# 4. The tests.
log "pytest clients/python${*:+ $*}"
status=0
binary_path="$(cd "$(dirname "$binary")" && pwd -P)/$(basename "$binary")"
(
    cd clients/python
    # The binary, database and schema too: the listener's restart test starts a second service.
    DOCSTORE_URL="$url" DOCSTORE_KEY="$key" DOCSTORE_READ_KEY="$read_key" \
        DOCSTORE_BIN="$binary_path" \
        DOCSTORE_DATABASE_URL="$database_url" DOCSTORE_SCHEMA="$schema" "$python" -m pytest "$@"
) || status=$?
if ((status != 0)); then
    log "pytest exited with status $status; the service's log:"
    tail -n 40 "$service_log" >&2 || true
fi
exit "$status"
