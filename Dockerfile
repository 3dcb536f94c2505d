# syntax=docker/dockerfile:1
# The one binary, `waitroom`, and the static pages, on a slim Debian that
# matches the build stage's glibc. Bases are pinned to exact versions so a
# rebuild does not change under us; bump them on purpose.

# The toolchain must be at least the newest rust-version in Cargo.lock (1.89).
FROM rust:1.95.0-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src

# Dependency layer: build every dependency against placeholder sources so
# that editing the workspace's code does not rebuild them. Only manifests,
# the lock file, the build script and what the compile-time macros read
# (migrations) are copied here.
COPY Cargo.toml Cargo.lock ./
COPY queue/Cargo.toml queue/
COPY booking/Cargo.toml booking/
COPY admin/Cargo.toml admin/build.rs admin/
COPY gateway/Cargo.toml gateway/
COPY tests/Cargo.toml tests/
COPY migrations migrations
RUN for crate in queue booking admin gateway; do \
      mkdir -p "$crate/src" && echo '' > "$crate/src/lib.rs"; \
    done \
 && for manifest in gateway/Cargo.toml tests/Cargo.toml; do \
      crate=$(dirname "$manifest"); \
      sed -n 's/^path = "\(.*\)"/\1/p' "$manifest" | while read -r bin; do \
        mkdir -p "$crate/$(dirname "$bin")" && echo 'fn main() {}' > "$crate/$bin"; \
      done; \
    done \
 && cargo build --release --locked -p gateway \
 && rm -rf queue/src booking/src admin/src gateway/src tests/src

# The workspace itself. COPY keeps the sources' modification times, which
# may be older than the placeholders' build outputs: touch them so Cargo
# rebuilds the workspace's crates.
COPY queue queue
COPY booking booking
COPY admin admin
COPY gateway gateway
COPY tests tests
RUN find queue booking admin gateway tests -name '*.rs' -exec touch {} + \
 && cargo build --release --locked -p gateway \
 && install -D -m 0755 target/release/waitroom /out/waitroom

FROM debian:12.11-slim
# ca-certificates: Stripe, SMTP over TLS, rediss:// and managed PostgreSQL.
# Not pinned to a version on purpose: the base is pinned, and this package
# must take Debian's security updates (root CAs get revoked).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 waitroom \
 && useradd --system --uid 10001 --gid waitroom --home-dir /var/lib/waitroom \
      --shell /usr/sbin/nologin waitroom \
 && install -d -o waitroom -g waitroom -m 0750 /var/lib/waitroom
COPY --from=build /out/waitroom /usr/local/bin/waitroom
# The pages only: web/tests (browser tests, node_modules) never ship.
COPY web/*.html web/*.js web/*.css web/*.json /srv/web/
COPY web/vendor/ /srv/web/vendor/
ENV WAITROOM_WEB_DIR=/srv/web \
    WAITROOM_DATA_DIR=/var/lib/waitroom \
    WAITROOM_LISTEN=0.0.0.0:8080 \
    WAITROOM_LOG_FORMAT=json
# Writable even under a read-only root filesystem when mounted as a volume
# (Kubernetes: an emptyDir); with Redis, PostgreSQL, SMTP and every key
# supplied nothing is written there.
VOLUME ["/var/lib/waitroom"]
USER 10001:10001
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
  CMD ["waitroom", "healthcheck", "--timeout-seconds", "3"]
ENTRYPOINT ["waitroom"]
CMD ["serve"]
