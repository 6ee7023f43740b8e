#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests, part of them against a throwaway
# PostgreSQL server, then the Playwright suite in headless Chromium against the release build.
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh --with-tests

echo "== Throwaway PostgreSQL server for the integration tests"
postgres_dir=$(mktemp -d)
trap 'scripts/postgres.sh stop "$postgres_dir" || true; rm -rf "$postgres_dir"' EXIT
SESSION_JOURNEY_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$postgres_dir" 55441 | tail -n 1)
export SESSION_JOURNEY_TEST_POSTGRES_URL

echo "== Rust unit and integration tests"
cargo test --features ssr --locked

echo "== Release build"
cargo leptos build --release
scripts/compress-assets.sh

echo "== End-to-end tests in headless Chromium"
(cd end2end && npx playwright test)
