#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine, on this Debian 12 machine:
#
#  1. lint: two FROM stages (a swift:6.x-bookworm build stage, a debian:bookworm-slim runtime
#     stage), the build stage installs the -dev packages Package.swift names and builds with
#     --static-swift-stdlib, and the runtime stage has a non-root USER, EXPOSE, a HEALTHCHECK
#     on /healthz, ENTRYPOINT and CMD;
#  2. the release binary's shared libraries: `ldd` resolves them, `dpkg -S` maps each to its
#     Debian package; the binary's own (direct, ELF NEEDED) libraries' packages, minus those
#     debian:bookworm-slim already contains, are the packages the runtime stage must install;
#  3. that set against the runtime stage's `apt-get install` list, where a comment line
#     `# docker-check: extra <package>...` allows packages that are no library (ca-certificates,
#     a healthcheck tool); and that those packages' dependencies cover every library ldd loads.
#
# Usage:  scripts/docker-check.sh [--dockerfile PATH]
#
# Environment:
#   DOCSTORE_BIN  a release binary built like the Dockerfile builds it; when unset, it is
#                 built here: swift build -c release --product docstore --static-swift-stdlib
#                 (scratch path .build-docker-check)
#
# debian:bookworm-slim's packages are approximated by what `debootstrap --variant=minbase`
# (which the official image is made with) installs: every Priority: required package and apt,
# with their dependencies, read from this machine's dpkg database. Priority alone is not enough:
# libc6 and libstdc++6 are "optional", yet in the image because required packages (apt) need them.
#
# Exit status: 0 all good; 1 a lint failure or missing/superfluous packages (named); 2 usage or
# environment errors (not Debian 12, no ldd/readelf/dpkg, build failure).

set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo"

log() { printf 'docker-check: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

dockerfile=Dockerfile
while (($#)); do
    case "$1" in
        -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        --dockerfile) [[ $# -ge 2 ]] || die "--dockerfile needs a path"; dockerfile="$2"; shift 2 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ -f $dockerfile ]] || die "no Dockerfile at $dockerfile"

for tool in ldd dpkg dpkg-query awk; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
if command -v readelf >/dev/null; then
    needed_of() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }
elif command -v objdump >/dev/null; then
    needed_of() { objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'; }
else
    die "readelf or objdump is required (apt-get install binutils)"
fi
if [[ ! -r /etc/debian_version || "$(cut -d. -f1 /etc/debian_version)" != 12 ]]; then
    die "this check maps libraries to Debian 12 (bookworm) packages; run it on Debian 12" \
        "(this is $(cat /etc/debian_version 2>/dev/null || echo 'not Debian'))"
fi

problems=0
pass() { printf 'ok   %s\n' "$*"; }
problem() {
    printf 'FAIL %s\n' "$*"
    problems=$((problems + 1))
}

# --- The Dockerfile, as logical instructions ----------------------------------------------------

# Each instruction on one line (continuations joined, comment lines inside them dropped), as
# "<stage index>\t<INSTRUCTION>\t<arguments>". Stage 0 is the first FROM.
instructions="$(awk '
    BEGIN { stage = -1; text = "" }
    {
        sub(/\r$/, "")
        if (text == "" && $0 ~ /^[ \t]*#/) next         # a comment line
        if (text != "" && $0 ~ /^[ \t]*#/) next         # a comment inside a continuation
        if (text == "" && $0 ~ /^[ \t]*$/) next
        line = $0
        if (line ~ /\\[ \t]*$/) {
            sub(/\\[ \t]*$/, "", line)
            text = text line " "
            next
        }
        text = text line
        sub(/^[ \t]+/, "", text)
        word = toupper(text); sub(/[ \t].*/, "", word)
        rest = text; sub(/^[^ \t]+[ \t]*/, "", rest)
        if (word == "FROM") stage++
        printf "%d\t%s\t%s\n", stage, word, rest
        text = ""
    }' "$dockerfile")"

# The "# docker-check: extra ..." allow-list, anywhere in the file.
extras="$(sed -n 's/^[ \t]*#[ \t]*docker-check:[ \t]*extra[ \t]\{1,\}//p' "$dockerfile" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)"

stages="$(awk -F'\t' '$2 == "FROM"' <<<"$instructions" | wc -l)"
last=$((stages - 1))
stage_of() { awk -F'\t' -v s="$1" '$1 == s' <<<"$instructions"; }
final="$(stage_of "$last")"
first="$(stage_of 0)"
from_image() { awk -F'\t' '$2 == "FROM" { split($3, w, /[ \t]+/); i = 1; while (w[i] ~ /^--/) i++; print w[i] }' <<<"$1"; }

# The packages `apt-get install` (or `apt install`) names in a stage's RUN instructions.
apt_installs() {
    local run segment word collecting
    local -a words
    while IFS=$'\t' read -r _ _ run; do
        run="${run//&&/;}"
        run="${run//||/;}"
        run="${run//|/;}"
        set -f
        IFS=';' read -ra segments <<<"$run"
        for segment in "${segments[@]}"; do
            read -ra words <<<"$segment"
            collecting=0
            local seen_apt=0
            for word in "${words[@]}"; do
                word="${word//\"/}"
                word="${word//\'/}"
                if ((collecting)); then
                    [[ $word == -* || -z $word ]] && continue
                    printf '%s\n' "${word%%=*}"
                elif [[ $word == apt-get || $word == apt ]]; then
                    seen_apt=1
                elif ((seen_apt)) && [[ $word == install ]]; then
                    collecting=1
                fi
            done
        done
        set +f
    done < <(awk -F'\t' '$2 == "RUN"' <<<"$1")
}

printf 'Dockerfile: %s\n' "$dockerfile"

# --- Lint -----------------------------------------------------------------------------------------

if ((stages >= 2)); then
    pass "lint: $stages FROM stages (multi-stage)"
else
    problem "lint: needs two FROM stages (build and runtime), found $stages"
fi

build_image="$(from_image "$first")"
runtime_image="$(from_image "$final")"
if [[ $build_image =~ ^(docker\.io/(library/)?)?swift:6(\.[0-9]+)*(-[a-z0-9.]+)*-bookworm ]]; then
    pass "lint: build stage FROM $build_image"
else
    problem "lint: the build stage should be FROM a swift:6.x-bookworm image, not '${build_image:-nothing}'"
fi
if [[ $runtime_image =~ ^(docker\.io/(library/)?)?debian:bookworm-slim(@sha256:[0-9a-f]+)?$ ]]; then
    pass "lint: runtime stage FROM $runtime_image"
else
    problem "lint: the runtime stage should be FROM debian:bookworm-slim (the base set assumes it), not '${runtime_image:-nothing}'"
fi

# The build stage installs what Package.swift's system libraries name, and pkg-config.
build_packages="$(apt_installs "$first" | sort -u)"
wanted_dev="$( (sed -n 's/.*\.apt(\[\(.*\)\]).*/\1/p' Package.swift | tr -d '" ' | tr ',' '\n'; echo pkg-config) | sed '/^$/d' | sort -u)"
missing_dev="$(comm -23 <(printf '%s\n' "$wanted_dev") <(printf '%s\n' "$build_packages") | tr '\n' ' ')"
if [[ -z ${missing_dev// /} ]]; then
    pass "lint: build stage installs $(printf "%s\n" "$wanted_dev" | tr "\n" " " | sed "s/ $//")"
else
    problem "lint: build stage does not install: $missing_dev(Package.swift's .apt providers and pkg-config)"
fi
if grep -q -- '--static-swift-stdlib' <<<"$(awk -F'\t' '$2 == "RUN" && $3 ~ /swift build/' <<<"$first")"; then
    pass "lint: build stage uses swift build --static-swift-stdlib"
else
    problem "lint: the build stage's swift build lacks --static-swift-stdlib (the runtime image has no Swift libraries)"
fi

user="$(awk -F'\t' '$2 == "USER" { u = $3 } END { print u }' <<<"$final")"
user_name="${user%%:*}"
user_name="${user_name%% *}"
if [[ -z $user ]]; then
    problem "lint: the runtime stage has no USER (it would run as root)"
elif [[ $user_name == root || $user_name =~ ^0+$ ]]; then
    problem "lint: the runtime stage's USER is root ($user)"
else
    pass "lint: USER $user (non-root)"
fi

expose="$(awk -F'\t' '$2 == "EXPOSE" { print $3 }' <<<"$final" | tr '\n' ' ')"
if [[ -n ${expose// /} ]]; then
    pass "lint: EXPOSE ${expose% }"
else
    problem "lint: the runtime stage has no EXPOSE"
fi

healthcheck="$(awk -F'\t' '$2 == "HEALTHCHECK" { h = $3 } END { print h }' <<<"$final")"
if [[ -z $healthcheck || $healthcheck =~ ^[Nn][Oo][Nn][Ee] ]]; then
    problem "lint: the runtime stage has no HEALTHCHECK"
elif [[ $healthcheck != *CMD* || $healthcheck != */healthz* ]]; then
    problem "lint: the HEALTHCHECK should run a CMD against /healthz: $healthcheck"
else
    exec_form="${healthcheck#*CMD}"
    exec_form="${exec_form#"${exec_form%%[![:space:]]*}"}"
    if [[ $exec_form == \[* ]] && command -v jq >/dev/null \
        && ! jq -e 'type == "array" and all(.[]; type == "string")' <<<"$exec_form" >/dev/null 2>&1; then
        problem "lint: the HEALTHCHECK's exec form is not a JSON array of strings: $exec_form"
    else
        pass "lint: HEALTHCHECK on /healthz"
    fi
    # A tool the healthcheck runs must be in the image: allow-listed (and installed) or in the base.
    for tool in curl wget; do
        if [[ $exec_form =~ (^|[^a-z])$tool([^a-z]|$) ]] && ! grep -qx "$tool" <<<"$extras"; then
            problem "lint: the HEALTHCHECK uses $tool: install it and allow it with '# docker-check: extra $tool'"
        fi
    done
fi

for instruction in ENTRYPOINT CMD; do
    value="$(awk -F'\t' -v i="$instruction" '$2 == i { v = $3 } END { print v }' <<<"$final")"
    if [[ -n $value ]]; then
        pass "lint: $instruction $value"
    else
        problem "lint: the runtime stage has no $instruction"
    fi
done

# --- The binary and its libraries -----------------------------------------------------------------

if [[ -n ${DOCSTORE_BIN:-} ]]; then
    binary="$DOCSTORE_BIN"
    [[ -x $binary ]] || die "DOCSTORE_BIN=$binary is not an executable file"
    log "using DOCSTORE_BIN=$binary (it should be built with --static-swift-stdlib, like the Dockerfile)"
else
    if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null || die "no swift on PATH (or set DOCSTORE_BIN)"
    log "building: swift build --scratch-path .build-docker-check -c release --product docstore --static-swift-stdlib"
    swift build --scratch-path .build-docker-check -c release --product docstore --static-swift-stdlib >&2 \
        || die "the build failed"
    binary="$(swift build --scratch-path .build-docker-check -c release --show-bin-path)/docstore"
fi
printf 'binary: %s\n' "$binary"

# soname -> resolved path, for every library the dynamic loader would load.
ldd_out="$(ldd "$binary" 2>&1)" || die "ldd failed on $binary: $ldd_out"
if grep -q 'not found' <<<"$ldd_out"; then
    problem "ldd: libraries not found on this machine: $(grep 'not found' <<<"$ldd_out" | awk '{print $1}' | tr '\n' ' ')"
fi
libraries="$(awk '
    $2 == "=>" && $3 ~ /^\// { print $1 "\t" $3; next }
    $1 ~ /^\// { n = $1; sub(/.*\//, "", n); print n "\t" $1 }' <<<"$ldd_out")"

# The Debian package that owns a file, trying the merged-/usr spellings of its path.
package_of() {
    local path="$1" candidate real
    real="$(readlink -f "$path")"
    for candidate in "$path" "$real" "/usr$path" "/usr$real" "${path#/usr}" "${real#/usr}"; do
        [[ $candidate == /* ]] || continue
        local owner
        owner="$(dpkg -S "$candidate" 2>/dev/null | grep -v '^diversion' | head -n 1 | sed 's/^\([^:,]*\).*/\1/')" || true
        if [[ -n $owner ]]; then
            printf '%s\n' "$owner"
            return 0
        fi
    done
    return 1
}

declare -A package_of_soname=()
while IFS=$'\t' read -r soname path; do
    [[ -n $soname ]] || continue
    if owner="$(package_of "$path")"; then
        package_of_soname[$soname]="$owner"
    else
        package_of_soname[$soname]="?"
        problem "ldd: $soname ($path) belongs to no Debian package (a Swift runtime library? the image would lack it)"
    fi
done <<<"$libraries"

direct="$(needed_of "$binary" | sort -u)"
[[ -n $direct ]] || die "$binary has no NEEDED entries (not a dynamic ELF binary?)"

# --- debian:bookworm-slim, approximated --------------------------------------------------------------

# Prints the installed packages reachable from the seed packages (stdin, one a line) through
# Pre-Depends and Depends; of alternatives, the first installed (or provided) one counts.
closure() {
    awk -F'\t' '
        FNR == NR {
            if ($1 !~ /^ii/) next
            installed[$2] = 1
            deps[$2] = $5
            n = split($4, provided, /, */)
            for (i = 1; i <= n; i++) {
                p = provided[i]; sub(/ .*/, "", p)
                if (p != "" && !(p in provider)) provider[p] = $2
            }
            next
        }
        { if ($1 != "") queue[++tail] = $1 }
        END {
            head = 0
            while (head < tail) {
                name = queue[++head]
                if (!(name in installed)) { if (name in provider) name = provider[name]; else continue }
                if (name in done) continue
                done[name] = 1
                print name
                groups = split(deps[name], group, /, */)
                for (g = 1; g <= groups; g++) {
                    alts = split(group[g], alt, /[ \t]*\|[ \t]*/)
                    for (a = 1; a <= alts; a++) {
                        pkg = alt[a]; sub(/^[ \t]+/, "", pkg); sub(/[ \t(].*/, "", pkg); sub(/:.*/, "", pkg)
                        if (pkg == "") continue
                        if (pkg in installed || pkg in provider) { queue[++tail] = pkg; break }
                    }
                }
            }
        }' <(dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Priority}\t${Provides}\t${Pre-Depends}, ${Depends}\n') -
}

base="$( (dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Priority}\n' | awk -F'\t' '$1 ~ /^ii/ && $3 == "required" { print $2 }'; echo apt) | closure | sort -u)"
in_base() { grep -qxF "$1" <<<"$base"; }
printf 'base (debian:bookworm-slim ~ Priority: required + apt, with dependencies): %d packages\n' "$(wc -l <<<"$base")"

# --- What the runtime stage must install --------------------------------------------------------------

printf '\nthe binary'"'"'s own libraries (ELF NEEDED, resolved by ldd, owned per dpkg -S):\n'
needed_packages=""
while IFS= read -r soname; do
    path="$(awk -F'\t' -v s="$soname" '$1 == s { print $2 }' <<<"$libraries" | head -n 1)"
    owner="${package_of_soname[$soname]:-?}"
    if [[ $owner == "?" ]]; then
        note="NOT FROM A DEBIAN PACKAGE"
    elif in_base "$owner"; then
        note="in debian:bookworm-slim already"
    else
        note="needed"
        needed_packages+="$owner"$'\n'
    fi
    printf '  %-22s %-46s %-16s %s\n' "$soname" "${path:-?}" "$owner" "$note"
done <<<"$direct"
needed_packages="$(sed '/^$/d' <<<"$needed_packages" | sort -u)"

all_packages="$(for soname in "${!package_of_soname[@]}"; do printf '%s\n' "${package_of_soname[$soname]}"; done | grep -vx '?' | sort -u)"
printf '\nevery library ldd loads (%d), by package: %s\n' "$(sed '/^$/d' <<<"$libraries" | wc -l)" \
    "$(tr '\n' ' ' <<<"$all_packages")"

runtime_packages="$(apt_installs "$final" | sort -u)"
printf '\nruntime stage installs: %s\n' "$(tr '\n' ' ' <<<"$runtime_packages")"
printf 'allow-listed extras:    %s\n' "$(tr '\n' ' ' <<<"${extras:-(none)}")"
printf 'needed (from ldd):      %s\n\n' "$(tr '\n' ' ' <<<"$needed_packages")"

set_minus() { comm -23 <(printf '%s\n' "$1" | sed '/^$/d' | sort -u) <(printf '%s\n' "$2" | sed '/^$/d' | sort -u); }

missing="$(set_minus "$needed_packages" "$runtime_packages")"
superfluous="$(set_minus "$(set_minus "$runtime_packages" "$needed_packages")" "$extras")"
stale_extras="$(set_minus "$extras" "$runtime_packages")"

if [[ -z $missing ]]; then
    pass "packages: the runtime stage installs every needed package"
else
    problem "packages: missing from the runtime stage's apt-get install: $(tr '\n' ' ' <<<"$missing")"
fi
if [[ -z $superfluous ]]; then
    pass "packages: nothing superfluous (beyond the allow-listed extras)"
else
    while IFS= read -r package; do
        if in_base "$package"; then
            problem "packages: superfluous: $package (debian:bookworm-slim has it already)"
        else
            problem "packages: superfluous: $package (no library of the binary comes from it;" \
                "if it is needed otherwise, add '# docker-check: extra $package')"
        fi
    done <<<"$superfluous"
fi
if [[ -n $stale_extras ]]; then
    problem "packages: allow-listed but not installed: $(tr '\n' ' ' <<<"$stale_extras")(remove them from '# docker-check: extra')"
fi

# Everything ldd loads must come with the base image or the installed packages' dependencies.
image_packages="$( (printf '%s\n' "$base"; printf '%s\n' "$runtime_packages") | sed '/^$/d' | closure | sort -u)"
uncovered="$(set_minus "$all_packages" "$image_packages")"
if [[ -z $uncovered ]]; then
    pass "packages: every library ldd loads comes with the base image or the installed packages' dependencies"
else
    problem "packages: ldd loads libraries of $(tr '\n' ' ' <<<"$uncovered")which neither the base image nor the installed packages' dependencies provide"
fi

if ((problems)); then
    printf '\ndocker-check: %d problem(s)\n' "$problems"
    exit 1
fi
printf '\ndocker-check: OK (runtime packages: %s)\n' "$(tr '\n' ' ' <<<"$runtime_packages" | sed 's/ $//')"
