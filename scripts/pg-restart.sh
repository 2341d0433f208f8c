#!/usr/bin/env bash
# Restarts the PostgreSQL server of scripts/pg-start.sh on the same port and
# waits until it accepts connections again; for fault tests. Prints its URL
# on stdout (everything else goes to stderr).
#
# Usage:  scripts/pg-restart.sh                    pg_ctl restart -m fast
#         scripts/pg-restart.sh --down-seconds N   stop, stay down N seconds, start
#
# If the server is stopped it is just started, on the same port.

set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"

down_seconds=""
while (($# > 0)); do
    case "$1" in
        --down-seconds)
            [[ ${2:-} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--down-seconds needs a number of seconds"
            down_seconds=$2
            shift 2
            ;;
        -h | --help) usage; exit 0 ;;
        *) usage; die "unknown argument: $1" ;;
    esac
done

pg_is_initialized || die "no cluster in $PG_DATA_DIR; run scripts/pg-start.sh first"
pg_find_bindir
port="$(pg_configured_port)"
[[ -n $port ]] || die "no port in $PG_DATA_DIR/$PG_CONF_NAME; run scripts/pg-start.sh"
pg_prepare_log_file

if ! pg_is_running; then
    log "not running; starting it"
    pg_start_server "$port"
elif [[ -n $down_seconds ]]; then
    log "stopping PostgreSQL, staying down ${down_seconds}s"
    pg_ctl_run stop -m fast -w -t "$PG_WAIT_SECONDS" >&2
    sleep "$down_seconds"
    pg_start_server "$port"
else
    log "restarting PostgreSQL on 127.0.0.1:$port"
    if ! pg_ctl_run restart -m fast -w -t "$PG_WAIT_SECONDS" -l "$PG_LOG_FILE" >&2 ||
        ! pg_wait_ready "$port"; then
        pg_show_log_tail
        die "PostgreSQL did not come back on port $port"
    fi
fi
log "accepting connections again"
pg_url "$port"
