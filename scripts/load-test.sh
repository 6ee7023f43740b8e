#!/usr/bin/env bash
# Load and soak test of the live stream. Starts the release server on 127.0.0.1 with a fresh
# temporary data directory, then runs tools/load-test against it: 1,000 open live streams
# (one visitor each) while page requests go out at a fixed rate for 60 s. It prints requests,
# responses by status, stream errors, the delivery latency of live events (p50, p99, max) and
# the server's memory (VmRSS and VmHWM from /proc/PID/status), and stops the server.
# BENCHMARKS.md records the results. Not part of scripts/test.sh, because a full run takes
# over a minute.
#
#   scripts/load-test.sh                        # 1,000 streams, 200 requests/s, 60 s, both modes
#   scripts/load-test.sh --duration-secs 10     # a quick run
#   scripts/load-test.sh --rate 500 --mode jwt --json
#
# Arguments go to the tool. To list them:
#   cargo run --release --manifest-path tools/load-test/Cargo.toml -- --help
# The server binary is built only when target/release/session-journey is missing, the way
# scripts/start.sh builds it.
#
# Settings, from the environment:
#   LOAD_PORT=3990           loopback port of the server; the script stops if it is in use
#   LOAD_SERVER_ARGS=""      extra server options, e.g. "--max-streams 5000"
#   LOAD_OPEN_FILES=8192     minimum open-file limit (ulimit -n) for the server and the tool
# RUST_LOG, when set, replaces the server's log filter. The tool builds into CARGO_TARGET_DIR
# when that is set, and into tools/load-test/target otherwise.
set -euo pipefail

cd "$(dirname "$0")/.."

PORT=${LOAD_PORT:-3990}
OPEN_FILES=${LOAD_OPEN_FILES:-8192}
read -r -a server_args <<<"${LOAD_SERVER_ARGS:-}"
BINARY=target/release/session-journey
BASE_URL="http://127.0.0.1:$PORT"

log() { printf '\033[1;34m[load-test]\033[0m %s\n' "$*" >&2; }
fail() { printf '\033[1;31m[load-test]\033[0m %s\n' "$*" >&2; exit 1; }

command -v curl >/dev/null || fail "curl is missing; install Debian's curl"

if [[ ! -x $BINARY ]]; then
  log "$BINARY is missing; building the release bundle and server"
  source scripts/env.sh
  scripts/setup.sh
  cargo leptos build --release
  scripts/compress-assets.sh
fi

log "building tools/load-test"
cargo build --release --quiet --manifest-path tools/load-test/Cargo.toml
tool="${CARGO_TARGET_DIR:-tools/load-test/target}/release/load-test"
[[ -x $tool ]] || fail "the build did not produce $tool"

# Each live stream uses one socket in the server and one in the tool.
soft_limit=$(ulimit -Sn)
hard_limit=$(ulimit -Hn)
if [[ $soft_limit != unlimited && $soft_limit -lt $OPEN_FILES ]]; then
  if [[ $hard_limit != unlimited && $hard_limit -lt $OPEN_FILES ]]; then
    log "the hard open-file limit is $hard_limit, below $OPEN_FILES; using $hard_limit"
    OPEN_FILES=$hard_limit
  fi
  ulimit -Sn "$OPEN_FILES"
fi
log "open-file limit: $(ulimit -Sn)"

if curl -s -o /dev/null --max-time 2 "$BASE_URL/" 2>/dev/null; then
  fail "something already listens on 127.0.0.1:$PORT; choose another port with LOAD_PORT"
fi

work_dir=$(mktemp -d)
server_pid=""
stop_server() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work_dir"
}
trap stop_server EXIT

log "starting $BINARY on 127.0.0.1:$PORT (log: $work_dir/server.log)"
# The tool signs its visitors in from one address before they have a visitor cookie, so they
# share one sign-in limit, and the per-address sign-in limit counts them all too. Both are
# turned off here.
"$BINARY" --addr "127.0.0.1:$PORT" --data-dir "$work_dir/data" --leptos-config Leptos.toml \
  --sign-in-limit-per-minute 0 --sign-in-limit-per-address-per-minute 0 \
  "${server_args[@]}" >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -sf "$BASE_URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start: $(tail -n 5 "$work_dir/server.log")"
  sleep 0.1
done
curl -sf "$BASE_URL/healthz" >/dev/null || fail "the server did not answer /healthz within 10 s"

log "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
status=0
"$tool" --url "$BASE_URL" --server-pid "$server_pid" "$@" || status=$?
log "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"

if grep -qiE 'error|panic' "$work_dir/server.log"; then
  log "the server logged errors:"
  grep -iE 'error|panic' "$work_dir/server.log" | head -n 5 >&2
fi
log "stopping the server"
exit "$status"
