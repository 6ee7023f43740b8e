#!/usr/bin/env bash
# Installs what is missing, builds the release bundle and server, and serves Session Journey.
# Arguments go to the server, e.g. `scripts/start.sh --addr 0.0.0.0:3000`; see --help.
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
cargo leptos build --release
scripts/compress-assets.sh
exec target/release/session-journey "$@"
