# crmgate: a static-ish binary on a slim runtime, running as a non-root user.
# The built-in connectors' manifests and tables are compiled into the binary; mount a folder
# and set CRMGATE__MAPPINGS__DIR to use your own tables. The shipped plugins (Close, ...) are
# copied beside it; point CRMGATE__CONNECTORS__DIR at a folder of your own to replace them.

FROM rust:1.95-slim-bookworm AS build
# jemalloc, the gateway's allocator, is C built with make.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin crmgate

FROM debian:bookworm-slim
# Vendor APIs are HTTPS; rustls verifies them against the system's root certificates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data crmgate \
 && mkdir /data && chown crmgate /data
COPY --from=build /src/target/release/crmgate /usr/local/bin/crmgate
COPY --from=build /src/connectors.d /usr/share/crmgate/connectors.d
USER crmgate
WORKDIR /data
# Inside a container the gateway must listen beyond loopback to be reachable at all.
ENV CRMGATE__SERVER__LISTEN=0.0.0.0:8080 \
    CRMGATE__SERVER__LOG_FORMAT=json \
    CRMGATE__CONNECTORS__DIR=/usr/share/crmgate/connectors.d
EXPOSE 8080
ENTRYPOINT ["crmgate"]
CMD ["serve"]
