# Multi-stage build of the one binary; pages are copied next to it.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p gateway

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/waitroom /usr/local/bin/waitroom
COPY web /srv/web
ENV WAITROOM_WEB_DIR=/srv/web WAITROOM_DATA_DIR=/var/lib/waitroom WAITROOM_LISTEN=0.0.0.0:8080
USER 65534
EXPOSE 8080
ENTRYPOINT ["waitroom"]
CMD ["serve"]
