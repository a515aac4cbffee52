#!/usr/bin/env bash
# Helpers for finding and starting PostgreSQL/PostGIS for MapIdeas.
#
# Source it from another bash script to get the pg_* functions, or run it:
#   scripts/postgis.sh major          installed PostgreSQL server major version(s), newest first
#   scripts/postgis.sh bindir         bin directory of the newest installed server
#   scripts/postgis.sh start          start the private cluster (var/pg, 127.0.0.1:$MAPIDEAS_PG_PORT)
#   scripts/postgis.sh stop           stop the private cluster
#   scripts/postgis.sh status         is the private cluster running?
#   scripts/postgis.sh url            the postgis:// URL the tests would use (may start the cluster)
#   scripts/postgis.sh ensure-db URL  create the database named in URL if it does not exist
#
# The private cluster lives in var/pg (owned by user postgres when run as root, because
# initdb refuses to run as root), listens on 127.0.0.1 only, port $MAPIDEAS_PG_PORT (5433),
# trust auth for user postgres.

PG_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAPIDEAS_PG_PORT="${MAPIDEAS_PG_PORT:-5433}"
PG_STARTED_BY_US=0

pg_log() { echo "postgis: $*" >&2; }

# Installed server majors (directories with a postgres binary), newest first.
pg_majors() {
    local d found=()
    for d in /usr/lib/postgresql/*/bin/postgres; do
        [[ -x "$d" ]] || continue
        d="${d#/usr/lib/postgresql/}"
        found+=("${d%%/*}")
    done
    if ((${#found[@]} == 0)) && command -v pg_config >/dev/null 2>&1; then
        # e.g. "PostgreSQL 15.20 (Debian ...)" -> 15, if that server is really installed
        local v
        v="$(pg_config --version 2>/dev/null | awk '{print $2}')"
        v="${v%%.*}"
        if [[ "$v" =~ ^[0-9]+$ && -x "$(pg_config --bindir 2>/dev/null)/postgres" ]]; then
            found+=("$v")
        fi
    fi
    ((${#found[@]})) || return 1
    printf '%s\n' "${found[@]}" | sort -rn | uniq
}

pg_major() { pg_majors | head -n1; }

pg_bindir() {
    local m
    m="$(pg_major)" || { pg_log "no PostgreSQL server is installed (run 'make setup')"; return 1; }
    if [[ -x "/usr/lib/postgresql/$m/bin/pg_ctl" ]]; then
        echo "/usr/lib/postgresql/$m/bin"
    elif command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/pg_ctl" ]]; then
        pg_config --bindir
    else
        pg_log "cannot find pg_ctl for PostgreSQL $m"
        return 1
    fi
}

# Run a command as the cluster owner: user postgres when we are root, else ourselves.
# (From /, since user postgres may not be allowed into the current directory.)
pg_as_owner() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Directory holding the private cluster: var/pg, unless user postgres cannot reach it
# (e.g. the checkout is under /root, mode 0700): then a directory under /tmp named after
# the checkout path.
pg_private_dir() {
    local d="$PG_REPO_ROOT/var/pg"
    if ((EUID == 0)) && [[ ! -d "$d/data" ]]; then
        # Can postgres traverse every ancestor of var/ ?
        if ! runuser -u postgres -- test -x "$PG_REPO_ROOT" 2>/dev/null; then
            local h
            h="$(printf '%s' "$PG_REPO_ROOT" | sha256sum | cut -c1-12)"
            d="${TMPDIR:-/tmp}/mapideas-pg-$h"
        fi
    fi
    echo "$d"
}

# Unix socket directory: the cluster dir, unless that path is too long for a socket name.
pg_socket_dir() {
    local d="$1"
    if ((${#d} > 80)); then echo /tmp; else echo "$d"; fi
}

pg_private_url() { echo "postgis://postgres@127.0.0.1:${MAPIDEAS_PG_PORT}/mapideas"; }

pg_private_running() {
    local d bindir
    d="$(pg_private_dir)"
    [[ -f "$d/data/PG_VERSION" ]] || return 1
    bindir="$(pg_bindir)" || return 1
    pg_as_owner "$bindir/pg_ctl" -D "$d/data" status >/dev/null 2>&1
}

# Start (initialising if needed) the private cluster. Sets PG_STARTED_BY_US=1 when it was
# not already running, so callers know whether to stop it again.
pg_private_start() {
    local d bindir major sock rc
    PG_STARTED_BY_US=0
    if ((EUID == 0)) && ! id -u postgres >/dev/null 2>&1; then
        pg_log "user 'postgres' does not exist; install PostgreSQL first (make setup)"
        return 1
    fi
    bindir="$(pg_bindir)" || return 1
    major="$(pg_major)"
    d="$(pg_private_dir)"
    if pg_private_running; then
        pg_log "private cluster already running in $d on 127.0.0.1:$MAPIDEAS_PG_PORT"
        return 0
    fi
    # Something else on the port?
    rc=0
    pg_isready -q -h 127.0.0.1 -p "$MAPIDEAS_PG_PORT" -t 2 || rc=$?
    if ((rc == 0 || rc == 1)); then
        pg_log "port $MAPIDEAS_PG_PORT on 127.0.0.1 is already used by another server;" \
            "set MAPIDEAS_PG_PORT to a free port"
        return 1
    fi

    mkdir -p "$d"
    if ((EUID == 0)); then
        # postgres must be able to traverse var/ and own var/pg.
        [[ "$d" == "$PG_REPO_ROOT/var/pg" ]] && chmod a+x "$PG_REPO_ROOT/var"
        chown postgres:postgres "$d"
    fi
    chmod 700 "$d"

    if [[ -f "$d/data/PG_VERSION" ]]; then
        local have
        have="$(cat "$d/data/PG_VERSION")"
        if [[ "$have" != "$major" ]]; then
            pg_log "$d/data was created by PostgreSQL $have but $major is installed;" \
                "remove it (make clean) and retry"
            return 1
        fi
    else
        pg_log "initialising private PostgreSQL $major cluster in $d"
        if ! pg_as_owner "$bindir/initdb" -D "$d/data" -A trust -U postgres -E UTF8 \
            --locale=C.UTF-8 >"$d/initdb.log" 2>&1; then
            cat "$d/initdb.log" >&2
            pg_log "initdb failed"
            rm -rf "$d/data"
            return 1
        fi
    fi

    sock="$(pg_socket_dir "$d")"
    pg_log "starting private cluster on 127.0.0.1:$MAPIDEAS_PG_PORT (log: $d/log)"
    if ! pg_as_owner "$bindir/pg_ctl" -D "$d/data" -l "$d/log" -w -t 60 \
        -o "-p $MAPIDEAS_PG_PORT -k '$sock' -c listen_addresses=127.0.0.1" start >/dev/null; then
        tail -n 20 "$d/log" >&2 || true
        pg_log "could not start the private cluster"
        return 1
    fi
    PG_STARTED_BY_US=1
}

pg_private_stop() {
    local d bindir
    d="$(pg_private_dir)"
    if ! pg_private_running; then
        return 0
    fi
    bindir="$(pg_bindir)" || return 1
    pg_log "stopping private cluster in $d"
    pg_as_owner "$bindir/pg_ctl" -D "$d/data" -m fast -w -t 60 stop >/dev/null
}

# A python for small helper scripts: the venv's (has psycopg) or the system's.
pg_python() {
    if [[ -x "$PG_REPO_ROOT/.venv/bin/python" ]]; then
        echo "$PG_REPO_ROOT/.venv/bin/python"
    else
        command -v python3
    fi
}

# Print "host port" from a postgis:// or postgres:// URL (defaults 127.0.0.1 5432).
pg_url_host_port() {
    "$(pg_python)" - "$1" <<'PY'
import sys
from urllib.parse import urlsplit, unquote
u = urlsplit(sys.argv[1])
print(unquote(u.hostname or "") or "127.0.0.1", u.port or 5432)
PY
}

# Is a server answering at the host/port of the URL?
pg_url_reachable() {
    local host port
    read -r host port < <(pg_url_host_port "$1")
    pg_isready -q -h "$host" -p "$port" -t 3
}

# Create the database named in the URL if it does not exist, connecting to the
# "postgres" maintenance database with the same credentials. Needs psycopg (.venv).
pg_ensure_database() {
    "$PG_REPO_ROOT/.venv/bin/python" - "$1" <<'PY'
import sys
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from psycopg import sql

u = urlsplit(sys.argv[1])
name = unquote(u.path.lstrip("/"))
if not name:
    sys.exit("postgis: the database URL names no database")
kwargs = dict(parse_qsl(u.query))
kwargs.update(
    host=unquote(u.hostname or "") or "127.0.0.1",
    port=u.port or 5432,
    dbname="postgres",
    connect_timeout=10,
)
if u.username:
    kwargs["user"] = unquote(u.username)
if u.password:
    kwargs["password"] = unquote(u.password)
with psycopg.connect(autocommit=True, **kwargs) as conn:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        print(f"postgis: database {name!r} exists", file=sys.stderr)
    else:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"postgis: created database {name!r}", file=sys.stderr)
PY
}

# Set PG_TEST_URL to the URL the PostGIS test run uses: the caller's postgis://
# DATABASE_URL, else a server on 127.0.0.1:5432, else the private cluster (started here;
# PG_STARTED_BY_US=1 tells the caller to stop it). Call it directly, not in $(...).
PG_TEST_URL=""
pg_choose_test_url() {
    PG_STARTED_BY_US=0
    if [[ "${DATABASE_URL:-}" == postgis://* ]]; then
        PG_TEST_URL="$DATABASE_URL"
    elif pg_isready -q -h 127.0.0.1 -p 5432 -t 3; then
        PG_TEST_URL="postgis://postgres@127.0.0.1:5432/mapideas"
    else
        pg_log "no server on 127.0.0.1:5432; using the private cluster"
        pg_private_start || return 1
        PG_TEST_URL="$(pg_private_url)"
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    cmd="${1:-}"
    case "$cmd" in
    major) pg_majors ;;
    bindir) pg_bindir ;;
    start)
        pg_private_start
        pg_private_url
        ;;
    stop) pg_private_stop ;;
    status)
        if pg_private_running; then
            echo "running in $(pg_private_dir): $(pg_private_url)"
        else
            echo "not running"
            exit 3
        fi
        ;;
    url)
        pg_choose_test_url
        echo "$PG_TEST_URL"
        ;;
    ensure-db)
        [[ $# -ge 2 ]] || { echo "usage: $0 ensure-db URL" >&2; exit 2; }
        pg_ensure_database "$2"
        ;;
    *)
        sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
        [[ -z "$cmd" || "$cmd" == -h || "$cmd" == --help ]] || exit 2
        ;;
    esac
fi
