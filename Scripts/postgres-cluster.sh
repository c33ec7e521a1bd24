#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and benchmarks: its own data directory (a new temporary directory),
# its own port on 127.0.0.1, run as the `postgres` user from Debian's packages.
#
#   Scripts/postgres-cluster.sh start [PORT] [ADDRESSES]
#                                              prints DIR=<data directory> and URL=<the tests' role's URL>; ADDRESSES
#                                              (default 127.0.0.1) may add a test's own namespace host address
#                                              (clients from 10.0.0.0/8 are let in with the password)
#   Scripts/postgres-cluster.sh stop DIR       stops the cluster and removes its directory
#
# The tests' role `backfill` has a password (scram-sha-256 over TCP), so the URL, PGPASSWORD and .pgpass paths are
# all exercised; it may create databases (each test makes its own and drops it).
set -euo pipefail

bin_dir() {
    local pg_ctl
    pg_ctl=$(command -v pg_ctl 2>/dev/null || true)
    if [ -z "$pg_ctl" ]; then
        pg_ctl=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [ -n "$pg_ctl" ] || { echo "postgres-cluster: PostgreSQL's server (pg_ctl) is not installed" >&2; exit 2; }
    dirname "$(readlink -f "$pg_ctl")"
}

as_postgres() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "${1:-}" in
start)
    # The server must not inherit its caller's descriptors (a test process holds hundreds, and PostgreSQL refuses to
    # start with too few left under the limit): all above stderr closed, the limit raised where allowed.
    for fd in $(ls /proc/$$/fd 2>/dev/null); do
        if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    ulimit -n 65536 2>/dev/null || true
    bin=$(bin_dir)
    port=${2:-0}
    if [ "$port" = "0" ]; then
        # Below Linux's ephemeral range (32768 and up): no client connection can be holding it as its local port.
        port=$(python3 -c '
import random, socket
for _ in range(200):
    port = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
')
    fi
    listen=${3:-127.0.0.1}
    dir=$(mktemp -d "${TMPDIR:-/tmp}/backfill-pg.XXXXXX")
    chmod 755 "$dir"
    if [ "$(id -u)" = "0" ]; then chown postgres: "$dir"; fi
    password=backfill-test-password
    printf '%s\n' "$password" > "$dir/pwfile"
    if [ "$(id -u)" = "0" ]; then chown postgres: "$dir/pwfile"; fi
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$dir/pwfile" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"
    echo "host all all 10.0.0.0/8 scram-sha-256" >> "$dir/data/pg_hba.conf"
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 180 \
        -o "-p $port -k $dir -c listen_addresses=$listen -c max_connections=200 -c fsync=off" start >"$dir/pg_ctl.log" 2>&1 \
        || { tail -n 15 "$dir/server.log" >&2; tail -n 3 "$dir/pg_ctl.log" >&2; rm -rf "$dir"; exit 1; }
    as_postgres "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE backfill LOGIN CREATEDB PASSWORD '$password'" >/dev/null
    echo "DIR=$dir"
    echo "URL=postgresql://backfill:$password@127.0.0.1:$port/postgres"
    ;;
stop)
    dir=${2:?usage: postgres-cluster.sh stop DIR}
    bin=$(bin_dir)
    if [ -d "$dir/data" ]; then
        as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$dir" in
    */backfill-pg.*) rm -rf "$dir" ;;
    esac
    ;;
*)
    echo "usage: postgres-cluster.sh start [PORT] | stop DIR" >&2
    exit 64
    ;;
esac
