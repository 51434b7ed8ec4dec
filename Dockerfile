# Vitrine: build the server and the site with cargo-leptos, ship them on a slim
# Debian with CA certificates, as a non-root user, data in a volume.
# Keep in step with scripts/setup.sh (same cargo-leptos, wasm-bindgen from Cargo.lock).

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends binaryen \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos@0.3.6 --locked --features no_downloads
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN cargo install wasm-bindgen-cli --version "$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
COPY . .
RUN cargo leptos build --release

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/vitrine --create-home vitrine
COPY --from=build /src/target/release/vitrine /usr/local/bin/vitrine
COPY --from=build /src/target/site /usr/share/vitrine/site
ENV VITRINE_LISTEN=0.0.0.0:3000 \
    VITRINE_DATA_DIR=/var/lib/vitrine \
    VITRINE_SITE_ROOT=/usr/share/vitrine/site
VOLUME ["/var/lib/vitrine"]
USER vitrine
EXPOSE 3000
# The store keeps up to tsdb_max_open_files (1024) block files open besides the
# connections: run with `--ulimit nofile=65536:65536` (vitrine raises its soft limit
# to the hard one and warns when it is too low).
ENTRYPOINT ["vitrine"]
CMD ["serve"]
