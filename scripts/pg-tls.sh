#!/usr/bin/env bash
# Starts a PostgreSQL with TLS on for the tests of `sslmode=verify-full` (a second instance,
# .data/postgres-tls, through scripts/pg-start.sh), with a certificate for `localhost` signed by a
# throwaway CA, and prints exactly one line on stdout: its URL, e.g.
#   postgresql://postgres@localhost:23456/postgres
#
# Usage:  URL="$(scripts/pg-tls.sh)"
#
# The certificates are made once, valid 30 days, in <repo>/.data/tls/: ca.crt (the CA that signed
# the server's certificate), other-ca.crt (a CA that did not), server.crt and server.key (CN and
# subjectAltName DNS:localhost, so a connection to 127.0.0.1 fails verify-full's host check).
# Idempotent; stop it with PG_INSTANCE=tls scripts/pg-stop.sh.

set -euo pipefail
export PG_INSTANCE=tls
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
esac
command -v openssl >/dev/null || die "openssl is not installed (scripts/install-deps.sh installs it)"

tls="$DATA_ROOT/tls"
# Certificates made by a run that died half-way, or expiring within a day, are made again.
if [[ ! -s $tls/server.crt || ! -s $tls/other-ca.crt ]] ||
    ! openssl x509 -checkend 86400 -noout -in "$tls/server.crt" >/dev/null 2>&1; then
    log "making a throwaway CA and a server certificate for localhost in $tls"
    rm -rf "$tls"
    mkdir -p "$tls"
    {
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=docstore test CA" \
            -keyout "$tls/ca.key" -out "$tls/ca.crt"
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=docstore other test CA" \
            -keyout "$tls/other-ca.key" -out "$tls/other-ca.crt"
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr"
        printf 'subjectAltName=DNS:localhost\n' >"$tls/server.ext"
        openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
            -days 30 -extfile "$tls/server.ext" -out "$tls/server.crt"
    } >"$tls/openssl.log" 2>&1 || { cat "$tls/openssl.log" >&2; die "openssl failed"; }
    chmod 644 "$tls"/*.crt
fi

url="$(bash "$(dirname "${BASH_SOURCE[0]}")/pg-start.sh")"
port="${url##*:}"
port="${port%%/*}"
pg_find_bindir

# The server reads server.crt and server.key from its data folder; the key must be its user's, 0600.
if ! cmp -s "$tls/server.crt" "$PG_DATA_DIR/server.crt"; then
    install -m 600 "$tls/server.key" "$PG_DATA_DIR/server.key"
    install -m 644 "$tls/server.crt" "$PG_DATA_DIR/server.crt"
    if is_root; then chown "$PG_OS_USER:" "$PG_DATA_DIR/server.key" "$PG_DATA_DIR/server.crt"; fi
fi
"$PG_BIN/psql" "$url" -XAtq -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null

tls_url="postgresql://postgres@localhost:$port/postgres"
deadline=$((SECONDS + PG_WAIT_SECONDS))
until [[ "$("$PG_BIN/psql" "$tls_url?sslmode=verify-full&sslrootcert=$tls/ca.crt" -XAtqc \
    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>/dev/null)" == t ]]; do
    ((SECONDS < deadline)) || die "PostgreSQL on port $port does not accept TLS with verify-full (see $PG_LOG_FILE)"
    sleep 0.2
done
log "PostgreSQL with TLS on localhost:$port (CA: $tls/ca.crt)"
printf '%s\n' "$tls_url"
