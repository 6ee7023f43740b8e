#!/usr/bin/env bash
# Load-tests three page routes of one release server with wrk over loopback. It prints
# requests/s, latency p50/p90/p99 and each route's throughput relative to the baseline's in the
# same round. BENCHMARKS.md records the results. The routes:
#   baseline  GET /api/baseline/pages/orders   no authentication, session or activity layers
#   jwt       GET /api/jwt/pages/orders        the sj_token cookie, verified in memory
#   stateful  GET /api/stateful/pages/orders   the sj_session cookie, one SELECT per request
#
# This script builds nothing: it runs target/release/session-journey, which
# `cargo leptos build --release` (or scripts/start.sh) writes, or the binary in BENCH_BINARY.
# It installs Debian's wrk when missing. The server listens on 127.0.0.1 only, with a fresh
# temporary data directory, and is stopped at the end.
#
# Settings, from the environment:
#   BENCH_BINARY=target/release/session-journey
#   BENCH_PORT=3931        loopback port of the server
#   BENCH_THREADS=2        wrk threads
#   BENCH_CONNECTIONS=32   wrk connections
#   BENCH_DURATION=15s     measured run per route
#   BENCH_WARMUP=5s        unmeasured run per route before the measured one
#   BENCH_ROUNDS=1         how many times to measure all three routes
#   BENCH_PIN=0            1 runs the server on CPU 0 and wrk on CPU 1 (taskset), so that wrk
#                          does not take CPU time from the server
# RUST_LOG, when set, replaces the server's log filter. Other SESSION_JOURNEY_* variables reach
# the server as usual; the script prints the session store that /api/info reports.
set -euo pipefail

cd "$(dirname "$0")/.."

PORT=${BENCH_PORT:-3931}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-5s}
ROUNDS=${BENCH_ROUNDS:-1}
PIN=${BENCH_PIN:-0}
BINARY=${BENCH_BINARY:-target/release/session-journey}
BASE_URL="http://127.0.0.1:$PORT"
PAGE=orders

log() { printf '\033[1;34m[bench-http]\033[0m %s\n' "$*" >&2; }
fail() { printf '\033[1;31m[bench-http]\033[0m %s\n' "$*" >&2; exit 1; }

if [[ ! -x $BINARY ]]; then
  fail "$BINARY is missing; build it first with \`cargo leptos build --release\` (this script builds nothing)"
fi
for tool in curl jq; do
  command -v "$tool" >/dev/null || fail "$tool is missing; install Debian's $tool"
done
if ! command -v wrk >/dev/null; then
  log "installing Debian's wrk"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
server_cpu=()
client_cpu=()
if [[ $PIN == 1 ]]; then
  [[ $(nproc) -ge 2 ]] || fail "BENCH_PIN=1 needs at least 2 CPUs"
  server_cpu=(taskset -c 0)
  client_cpu=(taskset -c 1)
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
# wrk sends every request as one visitor, so the per-visitor page limit is turned off.
"${server_cpu[@]}" "$BINARY" --addr "127.0.0.1:$PORT" --data-dir "$work_dir/data" \
  --leptos-config Leptos.toml --page-limit-per-minute 0 >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -sf "$BASE_URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start: $(tail -n 5 "$work_dir/server.log")"
  sleep 0.1
done
curl -sf "$BASE_URL/healthz" >/dev/null || fail "the server did not answer /healthz within 10 s"

jar="$work_dir/cookies.txt"
curl -sf -c "$jar" -b "$jar" -H 'content-type: application/json' -d '{"name":"Bench User"}' \
  "$BASE_URL/api/login" >/dev/null || fail "POST /api/login failed"
# curl's cookie jar is tab-separated and prefixes HttpOnly cookies with #HttpOnly_.
cookie() { awk -v name="$1" -F '\t' 'NF == 7 && $6 == name { print $7 }' "$jar"; }
visitor=$(cookie sj_visitor)
session=$(cookie sj_session)
token=$(cookie sj_token)
[[ -n $visitor && -n $session && -n $token ]] || fail "sign-in did not set sj_visitor, sj_session and sj_token"

# Every request carries the visitor cookie, as a browser's would; without it the server would
# create a new visitor for each request.
routes=(baseline jwt stateful)
declare -A path=(
  [baseline]="/api/baseline/pages/$PAGE"
  [jwt]="/api/jwt/pages/$PAGE"
  [stateful]="/api/stateful/pages/$PAGE"
)
declare -A cookies=(
  [baseline]="sj_visitor=$visitor"
  [jwt]="sj_visitor=$visitor; sj_token=$token"
  [stateful]="sj_visitor=$visitor; sj_session=$session"
)
for route in "${routes[@]}"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: ${cookies[$route]}" "$BASE_URL${path[$route]}")
  [[ $status == 200 ]] || fail "GET ${path[$route]} returned $status before the load test"
done
info=$(curl -sf "$BASE_URL/api/info") || fail "GET /api/info failed"
log "session store: $(jq -r .database <<<"$info"), simulated latency: $(jq -r .simulated_db_latency_ms <<<"$info") ms"
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $ROUNDS round(s), pinned: $PIN"
log "the JWT expires after $(jq -r .jwt_ttl_secs <<<"$info") s; keep the whole run shorter than that"

run_wrk() {
  local route=$1 duration=$2
  "${client_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency \
    -H "Cookie: ${cookies[$route]}" "$BASE_URL${path[$route]}"
}

# Converts a wrk latency such as 812.00us, 1.25ms or 1.02s to milliseconds.
to_ms() {
  awk -v value="$1" 'BEGIN {
    if (value ~ /us$/) { sub(/us$/, "", value); printf "%.3f", value / 1000 }
    else if (value ~ /ms$/) { sub(/ms$/, "", value); printf "%.3f", value }
    else if (value ~ /s$/) { sub(/s$/, "", value); printf "%.3f", value * 1000 }
    else { printf "nan" }
  }'
}

printf '\n%-6s %-9s %12s %9s %9s %9s %10s %8s\n' round route "requests/s" "p50 ms" "p90 ms" "p99 ms" "vs base" errors
for round in $(seq "$ROUNDS"); do
  baseline_rps=""
  for route in "${routes[@]}"; do
    run_wrk "$route" "$WARMUP" >/dev/null
    output=$(run_wrk "$route" "$DURATION")
    echo "$output" >"$work_dir/wrk-$round-$route.txt"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$output")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$output")")
    p90=$(to_ms "$(awk '$1 == "90%" { print $2 }' <<<"$output")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$output")")
    non_2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$output")
    socket_errors=$(awk -F'[ ,]+' '/Socket errors:/ { print $4 + $6 + $8 + $10 }' <<<"$output")
    errors=$(( ${non_2xx:-0} + ${socket_errors:-0} ))
    [[ $route == baseline ]] && baseline_rps=$rps
    ratio=$(awk -v rps="$rps" -v base="$baseline_rps" 'BEGIN { printf "%.1f%%", 100 * rps / base }')
    printf '%-6s %-9s %12s %9s %9s %9s %10s %8s\n' "$round" "$route" "$rps" "$p50" "$p90" "$p99" "$ratio" "$errors"
  done
done

if grep -qiE 'error|panic' "$work_dir/server.log"; then
  log "the server logged errors:"
  grep -iE 'error|panic' "$work_dir/server.log" | head -n 5 >&2
fi
log "stopping the server"
