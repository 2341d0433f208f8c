#!/usr/bin/env bash
# Stops the throwaway PostgreSQL server started by scripts/pg-start.sh
# (pg_ctl stop -m fast). Does nothing, successfully, if it is not running.
#
# Usage:  scripts/pg-stop.sh            stop, keep the data
#         scripts/pg-stop.sh --purge    stop, then delete <repo>/.data/postgres
#                                       and <repo>/.data/postgres.port

set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"

purge=false
case "${1:-}" in
    "") ;;
    --purge) purge=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
esac

if ! pg_is_initialized; then
    log "no cluster in $PG_DATA_DIR; nothing to stop"
else
    pg_find_bindir
    if pg_is_running; then
        log "stopping PostgreSQL in $PG_DATA_DIR"
        pg_ctl_run stop -m fast -w -t "$PG_WAIT_SECONDS" >&2
    else
        log "not running"
    fi
fi

if $purge; then
    log "removing $PG_DATA_DIR and $PG_PORT_FILE"
    rm -rf "$PG_DATA_DIR" "$PG_PORT_FILE"
fi
