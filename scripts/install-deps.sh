#!/usr/bin/env bash
# Installs the Debian 12 packages this project needs (C libraries for the
# build, PostgreSQL for the tests, tools for load tests) and checks that the
# Swift 6 toolchain is there. Idempotent and fast when all is installed:
# apt-get runs only for packages that are missing.
#
# Usage:  scripts/install-deps.sh     (as root, or via sudo when not root)

set -euo pipefail

PACKAGES=(
    libpq-dev libmicrohttpd-dev libssl-dev pkg-config
    postgresql postgresql-contrib
    curl jq wrk ca-certificates openssl iproute2
    python3 python3-pip python3-venv
    prometheus pgbouncer
)
SWIFT_FALLBACK_DIR=/opt/swift/usr/bin

log() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
    "") ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
esac

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# Run as root: directly when we are root, else through sudo if it exists.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "not root and sudo is missing; run this script as root"
    fi
}

# Run an apt-get command as root with its chatter sent to a temporary
# file, shown only if the command fails.
apt_quiet() {
    local out status=0
    out="$(mktemp)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@" </dev/null >"$out" 2>&1 || status=$?
    if ((status != 0)); then
        cat "$out" >&2
        rm -f "$out"
        die "apt-get $* failed (status $status)"
    fi
    rm -f "$out"
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    log "all ${#PACKAGES[@]} apt packages already installed"
else
    log "missing apt packages: ${missing[*]}"
    log "running apt-get update"
    apt_quiet update
    log "running apt-get install --no-install-recommends ${missing[*]}"
    apt_quiet install -y --no-install-recommends "${missing[@]}"
    for pkg in "${missing[@]}"; do
        is_installed "$pkg" || die "package $pkg is still not installed"
    done
    log "installed ${#missing[@]} packages"
    # prometheus is here for promtool (the metrics tests check every scrape with it) and pgbouncer
    # for the tests behind a transaction pooler (scripts/pgbouncer-start.sh runs its own); the
    # servers apt starts on a machine with systemd are not wanted.
    for service in prometheus pgbouncer; do
        if [[ " ${missing[*]} " == *" $service "* ]] && command -v systemctl >/dev/null &&
            systemctl is-enabled --quiet "$service" 2>/dev/null; then
            as_root systemctl disable --now "$service" >/dev/null 2>&1 || true
            log "disabled the $service service (the tests start their own)"
        fi
    done
fi

# Swift is not an apt package: it must come with the machine.
if swift_path="$(command -v swift)"; then
    log "swift found: $swift_path"
elif [[ -x $SWIFT_FALLBACK_DIR/swift ]]; then
    swift_path=$SWIFT_FALLBACK_DIR/swift
    log "swift is not on PATH but is in $SWIFT_FALLBACK_DIR;" \
        "add it: export PATH=$SWIFT_FALLBACK_DIR:\$PATH"
else
    die "swift not found on PATH nor in $SWIFT_FALLBACK_DIR: the Swift 6 toolchain is required" \
        "(install it, e.g. under /opt/swift, and put its usr/bin on PATH)"
fi
swift_version="$({ "$swift_path" --version 2>/dev/null || true; } |
    sed -n 's/.*Swift version \([0-9][0-9.]*\).*/\1/p')"
if [[ -z $swift_version || ${swift_version%%.*} -lt 6 ]]; then
    die "found Swift ${swift_version:-of unknown version} at $swift_path:" \
        "the Swift 6 toolchain is required"
fi
log "swift version $swift_version"
