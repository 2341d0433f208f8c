# syntax=docker/dockerfile:1
# The docstore service (README "Run", SPEC section 9) as a small image:
#
#   docker build --build-arg COMMIT="$(git rev-parse HEAD)" -t docstore .
#   docker run -p 8080:8080 -e DATABASE_URL=postgresql://... -e SERVICE_KEY=... docstore
#
# Configuration is the README's table (environment variables); `docker run docstore verify`
# runs the checks of GET /verify once. scripts/docker-check.sh checks this file without a
# Docker engine: the runtime packages below against `ldd` of the release binary, and the basics.

# ---------------------------------------------------------------------------------------------
# Build: the Swift toolchain the project is built and tested with (6.3 on Debian 12), plus the
# C libraries' headers that Package.swift finds through pkg-config.
FROM swift:6.3-bookworm AS build

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq-dev libmicrohttpd-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, so that editing Sources does not fetch them again.
# (Package.resolved is git-ignored: copied when present, resolved afresh otherwise.)
COPY Package.swift Package.resolved* ./
RUN swift package resolve

COPY Sources ./Sources
# SwiftPM checks every target's folder, test targets included, even when building one product;
# the tests are not compiled.
COPY Tests ./Tests

# --static-swift-stdlib links the Swift runtime into the binary (the service itself uses no
# Foundation; swift-argument-parser brings FoundationEssentials, without ICU), so the runtime
# image needs no Swift libraries: only libpq, libmicrohttpd and OpenSSL (and libstdc++/libgcc_s,
# which debian:bookworm-slim already has, for apt). Stripped, the binary is about 15 MB.
RUN swift build -c release --product docstore --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/docstore" /out/docstore \
    && strip /out/docstore \
    && /out/docstore --help >/dev/null

# ---------------------------------------------------------------------------------------------
# Runtime: Debian 12 slim with exactly the packages that provide the binary's shared libraries
# (libpq.so.5 -> libpq5, libmicrohttpd.so.12 -> libmicrohttpd12, libssl.so.3 and
# libcrypto.so.3 -> libssl3; apt pulls in their own dependencies), checked against `ldd` by
# scripts/docker-check.sh.
FROM debian:bookworm-slim

# ca-certificates is not a library: it is the CA bundle for TLS to PostgreSQL with certificate
# verification (PGSSLMODE=verify-full PGSSLROOTCERT=/etc/ssl/certs/ca-certificates.crt for a
# server whose certificate a public CA signed; for Supabase, mount its CA certificate instead).
# docker-check: extra ca-certificates
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq5 libmicrohttpd12 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin docstore

COPY --from=build /out/docstore /usr/local/bin/docstore

# Numeric, so that Kubernetes' runAsNonRoot can tell it is not root.
USER 10001:10001

ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080

# The commit the image was built from, for the docstore_build_info metric and `docstore --version`:
#   docker build --build-arg COMMIT="$(git rev-parse HEAD)" -t docstore .
ARG COMMIT=unknown
ENV DOCSTORE_COMMIT=$COMMIT

# The image has no curl or wget, and docstore has no health-probe subcommand. Rather than add
# curl and its libraries for this alone, the check is bash (already in the base image, as are
# coreutils) speaking HTTP over its /dev/tcp: GET /healthz on the loopback at $PORT, healthy
# when the status line says 200. /healthz touches no database (liveness, not readiness).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-8080} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 4 status <&3 && [[ $status == 'HTTP/1.'[01]' 200 '* ]]"]

# SIGTERM (docker stop) makes the service finish the requests in flight and exit 0.
ENTRYPOINT ["/usr/local/bin/docstore"]
CMD ["serve"]
