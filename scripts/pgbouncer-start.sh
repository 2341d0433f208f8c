#!/usr/bin/env bash
# Starts PgBouncer in transaction mode in front of the test PostgreSQL (scripts/pg-start.sh), as a
# transaction pooler like Supabase's Supavisor on 6543, and prints exactly one line on stdout: its
# libpq URL, e.g.  postgresql://postgres@127.0.0.1:6543/postgres
#
# Usage:  URL="$(scripts/pgbouncer-start.sh [PORT])"     PORT defaults to 6543
#         scripts/pgbouncer-start.sh --stop [PORT]
#
# It listens on 127.0.0.1:PORT only, trusts user postgres (as the test PostgreSQL does), and keeps its
# configuration, log and pid in <repo>/.data/pgbouncer-PORT/. Idempotent: when it already runs on
# PORT it only prints the URL. As root it runs as the `postgres` user (PgBouncer refuses root).
# The Debian package `pgbouncer` is installed by scripts/install-deps.sh; its own service is disabled.

set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"

stop=false
case "${1:-}" in
    -h | --help) usage; exit 0 ;;
    --stop) stop=true; shift ;;
esac
port="${1:-6543}"
[[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number, not $port"
dir="$DATA_ROOT/pgbouncer-$port"
pidfile="$dir/pgbouncer.pid"

running_pid() {
    [[ -f $pidfile ]] || return 1
    local pid
    pid="$(<"$pidfile")"
    kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

if [[ $stop == true ]]; then
    if pid="$(running_pid)"; then
        kill -TERM "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        # SIGTERM is lost on a PgBouncer started with it blocked (a parent's mask is inherited).
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
        log "stopped PgBouncer on port $port"
    fi
    exit 0
fi

if running_pid >/dev/null && ! pg_port_is_free "$port"; then
    pg_url "$port"
    exit 0
fi
command -v pgbouncer >/dev/null || die "pgbouncer is not installed (scripts/install-deps.sh installs it)"
pg_port_is_free "$port" || die "port $port is taken by something other than this script's PgBouncer"

pg_find_bindir
upstream="$(bash "$(dirname "${BASH_SOURCE[0]}")/pg-start.sh")"
upstream_port="${upstream##*:}"
upstream_port="${upstream_port%%/*}"

mkdir -p "$dir"
printf '"postgres" ""\n' >"$dir/userlist.txt"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$upstream_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 2000
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $pidfile
INI
if is_root; then
    chown -R "$PG_OS_USER:" "$dir"
    runuser -u "$PG_OS_USER" -- pgbouncer -d -q "$dir/pgbouncer.ini"
else
    pgbouncer -d -q "$dir/pgbouncer.ini"
fi

deadline=$((SECONDS + PG_WAIT_SECONDS))
until "$PG_BIN/psql" "$(pg_url "$port")" -XAtqc 'SELECT 1' >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
        tail -n 20 "$dir/pgbouncer.log" >&2 || true
        die "PgBouncer did not accept connections on port $port within $PG_WAIT_SECONDS s"
    fi
    sleep 0.1
done
log "PgBouncer (transaction mode) on 127.0.0.1:$port in front of PostgreSQL on $upstream_port"
pg_url "$port"
