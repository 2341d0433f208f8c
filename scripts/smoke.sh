#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq programs and JSON filters are single-quoted: their $ is not the shell's
# Smoke test of a running docstore service, route by route, with curl and jq
# only (SPEC section 9). Prints one line per step and exits 0 when every step
# passes; on the first failure it prints the step, what was expected, what
# came back and the body, drops its collection and exits 1.
#
# Usage:  scripts/smoke.sh URL [KEY]
#         scripts/smoke.sh http://127.0.0.1:8080 "$SERVICE_KEY"
#
#   URL   the service's base URL, with or without a trailing slash
#   KEY   the service key; when left out, $SERVICE_KEY is used (which keeps the
#         key out of the process list). The key is never printed.
#
# What it touches: a collection of its own, smoke_<random hex> in the sessions
# store (created, written, dropped at the end or on failure), and the
# customers and variables stores' primary collections, read only (one page of
# one document each). GET /verify writes and removes its own probe document.
#
# Environment: SMOKE_TIMEOUT  seconds each request may take (default 60).
#
# Exit status: 0 all steps passed, 1 a step failed, 2 usage error.

set -euo pipefail

usage() { sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; }

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
    "") usage >&2; exit 2 ;;
esac
if (($# > 2)); then
    printf 'smoke: too many arguments (see --help)\n' >&2
    exit 2
fi

base="$1"
while [[ $base == */ ]]; do base="${base%/}"; done
KEY="${2:-${SERVICE_KEY:-}}"
if [[ -z $KEY ]]; then
    printf 'smoke: no key: pass it as the second argument or set SERVICE_KEY (see --help)\n' >&2
    exit 2
fi
if [[ $KEY == *$'\n'* || $KEY == *$'\r'* ]]; then
    printf 'smoke: the key must be a single line\n' >&2
    exit 2
fi
if [[ ! $base =~ ^https?://[^/]+ ]]; then
    printf 'smoke: URL must start with http:// or https:// (got %s)\n' "$base" >&2
    exit 2
fi
for tool in curl jq; do
    command -v "$tool" >/dev/null || { printf 'smoke: %s is required\n' "$tool" >&2; exit 2; }
done

timeout="${SMOKE_TIMEOUT:-60}"
work="$(mktemp -d)"
# The key goes to curl through files (curl -H @file), never on its command line.
(
    umask 077
    printf 'Authorization: Bearer %s\n' "$KEY" >"$work/auth"
    printf 'apikey: %s\n' "$KEY" >"$work/apikey"
)

hex="$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')"
C="smoke_$hex"       # the collection of this run
P="/sessions/$C"     # its path
collection_made=0    # set once PUT may have created it; the trap drops it then
steps=0
STEP=""
STATUS=""

cleanup() {
    local rc=$?
    if ((collection_made)); then
        local code
        code="$(curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time "$timeout" \
            -X DELETE -H "@$work/auth" "$base$P" 2>/dev/null || true)"
        if [[ $code == 204 ]]; then
            printf 'cleanup: dropped collection %s\n' "$P" >&2
        else
            printf 'cleanup: could not drop collection %s (status %s); drop it by hand\n' "$P" "${code:-none}" >&2
        fi
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Replaces the key wherever it might appear, so no output ever shows it.
redact() {
    local text="$1"
    printf '%s' "${text//"$KEY"/<key>}"
}

fail() {
    {
        printf 'FAIL %s\n' "$STEP"
        printf '     expected: %s\n' "$(redact "$1")"
        printf '     got:      %s\n' "$(redact "$2")"
        if [[ -s $work/curl.err ]]; then
            printf '     curl:     %s\n' "$(redact "$(head -c 500 "$work/curl.err")")"
        fi
        if [[ -s $work/body ]]; then
            local body
            body="$(head -c 2000 "$work/body")"
            printf '     body:     %s\n' "$(redact "$body")"
        fi
        printf 'smoke: failed at step %d (%s) against %s\n' "$((steps + 1))" "$STEP" "$base"
    } >&2
    exit 1
}

# call LABEL METHOD PATH [AUTH [BODY [CONTENT_TYPE]]]
#   LABEL  how the step is shown, e.g. "PATCH /sessions/smoke_x/{id}"
#   AUTH   key (default), apikey, none, or wrong
# Sets STATUS; the body is in $work/body, the headers in $work/headers.
call() {
    STEP="$1"
    local method="$2" path="$3" auth="${4:-key}" body="${5-}" ctype="${6:-application/json}"
    local args=(-sS -g -o "$work/body" -D "$work/headers" -w '%{http_code}'
        --connect-timeout 5 --max-time "$timeout")
    # curl waits for a body after `-X HEAD`; --head knows there is none.
    if [[ $method == HEAD ]]; then args+=(--head); else args+=(-X "$method"); fi
    case "$auth" in
        key) args+=(-H "@$work/auth") ;;
        apikey) args+=(-H "@$work/apikey") ;;
        wrong) args+=(-H 'Authorization: Bearer smoke-wrong-key-00000000000000000000') ;;
        none) ;;
        *) printf 'smoke: bad auth mode %s\n' "$auth" >&2; exit 2 ;;
    esac
    if [[ -n $body ]]; then
        args+=(-H "Content-Type: $ctype" --data-binary "$body")
    fi
    : >"$work/body"
    : >"$work/headers"
    : >"$work/curl.err"
    STATUS="$(curl "${args[@]}" "$base$path" 2>"$work/curl.err")" || true
    [[ -n $STATUS ]] || STATUS=000
}

# The value of a response header (case-insensitive name), or nothing.
header() {
    local name
    name="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')"
    tr -d '\r' <"$work/headers" | while IFS= read -r line; do
        if [[ "$(printf '%s' "${line%%:*}" | tr '[:upper:]' '[:lower:]')" == "$name" ]]; then
            local value="${line#*:}"
            printf '%s\n' "${value# }"
        fi
    done | tail -n 1
}

expect_status() {
    [[ $STATUS == "$1" ]] || fail "status $1" "status $STATUS"
}

# expect_json [--arg name value ...] 'jq expression': the expression must be true on the body.
expect_json() {
    local filter="${!#}"
    local options=("${@:1:$#-1}")
    if ! jq -e "${options[@]}" "$filter" "$work/body" >/dev/null 2>&1; then
        local got
        got="$(jq -c "${options[@]}" "$filter" "$work/body" 2>&1 | head -c 300 || true)"
        fail "body satisfies: $(tr -s ' \n' ' ' <<<"$filter")" "${got:-<no value>}"
    fi
}

# expect_header NAME REGEX: the header is present and matches.
expect_header() {
    local value
    value="$(header "$1")"
    [[ $value =~ $2 ]] || fail "header $1 matching /$2/" "${value:-<no $1 header>}"
}

# The body's value at a jq path, raw.
body() { jq -r "$@" "$work/body"; }

ok() {
    steps=$((steps + 1))
    printf 'ok   %s %s\n' "$STEP" "$STATUS"
}

uri() { jq -rn --arg v "$1" '$v | @uri'; }

printf 'smoke: %s, collection %s\n' "$base" "$P"

# --- Probes and the API description: no key -------------------------------------------------

call "GET /healthz" GET /healthz none
expect_status 200
expect_json '.status == "ok"'
ok

call "GET /readyz" GET /readyz none
expect_status 200
expect_json '.status == "ready" and (.database | startswith("PostgreSQL"))'
ok

call "GET /openapi.json" GET /openapi.json none
expect_status 200
expect_header Content-Type '^application/json'
# Every route of the API (method and path template), as the service's route table has them.
routes='[["get","/healthz"],["get","/readyz"],["get","/openapi.json"],["get","/verify"],["get","/{store}"],
    ["get","/{store}/{collection}"],["post","/{store}/{collection}"],["put","/{store}/{collection}"],
    ["delete","/{store}/{collection}"],["get","/{store}/{collection}/{id}"],["patch","/{store}/{collection}/{id}"],
    ["put","/{store}/{collection}/{id}"],["delete","/{store}/{collection}/{id}"],["post","/{store}/{collection}:find"],
    ["post","/{store}/{collection}:findOne"],["post","/{store}/{collection}:updateOne"],
    ["post","/{store}/{collection}:deleteOne"],["post","/{store}/{collection}:ensureIndexes"],
    ["post","/{store}/{collection}:quarantine"],["get","/{store}/{collection}:failedMigrations"],
    ["get","/{store}/{collection}:versions"],["get","/metrics"],["get","/{store}/{collection}:watch"]]'
expect_json '(.openapi | startswith("3.1")) and (.paths | type == "object")'
undocumented="$(body --argjson routes "$routes" \
    '. as $doc | [$routes[] | select(($doc.paths[.[1]][.[0]] | type) != "object") | join(" ")] | join(", ")')"
[[ -z $undocumented ]] || fail "every route of the API in .paths" "missing: $undocumented"
ok

# --- The key ----------------------------------------------------------------------------------

call "GET /sessions without a key" GET '/sessions?limit=1' none
expect_status 401
expect_header WWW-Authenticate '^Bearer'
expect_json '.error.code == "unauthorized"'
ok

call "GET /sessions with a wrong key" GET '/sessions?limit=1' wrong
expect_status 401
expect_json '.error.code == "unauthorized"'
ok

call "GET /sessions?limit=1 with the key" GET '/sessions?limit=1' key
if [[ $STATUS == 401 ]]; then
    fail "status 200 (the service refused the key: is it the service's SERVICE_KEY?)" "status $STATUS"
fi
expect_status 200
expect_json '(.items | type == "array" and length <= 1) and (.has_more | type == "boolean")'
ok

# The other stores' primary collections, read only (one document at most).
call "GET /customers?limit=1" GET '/customers?limit=1' key
expect_status 200
expect_json '(.items | type == "array" and length <= 1) and (.has_more | type == "boolean")'
ok

call "GET /variables?limit=1 (apikey header)" GET '/variables?limit=1' apikey
expect_status 200
expect_json '(.items | type == "array" and length <= 1) and (.has_more | type == "boolean")'
ok

# --- A collection of our own ------------------------------------------------------------------

collection_made=1
call "PUT $P" PUT "$P" key
expect_status 201
expect_json --arg c "$C" '.collection == $c and .created == true and (.table | type == "string")'
ok

call "PUT $P (again)" PUT "$P" key
expect_status 200
expect_json '.created == false'
ok

call "POST $P" POST "$P" key \
    '{"customer_id":"smoke_c1","kind":"message","n":1,"data":{"text":"hé ✓","tags":["a","b"],"x":1.50}}'
expect_status 201
expect_json '(.id | type == "string" and length > 0) and (.creation_utc | type == "string")
    and .customer_id == "smoke_c1" and .data.text == "hé ✓" and .data.tags == ["a","b"]'
expect_header Location "^$P/"
id1="$(body .id)"
location="$(header Location)"
[[ $location == "$P/$(uri "$id1")" ]] || fail "Location $P/$(uri "$id1")" "Location $location"
ok

call "POST $P (array)" POST "$P" key "[
    {\"id\":\"${C}_2\",\"customer_id\":\"smoke_c1\",\"kind\":\"message\",\"n\":2},
    {\"id\":\"${C}_3\",\"customer_id\":\"smoke_c2\",\"kind\":\"tool\",\"n\":3},
    {\"id\":\"${C}_4\",\"customer_id\":\"smoke_c1\",\"kind\":\"status\",\"n\":4},
    {\"id\":\"${C}_5\",\"customer_id\":\"smoke_c2\",\"kind\":\"message\",\"n\":5,\"extra\":{\"tier\":\"gold\"}}]"
expect_status 201
expect_json --arg c "$C" 'type == "array" and length == 4 and (map(.id) == [$c+"_2", $c+"_3", $c+"_4", $c+"_5"])
    and all(.[]; .creation_utc | type == "string")'
ok

call "GET $P/{id}" GET "$P/$(uri "$id1")" key
expect_status 200
expect_json --arg id "$id1" '.id == $id and .kind == "message" and .n == 1 and .data.x == 1.50'
ok

# A find with limit, then every following page through the Link header.
call "GET $P?limit=2" GET "$P?limit=2" key
expect_status 200
expect_json '(.items | length) == 2 and .has_more == true and (.next_cursor | type == "string") and .total_count == 2'
expect_header Link '^<[^>]+>; *rel="next"$'
cursor="$(body .next_cursor)"
link="$(header Link)"
link="${link#<}"
link="${link%%>*}"
[[ $link == *"cursor=$cursor"* ]] || fail "Link with cursor=$cursor" "Link <$link>"
[[ $link == *"limit=2"* ]] || fail "Link keeping limit=2" "Link <$link>"
seen="$(body '[.items[].id] | join(" ")')"
ok

pages=1
while [[ -n $link ]]; do
    [[ $link == http* ]] || link="$base$link"
    call "GET $P?limit=2&cursor=... (Link, page $((pages + 1)))" GET "${link#"$base"}" key
    expect_status 200
    expect_json '(.items | length) >= 1 and (.items | length) <= 2 and (.has_more | type == "boolean")'
    seen="$seen $(body '[.items[].id] | join(" ")')"
    if [[ "$(body .has_more)" == true ]]; then
        expect_header Link 'rel="next"'
        link="$(header Link)"
        link="${link#<}"
        link="${link%%>*}"
    else
        expect_json '.next_cursor == null'
        [[ -z "$(header Link)" ]] || fail "no Link header on the last page" "Link $(header Link)"
        link=""
    fi
    ok
    pages=$((pages + 1))
    ((pages <= 10)) || fail "at most 10 pages" "more than 10 pages"
done
expected_ids="$id1 ${C}_2 ${C}_3 ${C}_4 ${C}_5"
STEP="pages of GET $P?limit=2"
[[ $pages == 3 ]] || fail "3 pages" "$pages pages"
[[ "$(tr ' ' '\n' <<<"$seen" | sort | tr '\n' ' ')" == "$(tr ' ' '\n' <<<"$expected_ids" | sort | tr '\n' ' ')" ]] \
    || fail "each document once: $expected_ids" "$seen"

call "GET $P?sort=desc&count=exact&limit=1" GET "$P?sort=desc&count=exact&limit=1" key
expect_status 200
expect_json '.total_count == 5 and (.items | length) == 1 and .has_more == true'
# Insert order and creation_utc order agree; the newest is the array's last (ties go by id).
expect_json --arg c "$C" '.items[0].id == $c+"_5"'
ok

call "GET $P (streamed, no limit)" GET "$P" key
expect_status 200
expect_json '(.items | length) == 5 and .total_count == 5 and .has_more == false and .next_cursor == null
    and ([.items[].creation_utc] == ([.items[].creation_utc] | sort))'
ok

call "GET $P?customer_id=eq.smoke_c1" GET "$P?customer_id=eq.smoke_c1&count=exact&limit=10" key
expect_status 200
expect_json '.total_count == 3 and (.items | length) == 3 and all(.items[]; .customer_id == "smoke_c1")'
ok

call "GET $P?n=gt.2&kind=in.(message,tool)" GET "$P?n=gt.2&kind=in.(message,tool)&limit=10" key
expect_status 200
expect_json --arg c "$C" '[.items[].id] == [$c+"_3", $c+"_5"]'
ok

where='{"$or":[{"kind":{"$in":["tool","status"]}},{"extra.tier":"gold"}]}'
call "GET $P?where=..." GET "$P?where=$(uri "$where")&limit=10" key
expect_status 200
expect_json --arg c "$C" '[.items[].id] == [$c+"_3", $c+"_4", $c+"_5"]'
ok

# --- Single documents -------------------------------------------------------------------------

call "PATCH $P/{id}" PATCH "$P/$(uri "$id1")" key '{"status":"closed","n":10}'
expect_status 200
expect_json --arg id "$id1" '.id == $id and .status == "closed" and .n == 10 and .kind == "message" and .data.text == "hé ✓"'
ok

call "PUT $P/{id} (replace)" PUT "$P/$(uri "$id1")" key '{"customer_id":"smoke_c1","kind":"replaced"}'
expect_status 200
expect_json --arg id "$id1" '.id == $id and .kind == "replaced" and (has("status") | not) and (has("data") | not)'
ok

call "GET $P/{id} (after replace)" GET "$P/$(uri "$id1")" key
expect_status 200
expect_json '.kind == "replaced" and (has("status") | not)'
ok

call "PUT $P/{id} (create)" PUT "$P/${C}_6" key '{"customer_id":"smoke_c3","kind":"created","n":6}'
expect_status 201
expect_json --arg c "$C" '.id == $c+"_6" and .kind == "created" and (.creation_utc | type == "string")'
expect_header Location "^$P/${C}_6\$"
ok

# --- Filter-driven operations -----------------------------------------------------------------

call "POST $P:find" POST "$P:find" key '{"where":{"customer_id":"smoke_c2"},"limit":1,"count":"exact"}'
expect_status 200
expect_json --arg c "$C" '[.items[].id] == [$c+"_3"] and .total_count == 2 and .has_more == true and (.next_cursor | type == "string")'
cursor="$(body .next_cursor)"
ok

call "POST $P:find (cursor)" POST "$P:find" key \
    "{\"where\":{\"customer_id\":\"smoke_c2\"},\"limit\":1,\"cursor\":\"$cursor\"}"
expect_status 200
expect_json --arg c "$C" '[.items[].id] == [$c+"_5"] and .has_more == false and .next_cursor == null'
ok

call "POST $P:findOne (sort desc)" POST "$P:findOne" key '{"where":{"customer_id":"smoke_c2"},"sort":[["n","desc"]]}'
expect_status 200
expect_json --arg c "$C" '.document.id == $c+"_5" and .document.n == 5'
ok

call "POST $P:findOne (sort asc)" POST "$P:findOne" key '{"where":{"customer_id":"smoke_c2"},"sort":[["n","asc"]]}'
expect_status 200
expect_json --arg c "$C" '.document.id == $c+"_3"'
ok

call "POST $P:findOne (no match)" POST "$P:findOne" key '{"where":{"customer_id":"nobody"}}'
expect_status 200
expect_json '.document == null'
ok

call "POST $P:updateOne" POST "$P:updateOne" key "{\"where\":{\"id\":\"${C}_2\"},\"params\":{\"seen\":true}}"
expect_status 200
expect_json --arg c "$C" '.matched_count == 1 and .modified_count == 1
    and .updated_document.id == $c+"_2" and .updated_document.seen == true and .updated_document.n == 2'
ok

call "POST $P:updateOne (no match)" POST "$P:updateOne" key '{"where":{"customer_id":"nobody"},"params":{"seen":true}}'
expect_status 200
expect_json '.matched_count == 0 and .modified_count == 0 and .updated_document == null'
ok

call "POST $P:updateOne (upsert)" POST "$P:updateOne" key \
    '{"where":{"customer_id":"smoke_c4"},"params":{"customer_id":"smoke_c4","kind":"upserted"},"upsert":true}'
expect_status 200
expect_json '.matched_count == 0 and .updated_document.kind == "upserted" and .updated_document.customer_id == "smoke_c4"
    and (.updated_document.id | type == "string")'
upserted="$(body .updated_document.id)"
ok

call "GET $P/{id} (upserted)" GET "$P/$(uri "$upserted")" key
expect_status 200
expect_json '.kind == "upserted"'
ok

call "POST $P:deleteOne" POST "$P:deleteOne" key '{"where":{"customer_id":"smoke_c4"}}'
expect_status 200
expect_json --arg id "$upserted" '.deleted_count == 1 and .deleted_document.id == $id'
ok

call "POST $P:deleteOne (no match)" POST "$P:deleteOne" key '{"where":{"customer_id":"smoke_c4"}}'
expect_status 200
expect_json '.deleted_count == 0 and .deleted_document == null'
ok

indexes='{"indexes":[{"fields":[["n","asc"]],"unique":false},{"fields":[["kind","asc"],["n","desc"]]}]}'
call "POST $P:ensureIndexes" POST "$P:ensureIndexes" key "$indexes"
expect_status 200
expect_json '.indexes == 2'
ok

call "POST $P:ensureIndexes (again)" POST "$P:ensureIndexes" key "$indexes"
expect_status 200
expect_json '.indexes == 2'
ok

# --- Versions ---------------------------------------------------------------------------------

call "PATCH $P/{id} (a version)" PATCH "$P/${C}_2" key '{"version":"0.1.0"}'
expect_status 200
expect_json '.version == "0.1.0"'
ok

call "GET $P:versions" GET "$P:versions" key
expect_status 200
expect_json '.versions[0] == {"version":"0.1.0","count":1} and .versions[-1].version == null
    and .versions[-1].count >= 1 and (.versions | length) == 2'
ok

call "GET $P:versions?count=none" GET "$P:versions?count=none" key
expect_status 200
expect_json '[.versions[].version] == ["0.1.0", null] and all(.versions[]; .count == null)'
ok

# --- Migrations' quarantine -------------------------------------------------------------------

call "POST $P:quarantine" POST "$P:quarantine" key "{\"ids\":[\"${C}_4\"],\"reason\":\"smoke test\"}"
expect_status 200
expect_json '.moved == 1'
ok

call "GET $P/{id} (quarantined)" GET "$P/${C}_4" key
expect_status 404
expect_json '.error.code == "document_not_found"'
ok

call "GET $P:failedMigrations" GET "$P:failedMigrations?limit=10" key
expect_status 200
expect_json --arg c "$C" '(.items | length) == 1 and (.items[0] | tostring | contains($c+"_4")) and .has_more == false'
ok

call "GET $P:failedMigrations (streamed)" GET "$P:failedMigrations" key
expect_status 200
expect_json '(.items | length) == 1'
ok

# --- Delete -----------------------------------------------------------------------------------

call "DELETE $P/{id}" DELETE "$P/${C}_3" key
expect_status 200
expect_json --arg c "$C" '.id == $c+"_3" and .kind == "tool"'
ok

call "DELETE $P/{id} (again)" DELETE "$P/${C}_3" key
expect_status 404
expect_json '.error.code == "document_not_found"'
ok

# --- Errors -----------------------------------------------------------------------------------

call "GET /no-such-route" GET /no-such-route key
expect_status 404
expect_json '.error.code == "not_found" and (.error.message | type == "string")'
ok

call "GET /sessions/$C/a/b (no such route)" GET "$P/a/b" key
expect_status 404
expect_json '.error.code == "not_found"'
ok

call "PATCH $P (method not allowed)" PATCH "$P" key '{}'
expect_status 405
expect_header Allow 'GET'
expect_header Allow 'POST'
expect_header Allow 'PUT'
expect_header Allow 'DELETE'
expect_json '.error.code == "method_not_allowed"'
ok

call "POST /healthz (method not allowed)" POST /healthz none '{}'
expect_status 405
expect_header Allow '^GET, HEAD$'
ok

call "HEAD /healthz" HEAD /healthz none
expect_status 200
expect_header Content-Length '^[1-9][0-9]*$'
ok

call "POST $P as text/plain" POST "$P" key '{"kind":"text"}' text/plain
expect_status 415
expect_json '.error.code == "unsupported_media_type"'
ok

call "POST $P with invalid JSON" POST "$P" key '{"kind":'
expect_status 400
expect_json '.error.code == "invalid_json"'
ok

call "GET $P?where=<bad operator>" GET "$P?where=$(uri '{"n":{"$bogus":1}}')&limit=1" key
expect_status 400
expect_json '.error.code == "invalid_filter" and (.error.message | length > 0)'
ok

call "GET $P?n=zz.1 (bad pair filter)" GET "$P?n=zz.1" key
expect_status 400
expect_json '.error.code == "invalid_filter"'
ok

call "POST $P:find (bad filter)" POST "$P:find" key '{"where":{"kind":{"$in":"message"}}}'
expect_status 400
expect_json '.error.code == "invalid_filter"'
expect_header X-Request-Id '^[A-Za-z0-9._:-]{1,128}$'
expect_json --arg id "$(header X-Request-Id)" '.error.request_id == $id'
ok

call "GET $P?cursor=<garbage>" GET "$P?limit=1&cursor=not-a-cursor" key
expect_status 400
expect_json '.error.code == "invalid_cursor"'
ok

call "GET $P?limit=0" GET "$P?limit=0" key
expect_status 400
expect_json '.error.code == "invalid_request"'
ok

call "PUT /sessions/Bad-Name (invalid collection)" PUT /sessions/Bad-Name key
expect_status 400
expect_json '.error.code == "invalid_collection"'
ok

call "POST $P (duplicate id)" POST "$P" key "{\"id\":\"${C}_2\",\"kind\":\"again\"}"
expect_status 409
expect_json '.error.code == "duplicate_id"'
ok

call "POST $P (array with a duplicate id)" POST "$P" key \
    "[{\"id\":\"${C}_7\",\"kind\":\"new\"},{\"id\":\"${C}_2\",\"kind\":\"again\"}]"
expect_status 409
expect_json '.error.code == "duplicate_id"'
ok

call "GET $P/{id} (all or none)" GET "$P/${C}_7" key
expect_status 404
ok

call "GET $P/{id} (untouched by the duplicate)" GET "$P/${C}_2" key
expect_status 200
expect_json '.kind == "message" and .seen == true'
ok

# --- The change feed ------------------------------------------------------------------------

# A watcher started before the write gets it as an event (within a second or two behind a pooler).
STEP="GET $P:watch (Server-Sent Events)"
curl -sS -N -g --connect-timeout 5 --max-time 6 -H "@$work/auth" "$base$P:watch?kind=eq.watched" \
    -D "$work/watch.headers" -o "$work/watch" 2>"$work/curl.err" &
watcher=$!
sleep 1
call "POST $P (for the watcher)" POST "$P" key '{"kind":"watched","n":1}'
expect_status 201
watched_id="$(body .id)"
STEP="GET $P:watch (Server-Sent Events)"
wait "$watcher" || true  # curl ends at --max-time: the stream stays open until the client leaves
STATUS="$(head -n 1 "$work/watch.headers" | cut -d ' ' -f 2)"
expect_status 200
grep -qi '^content-type: text/event-stream' "$work/watch.headers" ||
    fail "Content-Type: text/event-stream" "$(grep -i '^content-type' "$work/watch.headers")"
grep -q '^event: upsert$' "$work/watch" || fail "an 'event: upsert' line" "$(head -c 300 "$work/watch")"
grep -q "^data: .*\"$watched_id\"" "$work/watch" || fail "the new document as data" "$(head -c 300 "$work/watch")"
grep -Eq '^id: [A-Za-z0-9_-]+$' "$work/watch" || fail "an id: line (a cursor token)" "$(head -c 300 "$work/watch")"
ok

call "GET $P:watch with a bad filter" GET "$P:watch?where=%7B%22%24nope%22%3A1%7D" key
expect_status 400
expect_json '.error.code == "invalid_filter"'
ok

# A long poll: nothing matches yet, the find waits, a write ends the wait with the match.
(sleep 1 && curl -sS -o /dev/null --max-time 10 -H "@$work/auth" -H 'Content-Type: application/json' \
    --data-binary '{"kind":"awaited"}' "$base$P") &
writer=$!
call "GET $P?kind=eq.awaited&wait=20" GET "$P?kind=eq.awaited&wait=20" key
wait "$writer" || true
expect_status 200
expect_json '(.items | length) == 1 and .items[0].kind == "awaited"'
ok

# --- Verification -----------------------------------------------------------------------------

call "GET /verify" GET /verify key
expect_status 200
expect_json '.ok == true and (.checks | length > 0) and all(.checks[]; .ok == true and (.name | type == "string"))'
ok

# --- Metrics ----------------------------------------------------------------------------------

call "GET /metrics without a key" GET /metrics none
expect_status 401
expect_json '.error.code == "unauthorized"'
ok

call "GET /metrics" GET /metrics key
if [[ $STATUS == 404 ]]; then
    fail "status 200 (is the service running with METRICS=off?)" "status $STATUS"
fi
expect_status 200
expect_header Content-Type '^text/plain; version=0\.0\.4'
# The inserts above were counted by route template, and the samples carry no id or collection name.
grep -Eq '^docstore_http_requests_total\{route="/\{store\}/\{collection\}",method="POST",status="201"\} [1-9]' \
    "$work/body" || fail "a count of POST /{store}/{collection} 201" "$(grep -c '' "$work/body") lines, none"
grep -q '^docstore_build_info{version="' "$work/body" || fail "docstore_build_info" "none"
if grep -q "$C" "$work/body"; then fail "no collection name or id in the labels" "$(grep -m1 "$C" "$work/body")"; fi
ok

# --- Drop the collection ----------------------------------------------------------------------

call "DELETE $P" DELETE "$P" key
expect_status 204
collection_made=0
ok

call "GET $P?limit=1 (dropped)" GET "$P?limit=1" key
expect_status 200
expect_json '(.items | length) == 0 and .has_more == false'
ok

printf 'smoke: all %d steps passed against %s\n' "$steps" "$base"
