#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests, then the Playwright suite in headless
# Chromium against the release build.
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh --with-tests

echo "== Rust unit and integration tests"
cargo test --features ssr --locked

echo "== Release build"
cargo leptos build --release

echo "== End-to-end tests in headless Chromium"
(cd end2end && npx playwright test)
