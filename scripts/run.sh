#!/usr/bin/env bash
# The embedded default: runs the service on this machine with nothing set up.
# Installs the missing apt packages, builds the release binary, starts a
# local PostgreSQL in .data/postgres (git-ignored, 127.0.0.1 only) when no
# database is configured, makes a service key (kept in .data/service-key)
# when none is set, prints a curl command to try, and serves until Ctrl-C.
#
# Usage:  scripts/run.sh
#
# Every variable of the README's configuration table is honoured: set
# DATABASE_URL or SUPABASE_URL (+ SUPABASE_DB_PASSWORD) to use your own
# database, SERVICE_KEY or SUPABASE_KEY for your own key, PORT/HOST to move it.

set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

log() { printf 'run: %s\n' "$*" >&2; }

case "${1:-}" in
    "") ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) log "unknown argument: $1 (see --help)"; exit 2 ;;
esac

bash scripts/install-deps.sh >&2
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

# Built as the Dockerfile builds it (the Swift runtime linked in), so this is the binary the image ships.
log "building the release binary (swift build -c release --static-swift-stdlib)"
swift build -c release --product docstore --static-swift-stdlib >&2
binary="$(swift build -c release --show-bin-path)/docstore"

if [[ -z "${DATABASE_URL:-}${SUPABASE_URL:-}${SUPABASE_DB_HOST:-}" ]]; then
    log "no database configured (DATABASE_URL, SUPABASE_URL): starting a local PostgreSQL in .data/postgres"
    DATABASE_URL="$(bash scripts/pg-start.sh)"
    export DATABASE_URL
    log "using $DATABASE_URL (stop it with scripts/pg-stop.sh)"
fi

key_shown='$SERVICE_KEY'
if [[ -n "${SERVICE_KEY:-}" ]]; then
    :
elif [[ -n "${SUPABASE_KEY:-}" ]]; then
    key_shown='$SUPABASE_KEY'
else
    key_file=.data/service-key
    if [[ ! -s $key_file ]]; then
        mkdir -p .data
        (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$key_file")
        log "made a new service key in $key_file"
    fi
    SERVICE_KEY="$(cat "$key_file")"
    export SERVICE_KEY
    key_shown="$SERVICE_KEY"
    log "service key (from $key_file): $SERVICE_KEY"
fi

host="${HOST:-0.0.0.0}"
case "$host" in
    0.0.0.0 | "::" | "") curl_host=127.0.0.1 ;;
    *:*) curl_host="[$host]" ;;
    *) curl_host="$host" ;;
esac
cat >&2 <<MSG

run: once the service logs "listening on", try it from another terminal:

    curl -H "Authorization: Bearer $key_shown" http://$curl_host:${PORT:-8080}/sessions

run: Ctrl-C (or SIGTERM) stops it gracefully.

MSG
exec "$binary" serve
