# PostgreSQL for the scripts: installed from Debian's packages if absent, clusters run as the
# `postgres` user (initdb and the server refuse root) in a folder that user owns, on loopback.

pg_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir)"
        if [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    fi
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$dir" ] && [ -x "$dir/postgres" ]; then echo "$dir"; return 0; fi
    return 1
}

ensure_postgres() {
    if ! pg_bindir >/dev/null; then
        echo "installing PostgreSQL from Debian's packages…" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql-15 postgresql-client-15 >&2
    fi
    PG_BIN="$(pg_bindir)"
    export PG_BIN
}

# Commands that must not run as root run as `postgres` when we are root.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# free_port_range N: the first of N consecutive free loopback ports.
free_port_range() {
    python3 -c '
import random, socket, sys
n = int(sys.argv[1])
while True:
    base = random.randrange(20000, 50000 - n)
    sockets = []
    try:
        for port in range(base, base + n):
            s = socket.socket()
            s.bind(("127.0.0.1", port))
            sockets.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in sockets:
            s.close()
' "$1"
}

# start_cluster DIR PORT AUTH [extra server options...]
# Creates the cluster in DIR/data on first use; DIR also holds the socket and the log.
start_cluster() {
    local dir="$1" port="$2" auth="$3"
    shift 3
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        local pwfile=()
        if [ "$auth" != trust ]; then pwfile=(--pwfile="$dir/superuser-password"); fi
        as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A "$auth" "${pwfile[@]}" \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; return 1; }
    fi
    if as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        return 0
    fi
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $*" start >/dev/null \
        || { tail -n 20 "$dir/server.log" >&2; return 1; }
}

stop_cluster() {
    local dir="$1"
    if [ -f "$dir/data/PG_VERSION" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}
