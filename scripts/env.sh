# Puts the project's build tools (wasm-opt) ahead of any system copy on PATH.
# Sourced by the other scripts; source it yourself before running cargo leptos by hand.
export PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tools/node_modules/.bin:$PATH"
