#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL server for the tests and benchmarks: its own cluster
# in DIR, listening on 127.0.0.1 only, with a `journey` database and role.
#
#   scripts/postgres.sh start DIR [PORT]   prints the database URL on its last line
#   scripts/postgres.sh stop DIR
#
# Uses Debian's postgresql package (scripts/setup.sh --with-tests installs it). PostgreSQL
# refuses to run as root, so as root the server runs as the `postgres` user.
set -euo pipefail

command=${1:?usage: scripts/postgres.sh start DIR [PORT] | stop DIR}
dir=${2:?missing the cluster directory}
port=${3:-55432}

bin_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n "$bin_dir" ]] || { echo "PostgreSQL is not installed; run scripts/setup.sh --with-tests" >&2; exit 1; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$command" in
  start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
    if [[ ! -f "$dir/PG_VERSION" ]]; then
      as_owner "$bin_dir/initdb" --pgdata="$dir" --username=journey --auth=trust \
        --encoding=UTF8 --no-instructions >/dev/null
    fi
    as_owner "$bin_dir/pg_ctl" --pgdata="$dir" --log="$dir/server.log" --wait start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" >/dev/null
    # fsync is off because a throwaway cluster need not survive a power cut; page requests
    # only read, so it does not change what they measure.
    as_owner "$bin_dir/createdb" --host=127.0.0.1 --port="$port" --username=journey journey 2>/dev/null || true
    echo "postgres://journey@127.0.0.1:$port/journey"
    ;;
  stop)
    as_owner "$bin_dir/pg_ctl" --pgdata="$dir" --mode=fast --wait stop >/dev/null
    ;;
  *)
    echo "unknown command $command; use start or stop" >&2
    exit 2
    ;;
esac
