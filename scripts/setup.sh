# Installs what the build needs, skipping what is already there, and builds the site.
# Sourced by scripts/run and scripts/test; needs only Debian + the Rust toolchain.
# Each step says what it does and how long it usually takes on 2 cores; the compiler's
# output goes to target/logs/ and is shown only when a step fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# A clean clone gains nothing from incremental builds, and their caches double the disk used.
if [ -n "${CI:-}" ]; then
  export CARGO_INCREMENTAL=0
fi
LOG_DIR="$ROOT/target/logs"
mkdir -p "$LOG_DIR"
STARTED=$(date +%s)
PHASES=()

log_file() {
  printf '%s/%s.log' "$LOG_DIR" "$(printf '%s' "$1" | tr -c 'a-zA-Z0-9.\n' '-')"
}

# finish_step NAME LOG START END RC: records the step's time; on failure shows its log.
finish_step() {
  local name="$1" log="$2" took=$(($4 - $3)) rc="$5"
  PHASES+=("$name|$took")
  if [ "$rc" != 0 ]; then
    if [ -n "${CI:-}" ]; then
      printf '!! %s failed after %ss; %s:\n' "$name" "$took" "$log"
      cat "$log"
    else
      printf '!! %s failed after %ss; the end of %s:\n' "$name" "$took" "$log"
      tail -n 80 "$log"
    fi
    return 1
  fi
  printf '   %s: done in %ss\n' "$name" "$took"
}

# step NAME ESTIMATE COMMAND...: runs COMMAND with its output in target/logs/, records its time.
step() {
  local name="$1" estimate="$2"
  shift 2
  local log start rc
  log=$(log_file "$name")
  start=$(date +%s)
  printf '== %s%s\n' "$name" "${estimate:+ ($estimate)}"
  set +e
  (set -e; "$@") >"$log" 2>&1
  rc=$?
  set -e
  finish_step "$name" "$log" "$start" "$(date +%s)" "$rc" || exit 1
}

# step_beside NAME ESTIMATE COMMAND...: like step, but runs beside the next steps until
# steps_wait; on two cores the builds overlap each other's single-threaded stretches.
BESIDE=()
step_beside() {
  local name="$1" estimate="$2"
  shift 2
  local log
  log=$(log_file "$name")
  printf '== %s%s, beside the next steps\n' "$name" "${estimate:+ ($estimate)}"
  {
    set +e
    (set -e; "$@")
    echo "$? $(date +%s)" >"$log.end"
  } >"$log" 2>&1 &
  BESIDE+=("$!|$name|$log|$(date +%s)")
}

steps_wait() {
  local job pid name log start rc end failed=""
  for job in "${BESIDE[@]}"; do
    IFS='|' read -r pid name log start <<<"$job"
    wait "$pid" || true
    read -r rc end <"$log.end" || { rc=1; end=$(date +%s); }
    finish_step "$name" "$log" "$start" "$end" "$rc" || failed=1
  done
  BESIDE=()
  [ -z "$failed" ] || exit 1
}
# A failing step stops the script: the steps beside it stop too, and the table shows
# where the time went.
trap 'rc=$?; kill $(jobs -p) 2>/dev/null || true; [ "$rc" = 0 ] || phase_table' EXIT

# Prints every step with its time and the total so far.
phase_table() {
  printf '\n%-72s %8s\n' "step" "seconds"
  local row
  for row in "${PHASES[@]}"; do
    printf '%-72s %8s\n' "${row%|*}" "${row##*|}"
  done
  printf '%-72s %8s\n\n' "total (wall clock)" $(($(date +%s) - STARTED))
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages, given as "command:package" pairs (or "/path/of/a/file:package");
# installs the missing ones.
apt_install() {
  local missing=()
  for pair in "$@"; do
    local probe="${pair%%:*}"
    if [[ "$probe" == /* ]]; then
      [ -e "$probe" ] || missing+=("${pair#*:}")
    else
      command -v "$probe" >/dev/null 2>&1 || missing+=("${pair#*:}")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing Debian packages: ${missing[*]}" "about a minute" apt_get "${missing[@]}"
  fi
}

apt_get() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# The wasm-bindgen CLI must be the version of the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# The WebAssembly target.
install_site_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the Rust target wasm32-unknown-unknown" "about 20 seconds" \
      rustup target add wasm32-unknown-unknown
  fi
}

# wasm-opt from npm's binaryen (tools/binaryen, pinned): Debian's binaryen 108 turns the
# islands into a module whose table of JavaScript values the browser refuses.
WASM_OPT="$ROOT/tools/binaryen/node_modules/.bin/wasm-opt"
BINARYEN_VERSION=$(sed -n 's/.*"binaryen": "\(.*\)".*/\1/p' "$ROOT/tools/binaryen/package.json")
install_wasm_opt_packages() {
  local missing=()
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] || apt_get "${missing[@]}"
  cd "$ROOT/tools/binaryen" && npm ci --no-audit --no-fund
}
install_wasm_opt() {
  local installed="$ROOT/tools/binaryen/node_modules/binaryen/package.json"
  if [ ! -x "$WASM_OPT" ] || ! grep -q "\"version\": \"$BINARYEN_VERSION\"" "$installed" 2>/dev/null; then
    step_beside "installing wasm-opt (npm binaryen $BINARYEN_VERSION, with Node.js when missing)" \
      "about 10 seconds, a minute with Node.js" install_wasm_opt_packages
  fi
}

# The wasm-bindgen CLI, beside the next steps. A debug build: it compiles in half the
# time and turns the islands into the same bytes in half a second.
install_wasm_bindgen() {
  local version
  version=$(wasm_bindgen_version)
  if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
    # Not --locked: one of its locked dependencies is gone from crates.io.
    step_beside "installing wasm-bindgen $version" "about 4 minutes on 2 cores beside the builds" \
      cargo install wasm-bindgen-cli --version "$version" --debug
  fi
}

FRONT_TARGET="$ROOT/target/front"
# The islands (the `app` crate with `hydrate`) as cargo-leptos builds them, into its
# target/front, so `cargo leptos watch` and this step share their builds.
build_islands() {
  cargo build --package=app --lib --target=wasm32-unknown-unknown --target-dir="$FRONT_TARGET" \
    --no-default-features --features=hydrate --profile=wasm-release
}

# target/site as cargo-leptos lays it out (Cargo.toml's [workspace.metadata.leptos]):
# public/, pkg/vitrine.js and pkg/vitrine.wasm from wasm-bindgen, made smaller by
# wasm-opt -Oz, and pkg/vitrine.css from style/main.css.
lay_out_site() {
  local site="$ROOT/target/site"
  rm -rf "$site"
  mkdir -p "$site/pkg"
  wasm-bindgen --target=web --no-typescript --out-name=vitrine --out-dir="$site/pkg" \
    "$FRONT_TARGET/wasm32-unknown-unknown/wasm-release/app.wasm"
  # Leptos' HydrationScripts loads pkg/vitrine.wasm, not wasm-bindgen's vitrine_bg.wasm.
  mv "$site/pkg/vitrine_bg.wasm" "$site/pkg/vitrine.wasm"
  "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$site/pkg/vitrine.wasm" -o "$site/pkg/vitrine.wasm"
  cp "$ROOT/style/main.css" "$site/pkg/vitrine.css"
  cp -R "$ROOT/public/." "$site/"
}

# build_site_beside COMMAND...: builds target/site while COMMAND (the server's build)
# runs beside it.
build_site_beside() {
  install_site_tools
  install_wasm_bindgen
  install_wasm_opt
  step_beside "building the islands' WebAssembly (wasm-release)" \
    "about 5 minutes on 2 cores beside the server, seconds when built" build_islands
  "$@"
  steps_wait
  step "laying out target/site (wasm-bindgen, wasm-opt -Oz)" "seconds" lay_out_site
}

# The served server: VITRINE_BUILD_PROFILE=dev (the quick start; the store, PromQL and
# parsers optimised, the rest as in development: half the first build of release) or
# release (the Dockerfile). The README's "Build profiles" has the measurements.
BUILD_PROFILE="${VITRINE_BUILD_PROFILE:-dev}"
case "$BUILD_PROFILE" in
  dev) SERVER_BINARY="$ROOT/target/debug/vitrine" ;;
  release) SERVER_BINARY="$ROOT/target/release/vitrine" ;;
  *) echo "VITRINE_BUILD_PROFILE must be dev or release, not $BUILD_PROFILE" >&2; exit 2 ;;
esac

build_server() {
  local estimate="about 7 minutes on 2 cores beside the other builds, seconds when built"
  [ "$BUILD_PROFILE" = release ] && estimate="about 8 minutes on 2 cores, seconds when built"
  step "building the server ($BUILD_PROFILE profile)" "$estimate" \
    cargo build --profile="$BUILD_PROFILE" --package=vitrine --bin=vitrine
}

# What scripts/run serves and the Dockerfile ships: the site and the server.
build_all() {
  build_site_beside build_server
}
