#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for tests and local runs, and prints
# exactly one line on stdout: its libpq URL, e.g.
#   postgresql://postgres@127.0.0.1:23456/postgres
# Everything else goes to stderr.
#
# Usage:  URL="$(scripts/pg-start.sh)"     (from any directory)
#
# Data lives in <repo>/.data/postgres (ignored by git), the log in
# <repo>/.data/postgres.log, the port in <repo>/.data/postgres.port.
# Idempotent: if that server is already running it only prints the URL; if
# it is stopped it is started again on its old port (or a new free one).
# It listens on 127.0.0.1 only, on a free port in 20000-40000, with trust
# auth for user postgres. As root, the server runs as the `postgres` user.
# Stop it with scripts/pg-stop.sh (--purge to delete the data).

set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"

# As root: every ancestor of the data folder must be traversable by the
# postgres user. Add o+x to exactly those that are not, top-down.
ensure_traversable() {
    is_root || return 0
    local dir="" part parts
    IFS=/ read -ra parts <<<"${DATA_ROOT#/}"
    for part in "${parts[@]}"; do
        dir="$dir/$part"
        if ! runuser -u "$PG_OS_USER" -- test -x "$dir"; then
            chmod o+x "$dir"
            log "added o+x to $dir so user $PG_OS_USER can reach the data folder"
        fi
    done
}

# Creates the data folder, owned by the cluster's user, mode 700.
prepare_data_dir() {
    mkdir -p "$DATA_ROOT" "$PG_DATA_DIR"
    if is_root && [[ "$(stat -c %U "$PG_DATA_DIR")" != "$PG_OS_USER" ]]; then
        chown -R "$PG_OS_USER:" "$PG_DATA_DIR"
    fi
    chmod 700 "$PG_DATA_DIR"
}

has_locale() { locale -a 2>/dev/null | grep -qixE "$1"; }

# Tests compare collations, so en_US.UTF-8 must exist before initdb (initdb
# imports the system's locales as collations). Generated only as root.
ensure_en_us_locale() {
    has_locale 'en_US\.utf-?8' && return 0
    if ! is_root; then
        log "warning: locale en_US.UTF-8 is missing, so the en_US.utf8 collation won't exist;" \
            "as root: generate it in /etc/locale.gen + locale-gen, then pg-stop.sh --purge"
        return 0
    fi
    if [[ "$(dpkg-query -W -f='${Status}' locales 2>/dev/null || true)" != "install ok installed" ]]; then
        log "installing package locales"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends locales; } >&2; then
            log "warning: could not install locales; en_US.utf8 collation will be missing"
            return 0
        fi
    fi
    log "generating locale en_US.UTF-8"
    sed -i 's/^# *\(en_US\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^en_US\.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
    locale-gen >&2 || log "warning: locale-gen failed; en_US.utf8 collation will be missing"
}

init_cluster() {
    ensure_en_us_locale
    local locale=C.UTF-8
    has_locale 'c\.utf-?8' || locale=C
    # A folder without PG_VERSION is a failed earlier initdb: start afresh.
    find "$PG_DATA_DIR" -mindepth 1 -delete
    log "initializing cluster in $PG_DATA_DIR (locale $locale)"
    pg_as_owner "$PG_BIN/initdb" --pgdata="$PG_DATA_DIR" --auth=trust --username=postgres \
        --encoding=UTF8 --locale="$locale" --no-instructions >&2
}

# A cluster made before en_US.UTF-8 was generated lacks the collation:
# import the system's locales into the databases that need it.
ensure_en_us_collation() {
    has_locale 'en_US\.utf-?8' || return 0
    local db url
    for db in template1 postgres; do
        url="postgresql://postgres@127.0.0.1:$1/$db"
        if [[ "$("$PG_BIN/psql" "$url" -XAtc \
            "SELECT count(*) FROM pg_collation WHERE collname = 'en_US.utf8'")" == 0 ]]; then
            log "importing system collations into database $db"
            "$PG_BIN/psql" "$url" -XAtqc "SELECT pg_import_system_collations('pg_catalog')" >/dev/null
        fi
    done
}

main() {
    case "${1:-}" in
        "") ;;
        -h | --help) usage; exit 0 ;;
        *) usage; die "unknown argument: $1" ;;
    esac

    pg_find_bindir
    pg_ensure_os_user
    prepare_data_dir
    ensure_traversable

    if pg_is_running; then
        PORT="$(pg_running_port)"
        [[ -n $PORT ]] || die "server is running but its port is unknown; run scripts/pg-stop.sh"
        pg_wait_ready "$PORT" || die "server is running on port $PORT but does not accept connections"
        printf '%s\n' "$PORT" >"$PG_PORT_FILE"
        log "already running on 127.0.0.1:$PORT"
        return 0
    fi

    if pg_is_initialized; then
        log "reusing existing data in $PG_DATA_DIR"
    else
        init_cluster
    fi

    PORT="$(pg_configured_port)"
    if [[ -z $PORT ]] || ! pg_port_is_free "$PORT"; then
        [[ -n $PORT ]] && log "old port $PORT is taken, picking another"
        PORT="$(pg_pick_free_port)"
    fi
    pg_write_settings "$PORT"
    pg_start_server "$PORT"
    ensure_en_us_collation "$PORT"
    log "ready; stop it with scripts/pg-stop.sh"
}

# All of main's output goes to stderr; stdout gets only the URL.
main "$@" >&2
pg_url "$PORT"
