#!/usr/bin/env bash
# Checks openapi/openapi.yaml against the service, in one command:
#   1. makes (or reuses) the tools venv .venv-tools/ with pinned openapi-spec-validator,
#      schemathesis and PyYAML from PyPI (nothing goes into the system Python);
#   2. validates openapi/openapi.yaml with openapi-spec-validator;
#   3. checks that Sources/DocumentService/OpenAPI/OpenAPIDocument.swift is up to date
#      (scripts/openapi-embed.py --check);
#   4. checks that the (method, path) pairs of the file are exactly the routes of `Route.all`
#      in Sources/DocumentService/Routing/Route.swift;
#   5. starts the built service against the local PostgreSQL (scripts/pg-start.sh) in the schema
#      openapi_check (dropped first), checks that /openapi.json serves the file, and runs
#      schemathesis against every operation with a fixed seed and a bounded number of examples
#      (but `watch`, whose answers stream until the client leaves: the Swift tests and smoke cover
#      it); then stops the service.
# Exits non-zero if any step fails, saying which.
#
# Usage:  scripts/openapi-check.sh [--skip-service]
#
# Environment:
#   DOCSTORE_BIN          the service binary (default .build/debug/docstore; build it first)
#   OPENAPI_MAX_EXAMPLES  schemathesis examples per operation (default 50)
#   OPENAPI_SEED          schemathesis seed (default 20251125)
#   OPENAPI_REPORT_DIR    where schemathesis writes its JUnit report (default .data/openapi-check)
# --skip-service runs steps 1-4 only (no binary or database needed).

set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

log() { printf 'openapi-check: %s\n' "$*" >&2; }
fail() {
    log "FAILED: $*"
    exit 1
}

skip_service=false
case "${1:-}" in
    "") ;;
    --skip-service) skip_service=true ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) log "unknown argument: $1 (see --help)"; exit 2 ;;
esac

spec=openapi/openapi.yaml
venv="$repo/.venv-tools"
# Pinned tool versions; changing them makes the venv be brought up to date on the next run.
requirements=(
    "openapi-spec-validator==0.9.0"
    "schemathesis==4.32.5"
    "pyyaml==6.0.3"
)

# --- 1. tools venv -------------------------------------------------------------------------------
setup_venv() {
    local stamp="$venv/.requirements" wanted
    wanted="$(printf '%s\n' "${requirements[@]}")"
    if [[ -x $venv/bin/python && -f $stamp && "$(cat "$stamp")" == "$wanted" ]]; then
        return 0
    fi
    if [[ ! -x $venv/bin/python ]]; then
        log "making the tools venv in .venv-tools/"
        if ! python3 -m venv "$venv" >&2; then
            fail "python3 -m venv failed; install the python3-venv package (apt-get install python3-venv)"
        fi
    fi
    log "installing ${requirements[*]} into .venv-tools/"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" >&2 ||
        fail "pip install into .venv-tools/ failed"
    printf '%s\n' "$wanted" >"$stamp"
}
setup_venv
py="$venv/bin/python"

# --- 2. validate the file ------------------------------------------------------------------------
log "validating $spec (openapi-spec-validator)"
"$venv/bin/openapi-spec-validator" "$spec" >&2 || fail "$spec is not a valid OpenAPI document"

# --- 3. the embedded copy ------------------------------------------------------------------------
log "checking the embedded copy (scripts/openapi-embed.py --check)"
"$py" scripts/openapi-embed.py --check >&2 ||
    fail "the embedded copy is stale: run python3 scripts/openapi-embed.py (or $py scripts/openapi-embed.py)"

# --- 4. routes -----------------------------------------------------------------------------------
log "comparing the file's operations with Route.all"
"$py" - "$spec" Sources/DocumentService/Routing/Route.swift <<'PY' || fail "the file's operations differ from Route.all"
import re
import sys

import yaml

spec_path, routes_path = sys.argv[1], sys.argv[2]
with open(spec_path, encoding="utf-8") as handle:
    spec = yaml.safe_load(handle)
methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
documented = {
    (method.upper(), path)
    for path, item in spec.get("paths", {}).items()
    for method in item
    if method in methods
}
with open(routes_path, encoding="utf-8") as handle:
    source = handle.read()
served = set(re.findall(r'Route\(\s*method:\s*"([A-Z]+)"\s*,\s*template:\s*"([^"]+)"', source))
if not served:
    sys.exit(f"no Route(method:template:) entries found in {routes_path}")
missing = sorted(served - documented)
extra = sorted(documented - served)
for method, path in missing:
    print(f"  served but not documented: {method} {path}", file=sys.stderr)
for method, path in extra:
    print(f"  documented but not served: {method} {path}", file=sys.stderr)
if missing or extra:
    sys.exit(1)
print(f"  {len(served)} routes, all documented, nothing else documented", file=sys.stderr)
PY

if $skip_service; then
    log "OK (service checks skipped)"
    exit 0
fi

# --- 5. the running service ----------------------------------------------------------------------
binary="${DOCSTORE_BIN:-.build/debug/docstore}"
[[ -x $binary ]] || fail "no service binary at $binary: build it (swift build) or set DOCSTORE_BIN"

database_url="$(bash scripts/pg-start.sh)" || fail "scripts/pg-start.sh could not start PostgreSQL"
schema=openapi_check

psql_bin="$(command -v psql || true)"
if [[ -z $psql_bin ]]; then
    for candidate in /usr/lib/postgresql/*/bin/psql; do
        [[ -x $candidate ]] && psql_bin="$candidate"
    done
fi
if [[ -n $psql_bin ]]; then
    log "dropping schema $schema left by an earlier run"
    "$psql_bin" "$database_url" -XAtq -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $schema CASCADE" >&2 ||
        fail "cannot drop schema $schema"
else
    log "warning: no psql found; schema $schema is not reset"
fi

port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="$("$py" -c 'import secrets; print(secrets.token_hex(16))')"
base="http://127.0.0.1:$port"
report_dir="${OPENAPI_REPORT_DIR:-$repo/.data/openapi-check}"
mkdir -p "$report_dir"
report_dir="$(cd "$report_dir" && pwd -P)"
service_log="$report_dir/service.log"

log "starting $binary serve on $base (schema $schema, log $service_log)"
# WAIT_MAX_SECONDS=1: schemathesis sends wait=60 and more; the service shortens every long poll to 1 s.
DATABASE_URL="$database_url" SERVICE_KEY="$key" SUPABASE_KEY="$key" HOST=127.0.0.1 PORT="$port" \
    SUPABASE_SCHEMA="$schema" WAIT_MAX_SECONDS=1 "$binary" serve >"$service_log" 2>&1 &
service_pid=$!
stop_service() {
    if kill -0 "$service_pid" 2>/dev/null; then
        kill -TERM "$service_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$service_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$service_pid" 2>/dev/null || true
    fi
    wait "$service_pid" 2>/dev/null || true
}
trap stop_service EXIT

ready=false
for _ in $(seq 1 100); do
    if ! kill -0 "$service_pid" 2>/dev/null; then
        tail -n 20 "$service_log" >&2 || true
        fail "the service exited at start (log above)"
    fi
    if "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$base/healthz" \
        2>/dev/null; then
        ready=true
        break
    fi
    sleep 0.1
done
$ready || fail "the service did not answer /healthz within 10 s (log: $service_log)"

log "checking that GET /openapi.json serves $spec"
"$py" - "$spec" "$base/openapi.json" <<'PY' || fail "GET /openapi.json does not serve $spec (rebuild the binary?)"
import json
import sys
import urllib.request

import yaml

class Loader(yaml.SafeLoader):
    pass

Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
with open(sys.argv[1], encoding="utf-8") as handle:
    expected = yaml.load(handle, Loader=Loader)
with urllib.request.urlopen(sys.argv[2], timeout=10) as response:
    content_type = response.headers.get("Content-Type", "")
    served = json.loads(response.read())
if not content_type.startswith("application/json"):
    sys.exit(f"  Content-Type is {content_type!r}, not application/json")
if served != expected:
    sys.exit("  the served document differs from the file")
PY

max_examples="${OPENAPI_MAX_EXAMPLES:-50}"
seed="${OPENAPI_SEED:-20251125}"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
checks+=,response_headers_conformance
log "running schemathesis ($max_examples examples per operation, seed $seed)"
# Run from the report folder: schemathesis keeps its crash cache in ./.schemathesis (for
# `schemathesis replay`), which belongs there, not in the work tree.
set +e
(cd "$report_dir" && "$venv/bin/schemathesis" run "$repo/$spec" \
    --url "$base" \
    --header "Authorization: Bearer $key" \
    --checks "$checks" \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --generation-database none \
    --generation-with-security-parameters false \
    --exclude-operation-id watch \
    --workers 1 \
    --request-timeout 30 \
    --no-color \
    --report junit \
    --report-junit-path "$report_dir/junit.xml")
status=$?
set -e

service_died=false
kill -0 "$service_pid" 2>/dev/null || service_died=true
stop_service
trap - EXIT
if $service_died; then
    log "the service died during the run; its last words:"
    grep -m 3 -E 'Fatal error|^[^ ]+ error ' "$service_log" >&2 || tail -n 5 "$service_log" >&2
    grep -m 8 -E '^ *[0-9]+ \[ra\].* at /' "$service_log" | sed 's/^ */    /' >&2 || true
fi
if grep -qE '^[^ ]+ error ' "$service_log"; then
    log "the service logged errors (last 20 below; all in $service_log):"
    grep -E '^[^ ]+ error ' "$service_log" | tail -n 20 >&2
fi
[[ $status -eq 0 ]] || fail "schemathesis found problems (exit $status; above; JUnit report $report_dir/junit.xml)"
log "OK"
