# backfill-tool's image (SPEC §10, Documentation/Run.md "Docker and compose"): the seed's `data_backfill` job.
#
#   docker build -t backfill-tool .
#   docker run --rm -v data:/data -e SYMBOLS=BTC/USDT -e TIMEFRAME=1m backfill-tool
#
# Two stages: the Swift toolchain builds a release binary with the Swift runtime and Foundation linked in statically
# (--static-swift-stdlib); the runtime stage is a slim Debian of the same release with only the shared libraries that
# binary still loads. Tests/BackfillToolTests/PackagingTests.swift checks that list against `ldd` of such a binary.

# ---- build: the official Swift image on Debian bookworm, like the runtime stage -----------------------------------
FROM swift:6.3-bookworm AS build

# GRDB links the system SQLite, swift-nio-extras' compression links zlib: their headers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# The dependencies first, in a layer of their own: a change to the sources does not fetch them again.
COPY Package.swift ./
RUN swift package resolve

# Tests/ only because Package.swift declares the test targets (SwiftPM wants their folders); nothing of it is built.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product backfill-tool \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/backfill-tool" /staging/backfill-tool

# ---- runtime: Debian bookworm slim, the libraries the binary links and nothing else ---------------------------------
FROM debian:bookworm-slim AS runtime

# The one package list of this stage (PackagingTests parses it): the package of every shared library `ldd` shows for
# the static-stdlib binary beyond libc6 — libsqlite3-0 (GRDB), zlib1g (HTTP compression), libstdc++6 and libgcc-s1
# (Foundation's ICU and the C++ runtime) — and ca-certificates, the trust roots for TLS to Binance.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libgcc-s1 libsqlite3-0 libstdc++6 zlib1g \
    && rm -rf /var/lib/apt/lists/*

# A user of its own, not root; /data (the landing area and the ledger) is its. A named volume mounted there for the
# first time takes this ownership; one that already holds another user's files needs `user:` in compose instead.
RUN groupadd --system --gid 10001 backfill \
    && useradd --system --no-log-init --uid 10001 --gid backfill --home-dir /data --shell /usr/sbin/nologin backfill \
    && mkdir -p /data/incoming \
    && chown -R backfill:backfill /data

COPY --from=build /staging/backfill-tool /usr/local/bin/backfill-tool

USER 10001:10001
WORKDIR /data
VOLUME /data

ENTRYPOINT ["backfill-tool"]
CMD ["run"]
