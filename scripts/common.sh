# What the Makefile's scripts start with: the repository's root as the working directory,
# the PostgreSQL helpers (scripts/postgis.sh), the project's Python in $PY (or a clear error
# when .venv is missing), a private cluster stopped on exit, and mask for printing URLs. Sourced: source "$(dirname "${BASH_SOURCE[0]}")/common.sh" NAME
# (NAME is the make target, used in the message).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/postgis.sh
source "$ROOT/scripts/postgis.sh"

PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || {
    echo "$1: .venv is missing; run 'make setup' (or 'make $1')" >&2
    exit 1
}

# A private PostgreSQL cluster the script started (scripts/postgis.sh) is stopped when it
# ends, however it ends.
REDIS_STARTED_BY_US=0
cleanup() {
    if ((PG_STARTED_BY_US)); then pg_private_stop || true; fi
    if ((REDIS_STARTED_BY_US)); then redis_private_stop || true; fi
}

# Redis for the tests of the Redis rate-limit counters: REDIS_URL if set, else the server on
# 127.0.0.1:6379 if one answers, else a private one on 127.0.0.1:6390 that keeps nothing on
# disk (stopped on exit). Exports REDIS_URL; returns 1 when none can be had.
redis_answers() { # redis_answers HOST PORT
    "$PY" - "$1" "$2" <<'PYEOF' >/dev/null 2>&1
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.5) as s:
    s.sendall(b"PING\r\n")
    assert s.recv(16).startswith(b"+PONG")
PYEOF
}
redis_choose_test_url() {
    if [[ -n "${REDIS_URL:-}" ]]; then return 0; fi
    if redis_answers 127.0.0.1 6379; then
        export REDIS_URL="redis://127.0.0.1:6379/14"
        return 0
    fi
    command -v redis-server >/dev/null 2>&1 || return 1
    redis-server --port 6390 --bind 127.0.0.1 --save "" --appendonly no \
        --maxmemory-policy noeviction --daemonize yes \
        --pidfile "$ROOT/var/redis-test.pid" --logfile "$ROOT/var/redis-test.log" || return 1
    REDIS_STARTED_BY_US=1
    for _ in $(seq 50); do
        if redis_answers 127.0.0.1 6390; then
            export REDIS_URL="redis://127.0.0.1:6390/14"
            return 0
        fi
        sleep 0.1
    done
    return 1
}
redis_private_stop() {
    [[ -f "$ROOT/var/redis-test.pid" ]] && kill "$(cat "$ROOT/var/redis-test.pid")" 2>/dev/null
    rm -f "$ROOT/var/redis-test.pid"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A database URL as it may be printed: its password masked.
mask() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }
