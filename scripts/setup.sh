# Installs what the build needs, skipping what is already there.
# Sourced by scripts/run and scripts/test; needs only Debian + the Rust toolchain.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.6

phase_start=$(date +%s)
phase() {
  local now
  now=$(date +%s)
  if [ -n "${PHASE_NAME:-}" ]; then
    printf '== %-28s %4ds\n' "$PHASE_NAME" $((now - phase_start))
  fi
  PHASE_NAME="$1"
  phase_start=$now
  printf '== %s\n' "$1"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages, given as "command:package" pairs; installs the missing ones.
apt_install() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

install_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    # no_downloads: use the wasm-bindgen on PATH instead of fetching binaries.
    cargo install cargo-leptos@"$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  local wbg
  wbg=$(wasm_bindgen_version)
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$wbg"; then
    # Not --locked: one of its locked dependencies is gone from crates.io.
    cargo install wasm-bindgen-cli --version "$wbg"
  fi
}

build_site() {
  cargo leptos build
}
