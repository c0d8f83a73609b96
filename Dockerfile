# The RawDataSource registry (examples/raw_data_sources) as a container image:
#   docker build -t raw-data-sources .
#   docker run -p 8000:8000 -v registry-data:/data raw-data-sources
# The first start prints an admin API key once (`docker logs`). PostgreSQL instead of the
# SQLite file in the volume: -e DATABASE_URL=postgres://… -e ENTITY_SPEC_SECRET_KEY=…
# Every setting: docs/configuration.md.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The spec is read at compile time: the binary is the whole service. Caches keep the registry
# and the build between image builds; the binary is copied out of the cache in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --example raw_data_sources \
    && cp target/release/examples/raw_data_sources /usr/local/bin/service

FROM debian:bookworm-slim
# A user of its own, no shell, no home but the data volume: the service never runs as root.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /data --shell /usr/sbin/nologin service \
    && mkdir /data && chown service:service /data
COPY --from=build /usr/local/bin/service /usr/local/bin/service
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# The SQLite database and its key file live in the volume (back them up together).
ENV BIND_ADDR=0.0.0.0:8000 \
    DATABASE_URL=sqlite:///data/entity-spec.db \
    ENTITY_SPEC_LOG_FORMAT=json
EXPOSE 8000
# The binary probes its own /healthz: no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/service", "healthcheck"]
# SIGTERM drains: in-flight requests finish, running syncs get ENTITY_SPEC_DRAIN_SECS (25 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/service"]
