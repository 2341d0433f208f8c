#!/usr/bin/env bash
# Makes (or finds) a database set up like a Supabase project's, in the local
# test PostgreSQL, and prints exactly one line on stdout: the URL the service
# connects with, e.g.
#   postgresql://docstore_owner@127.0.0.1:23456/docstore_supabase
#
# Usage:  URL="$(scripts/pg-supabase.sh [ADMIN_URL])"
#
# ADMIN_URL is a superuser URL of the server (default: what scripts/pg-start.sh
# prints, starting it if needed). What it sets up, as Supabase does:
#   - roles anon and authenticated (NOLOGIN) and service_role (NOLOGIN, BYPASSRLS),
#     the roles Supabase's Data API (PostgREST) switches to;
#   - database docstore_supabase (en_US.UTF-8 when that locale exists), owned by
#     docstore_owner, a LOGIN role that is neither superuser nor BYPASSRLS, as
#     the service's user;
#   - USAGE on schema public for the API roles, and default privileges that
#     grant them ALL on every table docstore_owner creates (in public, as
#     Supabase does, and in every other schema, so that tests' own schemas
#     are exposed the same way) and USAGE on every schema it creates.
# Idempotent and safe to run while another run does the same.

set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
esac

admin_url="${1:-}"
if [[ -z $admin_url ]]; then
    admin_url="$(bash "$REPO_ROOT/scripts/pg-start.sh")"
fi
pg_find_bindir
psql_as() { "$PG_BIN/psql" "$1" -XAtq -v ON_ERROR_STOP=1 "${@:2}"; }

database=docstore_supabase
owner=docstore_owner

# Roles are cluster-wide; a concurrent run may create them first.
psql_as "$admin_url" >/dev/null <<'SQL'
DO $$
DECLARE
    wanted text[][] := ARRAY[
        ['anon', 'NOLOGIN NOINHERIT'],
        ['authenticated', 'NOLOGIN NOINHERIT'],
        ['service_role', 'NOLOGIN NOINHERIT BYPASSRLS'],
        ['docstore_owner', 'LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE']
    ];
BEGIN
    FOR i IN 1 .. array_length(wanted, 1) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = wanted[i][1]) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I %s', wanted[i][1], wanted[i][2]);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$;
SQL

if [[ "$(psql_as "$admin_url" -c "SELECT count(*) FROM pg_database WHERE datname = '$database'")" == 0 ]]; then
    locale_clause=""
    if [[ "$(psql_as "$admin_url" -c "SELECT count(*) FROM pg_collation WHERE collname = 'en_US.utf8'")" != 0 ]]; then
        locale_clause="LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'"
    fi
    log "creating database $database, owned by $owner"
    if ! output="$(psql_as "$admin_url" -c \
        "CREATE DATABASE $database OWNER $owner TEMPLATE template0 ENCODING 'UTF8' $locale_clause" 2>&1)"; then
        # A concurrent run created it meanwhile.
        [[ $output == *"already exists"* ]] || die "cannot create database $database: $output"
    fi
fi

base_url="${admin_url%/*}"
psql_as "$base_url/$database" >/dev/null <<SQL
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE $owner IN SCHEMA public
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE $owner
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE $owner
    GRANT USAGE ON SCHEMAS TO anon, authenticated, service_role;
SQL

# postgresql://postgres@host:port/db -> postgresql://docstore_owner@host:port/docstore_supabase
printf '%s\n' "$(sed -E "s#^(postgres(ql)?://)[^@/]*@#\\1$owner@#" <<<"$base_url")/$database"
