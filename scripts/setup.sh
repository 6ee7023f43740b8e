#!/usr/bin/env bash
# Installs what building, serving and testing Session Journey needs, skipping whatever is
# already present: Debian's chromium, sqlite3 and brotli, the wasm32 Rust target, cargo-leptos,
# the wasm-bindgen CLI that matches Cargo.lock, wasm-opt from npm's binaryen, and the end-to-end
# test packages. Source scripts/env.sh afterwards to put wasm-opt on PATH.
# With --with-tests it also installs Debian's postgresql for the integration tests.
set -euo pipefail

cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.6
APT_PACKAGES=(chromium sqlite3 brotli)

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

install_debian_packages() {
  local missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi

  if [[ "$(cargo leptos --version 2>/dev/null)" != *"$CARGO_LEPTOS_VERSION"* ]]; then
    # Newer cargo-leptos releases need a newer rustc than this toolchain; --locked keeps the
    # dependency versions that build with it.
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 11 minutes on 2 cores)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi

  local bindgen_version
  bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]]; then
    # cargo-leptos would otherwise download a prebuilt wasm-bindgen, which this network blocks.
    # Without --locked, because one of the CLI's locked dependencies is missing from crates.io.
    log "installing wasm-bindgen-cli $bindgen_version (about 3 minutes)"
    cargo install wasm-bindgen-cli --version "$bindgen_version"
  fi
}

install_build_tools() {
  # Debian's binaryen 108 emits a bundle that fails to instantiate ("WebAssembly.Table.set():
  # Argument 1 is invalid") with this rustc and wasm-bindgen, so wasm-opt comes from npm.
  if [[ ! -x tools/node_modules/.bin/wasm-opt ]]; then
    log "installing wasm-opt (npm binaryen)"
    (cd tools && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

install_test_packages() {
  if [[ ! -d end2end/node_modules/@playwright/test ]]; then
    log "installing the end-to-end test packages"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [[ "${1:-}" == "--with-tests" ]]; then
  # The integration tests run the session store against a throwaway PostgreSQL server.
  APT_PACKAGES+=(postgresql)
fi
install_debian_packages
install_rust_tools
install_build_tools
if [[ "${1:-}" == "--with-tests" ]]; then
  install_test_packages
fi
log "ready"
