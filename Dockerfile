# Vitrine: build the site and the server with the quick start's own build step
# (scripts/setup.sh: build_all), ship them on a slim Debian with CA certificates,
# as a non-root user, data in a volume.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# The tools first (the WebAssembly target, the wasm-bindgen of Cargo.lock, npm's
# binaryen with Node.js), so a source change does not reinstall them.
COPY Cargo.lock ./
COPY scripts ./scripts
COPY tools ./tools
RUN bash -c 'source scripts/setup.sh && install_site_tools && install_wasm_bindgen && install_wasm_opt && steps_wait'
COPY . .
ENV VITRINE_BUILD_PROFILE=release
RUN bash -c 'source scripts/setup.sh && build_all && phase_table'

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
