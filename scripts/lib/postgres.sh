# shellcheck shell=bash
# Shared helpers for scripts/pg-start.sh, pg-stop.sh and pg-restart.sh.
#
# Source it, don't run it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"
#
# It sets these paths (all derived from this file's location, so the scripts
# work from any cwd and any clone location):
#   REPO_ROOT      the repository (parent of scripts/)
#   DATA_ROOT      $REPO_ROOT/.data            (ignored by git)
#   PG_DATA_DIR    $REPO_ROOT/.data/postgres   (the cluster)
#   PG_LOG_FILE    $REPO_ROOT/.data/postgres.log
#   PG_PORT_FILE   $REPO_ROOT/.data/postgres.port
# and defines the functions below. Messages go to stderr, prefixed with the
# calling script's name. As root, every server binary runs as the `postgres`
# system user (initdb and postgres refuse to run as root).
#
# PG_INSTANCE=<name> in the environment (letters, digits, _ and -) selects a
# separate cluster, .data/postgres-<name>, with its own .data/postgres-<name>.log
# and .data/postgres-<name>.port, for every script: fault tests start, restart
# and stop such a private server without touching the shared one. Unset or
# empty, the paths are the ones above.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
DATA_ROOT="$REPO_ROOT/.data"
PG_INSTANCE="${PG_INSTANCE:-}"
if [[ -n $PG_INSTANCE && ! $PG_INSTANCE =~ ^[A-Za-z0-9_-]+$ ]]; then
    printf '%s: error: PG_INSTANCE may hold only letters, digits, _ and -\n' "$(basename "$0")" >&2
    exit 1
fi
PG_NAME="postgres${PG_INSTANCE:+-$PG_INSTANCE}"
PG_DATA_DIR="$DATA_ROOT/$PG_NAME"
PG_LOG_FILE="$DATA_ROOT/$PG_NAME.log"
PG_PORT_FILE="$DATA_ROOT/$PG_NAME.port"
PG_OS_USER=postgres          # system user that owns the cluster when run as root
PG_CONF_NAME=scripts.conf    # our settings, included from postgresql.conf
PG_WAIT_SECONDS=30

PG_SCRIPT_NAME="$(basename "$0")"

log() { printf '%s: %s\n' "$PG_SCRIPT_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [[ $EUID -eq 0 ]]; }

# Prints the calling script's header comment (its usage text).
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; }

# pg_url PORT -> libpq connection URL
pg_url() { printf 'postgresql://postgres@127.0.0.1:%s/postgres\n' "$1"; }

# Sets PG_BIN to the directory holding initdb/pg_ctl/postgres. Prefers the
# major version the existing cluster was created with, else the newest
# /usr/lib/postgresql/*/bin, else `pg_config --bindir`. PG_BIN may be preset.
pg_find_bindir() {
    if [[ -n ${PG_BIN:-} ]]; then
        [[ -x $PG_BIN/pg_ctl ]] || die "PG_BIN=$PG_BIN has no pg_ctl"
        return
    fi
    if [[ -f $PG_DATA_DIR/PG_VERSION ]]; then
        local major
        major="$(<"$PG_DATA_DIR/PG_VERSION")"
        if [[ -x /usr/lib/postgresql/$major/bin/pg_ctl ]]; then
            PG_BIN="/usr/lib/postgresql/$major/bin"
            return
        fi
        log "warning: $PG_DATA_DIR was made by PostgreSQL $major, whose binaries are not installed"
    fi
    local newest
    newest="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null |
        sort -V | tail -n 1)"
    if [[ -n $newest ]]; then
        PG_BIN="$(dirname "$newest")"
    elif command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        PG_BIN="$(pg_config --bindir)"
    else
        die "PostgreSQL server binaries not found (run scripts/install-deps.sh)"
    fi
}

# As root, make sure the postgres system user exists.
pg_ensure_os_user() {
    is_root || return 0
    id -u "$PG_OS_USER" >/dev/null 2>&1 && return 0
    log "creating system user $PG_OS_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$PG_OS_USER"
}

# pg_as_owner CMD... : run CMD as the cluster owner (postgres when we are
# root, else ourselves). Runs from / so an unreadable cwd is harmless.
pg_as_owner() {
    if is_root; then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# pg_ctl wrapper: pg_ctl_run ARGS...
pg_ctl_run() { pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA_DIR" "$@"; }

pg_is_initialized() { [[ -f $PG_DATA_DIR/PG_VERSION ]]; }

# Is the server of PG_DATA_DIR running (pg_ctl status)? A postmaster killed
# with SIGKILL (crash tests) lingers a moment as a zombie, which pg_ctl
# counts as running: wait for it to be reaped, then report it stopped.
pg_is_running() {
    pg_is_initialized || return 1
    local deadline=$((SECONDS + PG_WAIT_SECONDS))
    while pg_ctl_run status >/dev/null 2>&1; do
        if ! pg_postmaster_is_zombie || ((SECONDS >= deadline)); then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

pg_postmaster_is_zombie() {
    local pid
    pid="$(head -n 1 "$PG_DATA_DIR/postmaster.pid" 2>/dev/null)" || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ "$(sed -n 's/^.*) \([A-Za-z]\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null)" == Z ]]
}

# Port the running server listens on: the recorded port file, else line 4
# of postmaster.pid. Prints nothing when unknown.
pg_running_port() {
    local port=""
    [[ -f $PG_PORT_FILE ]] && port="$(<"$PG_PORT_FILE")"
    if ! [[ $port =~ ^[0-9]+$ ]] || ! pg_accepts "$port"; then
        port="$(sed -n 4p "$PG_DATA_DIR/postmaster.pid" 2>/dev/null || true)"
    fi
    [[ $port =~ ^[0-9]+$ ]] && printf '%s\n' "$port"
    return 0
}

# Port in the settings file we wrote at the last start (empty if none).
pg_configured_port() {
    sed -n 's/^port = \([0-9]*\)$/\1/p' "$PG_DATA_DIR/$PG_CONF_NAME" 2>/dev/null || true
}

pg_accepts() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

# pg_wait_ready PORT: wait up to PG_WAIT_SECONDS for connections.
pg_wait_ready() {
    local port=$1 deadline=$((SECONDS + PG_WAIT_SECONDS))
    until pg_accepts "$port"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# A TCP port is free when nothing listens on it (ss) and nothing answers a
# connect on 127.0.0.1 (bash /dev/tcp probe).
pg_port_is_free() {
    local port=$1
    if command -v ss >/dev/null &&
        [[ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ]]; then
        return 1
    fi
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# Prints a free port, trying from a random start in 20000-40000.
pg_pick_free_port() {
    local port=$((20000 + RANDOM % 20001)) tries
    for ((tries = 0; tries < 500; tries++)); do
        if pg_port_is_free "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
        port=$((port >= 40000 ? 20000 : port + 1))
    done
    die "no free TCP port found in 20000-40000"
}

pg_show_log_tail() {
    log "last lines of $PG_LOG_FILE:"
    tail -n 30 "$PG_LOG_FILE" >&2 2>/dev/null || true
}

# The log file lives outside the data folder, in a root-owned .data/, so
# create it up front and hand it to the server's user.
pg_prepare_log_file() {
    touch "$PG_LOG_FILE"
    if is_root; then chown "$PG_OS_USER:" "$PG_LOG_FILE"; fi
}

# pg_write_settings PORT: (re)write our settings file inside the cluster
# and make sure postgresql.conf includes it. fsync stays on on purpose:
# this database is used for crash-safety tests.
pg_write_settings() {
    local port=$1
    pg_as_owner tee "$PG_DATA_DIR/$PG_CONF_NAME" >/dev/null <<EOF
# Written by scripts/pg-start.sh on every start; edits here are lost.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
fsync = on
logging_collector = off
EOF
    if ! grep -q "^include_if_exists = '$PG_CONF_NAME'" "$PG_DATA_DIR/postgresql.conf"; then
        printf "\n# Settings of scripts/pg-start.sh\ninclude_if_exists = '%s'\n" "$PG_CONF_NAME" |
            pg_as_owner tee -a "$PG_DATA_DIR/postgresql.conf" >/dev/null
    fi
}

# pg_start_server PORT: pg_ctl start on the port in the settings file, wait
# until it accepts connections, record the port. Fails with the log tail.
pg_start_server() {
    local port=$1
    pg_prepare_log_file
    log "starting PostgreSQL ($PG_BIN) on 127.0.0.1:$port, log in $PG_LOG_FILE"
    if ! pg_ctl_run start -w -t "$PG_WAIT_SECONDS" -l "$PG_LOG_FILE" >&2 ||
        ! pg_wait_ready "$port"; then
        log "error: PostgreSQL did not start on port $port"
        pg_show_log_tail
        return 1
    fi
    printf '%s\n' "$port" >"$PG_PORT_FILE"
}
