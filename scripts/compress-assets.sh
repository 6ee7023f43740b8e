#!/usr/bin/env bash
# Writes a brotli (.br, quality 11) and a gzip (.gz, level 9) copy next to each file of the
# release bundle, which the server sends to browsers that accept that encoding. Run it after
# every `cargo leptos build --release`, as scripts/start.sh and scripts/test.sh do: the server
# ignores a copy that is older than its file and sends the file uncompressed.
#
#   scripts/compress-assets.sh [PKG_DIR]    PKG_DIR defaults to target/site/pkg
set -euo pipefail

cd "$(dirname "$0")/.."

pkg_dir=${1:-target/site/pkg}

log() { printf '\033[1;34m[compress-assets]\033[0m %s\n' "$*"; }

[[ -d $pkg_dir ]] || { echo "compress-assets: $pkg_dir does not exist; run \`cargo leptos build --release\` first" >&2; exit 1; }
command -v brotli >/dev/null || { echo "compress-assets: brotli is missing; install Debian's brotli (scripts/setup.sh does)" >&2; exit 1; }

shopt -s nullglob
# Copies whose original is gone would otherwise be served for a file that no longer exists.
for copy in "$pkg_dir"/*.br "$pkg_dir"/*.gz; do
  [[ -e ${copy%.*} ]] || rm -f -- "$copy"
done

for file in "$pkg_dir"/*; do
  [[ -f $file && $file != *.br && $file != *.gz ]] || continue
  # --no-copy-stat gives the copy the current time, so the server treats it as newer than the file.
  brotli --best --force --no-copy-stat --output="$file.br" -- "$file"
  # --no-name leaves the file name and time out of the header, so equal input gives equal output.
  gzip --best --no-name --stdout -- "$file" >"$file.gz"
  log "$(basename "$file"): $(stat -c %s "$file") bytes, br $(stat -c %s "$file.br"), gzip $(stat -c %s "$file.gz")"
done
