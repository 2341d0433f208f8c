#!/usr/bin/env bash
# The project's test command. Installs the apt dependencies, starts the
# throwaway PostgreSQL server (exported as TEST_DATABASE_URL), builds with
# warnings as errors and runs the tests. Extra arguments go to `swift test`.
#
# Usage:  scripts/test.sh                      all tests
#         scripts/test.sh --filter StoreTests  some tests
#
# The PostgreSQL server is left running afterwards (stop it with
# scripts/pg-stop.sh). Exit status: that of the build, else of the tests.

set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

log() { printf 'test: %s\n' "$*"; }

bash scripts/install-deps.sh
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

log "starting PostgreSQL"
TEST_DATABASE_URL="$(bash scripts/pg-start.sh)"
export TEST_DATABASE_URL
log "TEST_DATABASE_URL=$TEST_DATABASE_URL"

left_running() {
    log "PostgreSQL is still running at $TEST_DATABASE_URL; stop it with scripts/pg-stop.sh"
}

log "swift build --build-tests -Xswiftc -warnings-as-errors"
status=0
swift build --build-tests -Xswiftc -warnings-as-errors || status=$?
if ((status != 0)); then
    log "build failed with status $status"
    left_running
    exit "$status"
fi

log "swift test --skip-build${*:+ $*}"
swift test --skip-build "$@" || status=$?

log "swift test exited with status $status"
left_running
exit "$status"
