#!/usr/bin/env bash
# make replica-demo: two app servers, a PostgreSQL primary and a streaming replica, on this
# machine (docs/operations/scaling.md, "Proved on one machine").
#
#   1. initialises two PostgreSQL clusters in a temporary directory: a primary
#      (wal_level=replica) and a replica made from it by `pg_basebackup -R` (streaming
#      replication, hot standby), both logging every statement;
#   2. migrates the primary and loads the demo city into it;
#   3. starts TWO gunicorn servers with DATABASE_URL = the primary, DATABASE_REPLICA_URL =
#      the replica, one SECRET_KEY and one cache (CACHE_URL, db:// by default): stateless;
#   4. sends REPLICA_DEMO_PINS pins (default 500) through both servers alternately
#      (POST /api/ideas/, 8 clients at once, rate limits off);
#   5. waits until the replica has replayed the primary's WAL, then reads the engagement
#      layer (/api/engagement/neighborhoods/) and the public list (/api/ideas/) from both
#      servers;
#   6. PASS when every pin was acknowledged (201), every acknowledged pin is counted by both
#      servers and stored on both clusters (nothing lost), and the reads of the pins were
#      served by the replica (its statement log) and not by the primary.
# Everything is stopped and the directory removed on exit. Exit status 0 only on PASS.
#
# Ports: REPLICA_DEMO_PORTS="primary replica app1 app2" (default "55432 55433 8101 8102";
# a busy one is replaced by a free one). REPLICA_DEMO_CACHE_URL (default db://) may name a
# Redis (redis://127.0.0.1:6379/0). Root is fine: PostgreSQL then runs as user postgres.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/postgis.sh
source "$ROOT/scripts/postgis.sh"

PY="$ROOT/.venv/bin/python"
GUNICORN="$ROOT/.venv/bin/gunicorn"
PINS="${REPLICA_DEMO_PINS:-500}"
DB=mapideas_replica_demo

log() { echo "replica-demo: $*" >&2; }
fail() {
    echo "replica-demo: FAIL: $*" >&2
    exit 1
}

[[ -x "$PY" && -x "$GUNICORN" ]] || fail ".venv is missing; run 'make setup'"
bindir="$(pg_bindir)" || fail "no PostgreSQL server installed (make setup)"
if ((EUID == 0)) && ! id -u postgres >/dev/null 2>&1; then
    fail "running as root needs user postgres (installed with PostgreSQL)"
fi

# The ports asked for, or free ones in their place.
read -r -a wanted <<<"${REPLICA_DEMO_PORTS:-55432 55433 8101 8102}"
((${#wanted[@]} == 4)) || fail "REPLICA_DEMO_PORTS needs four ports"
read -r PG_PRIMARY PG_REPLICA APP1 APP2 < <("$PY" - "${wanted[@]}" <<'PY'
import socket
import sys

chosen = []
for wanted in map(int, sys.argv[1:]):
    for port in (wanted, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = s.getsockname()[1]
            if port not in chosen:
                chosen.append(port)
                break
print(*chosen)
PY
)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mapideas-replica-demo.XXXXXX")"
chmod 755 "$WORK"
# User postgres writes the clusters and their logs here.
((EUID == 0)) && chown postgres:postgres "$WORK"
app_pids=()

cleanup() {
    local rc=$? pid
    for pid in "${app_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${app_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for data in "$WORK/replica" "$WORK/primary"; do
        if [[ -f "$data/postmaster.pid" ]]; then
            pg_as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        fi
    done
    if ((rc != 0)); then
        for f in "$WORK"/*.log; do
            [[ -f "$f" ]] || continue
            echo "----- last lines of $(basename "$f")" >&2
            tail -n 15 "$f" >&2
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg() { # pg PORT SQL: one value from the cluster on PORT
    pg_as_owner "$bindir/psql" -X -q -At -h 127.0.0.1 -p "$1" -U postgres -d "${3:-$DB}" -c "$2"
}

start_cluster() { # start_cluster DATA PORT
    pg_as_owner "$bindir/pg_ctl" -D "$1" -l "$WORK/$(basename "$1").log" -w -t 60 \
        -o "-p $2 -k $WORK -c listen_addresses=127.0.0.1" start >/dev/null ||
        fail "could not start the cluster in $1"
}

# --- 1. primary and streaming replica ---------------------------------------------------
started=$SECONDS
log "primary on 127.0.0.1:$PG_PRIMARY, replica on 127.0.0.1:$PG_REPLICA (PostgreSQL $(pg_major), $WORK)"
pg_as_owner "$bindir/initdb" -D "$WORK/primary" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    >"$WORK/initdb.log" 2>&1 || fail "initdb failed"
# initdb's pg_hba.conf already trusts replication connections from 127.0.0.1.
pg_as_owner tee -a "$WORK/primary/postgresql.conf" >/dev/null <<CONF
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
synchronous_commit = on
log_statement = 'all'
log_line_prefix = '%m [%p] %d '
CONF
start_cluster "$WORK/primary" "$PG_PRIMARY"
pg_as_owner "$bindir/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY" -U postgres \
    -D "$WORK/replica" -R -X stream -c fast >"$WORK/basebackup.log" 2>&1 ||
    fail "pg_basebackup failed"
start_cluster "$WORK/replica" "$PG_REPLICA"
[[ "$(pg "$PG_REPLICA" "SELECT pg_is_in_recovery()" postgres)" == t ]] ||
    fail "the replica is not in recovery (not a standby)"
log "streaming: $(pg "$PG_PRIMARY" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" postgres) replica(s) on the primary"

# --- 2. schema and demo city, on the primary only ---------------------------------------
PRIMARY_URL="postgis://postgres@127.0.0.1:$PG_PRIMARY/$DB"
REPLICA_URL="postgis://postgres@127.0.0.1:$PG_REPLICA/$DB"
pg_ensure_database "$PRIMARY_URL" 2>/dev/null || fail "could not create $DB on the primary"
export DATABASE_URL="$PRIMARY_URL"
export CACHE_URL="${REPLICA_DEMO_CACHE_URL:-db://}"
"$PY" manage.py migrate --noinput >"$WORK/migrate.log" 2>&1 || fail "migrate failed"
"$PY" manage.py createcachetable >>"$WORK/migrate.log" 2>&1
"$PY" manage.py load_demo_city --commit >"$WORK/demo.log" 2>&1 || fail "load_demo_city failed"
log "primary migrated, demo city loaded: $(pg "$PG_PRIMARY" "SELECT count(*) FROM mapideas_idea") pins"

# --- 3. two stateless app servers -----------------------------------------------------
export DATABASE_REPLICA_URL="$REPLICA_URL"
export SECRET_KEY="replica-demo-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export MAPIDEAS_RATE_LIMITS=off DB_CONN_MAX_AGE=60 DEBUG=false
for port in "$APP1" "$APP2"; do
    "$GUNICORN" mapideas.wsgi --bind "127.0.0.1:$port" --workers 2 \
        >"$WORK/app-$port.log" 2>&1 &
    app_pids+=("$!")
done

# --- 4-6. pins through both servers, reads from the replica -----------------------------
export PG_PRIMARY PG_REPLICA APP1 APP2 PINS WORK DB BINDIR="$bindir"
if "$PY" - <<'PY'; then
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

env = os.environ
apps = [f"http://127.0.0.1:{env['APP1']}", f"http://127.0.0.1:{env['APP2']}"]
primary, replica = env["PG_PRIMARY"], env["PG_REPLICA"]
pins, work, db = int(env["PINS"]), Path(env["WORK"]), env["DB"]


def log(message: str) -> None:
    print(f"replica-demo: {message}", file=sys.stderr, flush=True)


def sql(port: str, query: str) -> str:
    argv = [f"{env['BINDIR']}/psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-p", port]
    argv += ["-U", "postgres", "-d", db, "-c", query]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=True, capture_output=True, text=True, cwd="/").stdout.strip()


def request(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


for app in apps:
    for _ in range(120):
        try:
            if request(f"{app}/api/categories/")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.25)
    else:
        sys.exit(f"replica-demo: FAIL: the app server {app} did not answer")
log(f"two app servers up: {', '.join(apps)} (2 gunicorn workers each)")

category = request(f"{apps[0]}/api/categories/")[1][0]["slug"]
# Random points inside the active neighborhoods, drawn by PostGIS on the primary.
points = [
    tuple(map(float, line.split("|")))
    for line in sql(
        primary,
        "SELECT ST_X(g), ST_Y(g) FROM (SELECT (ST_Dump(ST_GeneratePoints(ST_Union(n.geometry),"
        f" {pins}, 7))).geom AS g FROM neighborhoods_neighborhood n JOIN"
        " neighborhoods_boundaryversion v ON v.id = n.version_id AND v.is_active) p",
    ).splitlines()
]


def layer_count(app: str) -> int:
    status, body = request(f"{app}/api/engagement/neighborhoods/")
    if status != 200:
        sys.exit(f"replica-demo: FAIL: {app}/api/engagement/neighborhoods/ answered {status}")
    return sum(f["properties"]["count"] or 0 for f in body["features"])


def list_count(app: str) -> int:
    status, body = request(f"{app}/api/ideas/?page_size=1")
    if status != 200:
        sys.exit(f"replica-demo: FAIL: {app}/api/ideas/ answered {status}")
    return body["count"]


def caught_up(timeout: float = 30.0) -> float:
    lsn = sql(primary, "SELECT pg_current_wal_lsn()")
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if sql(replica, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") == "t":
            return time.perf_counter() - started
        time.sleep(0.05)
    sys.exit(f"replica-demo: FAIL: the replica did not replay {lsn} within {timeout:.0f} s")


caught_up()
before = layer_count(apps[0])


def send(index: int) -> tuple[int, int]:
    x, y = points[index]
    status, _ = request(
        f"{apps[index % 2]}/api/ideas/",
        {
            "kind": "idea",
            "title": f"Replica demo pin {index}",
            "description": "Sent through one of two app servers.",
            "category": category,
            "location": {"type": "Point", "coordinates": [x, y]},
        },
    )
    return index % 2, status


started = time.perf_counter()
with ThreadPoolExecutor(max_workers=8) as pool:
    results = list(pool.map(send, range(len(points))))
seconds = time.perf_counter() - started
acked = [sum(1 for s, code in results if s == k and code == 201) for k in (0, 1)]
refused = sorted({code for _s, code in results if code != 201})
log(
    f"{len(points)} pins sent in {seconds:.1f} s ({len(points) / seconds:.0f}/s): "
    f"{acked[0]} + {acked[1]} acknowledged (201) by the two servers"
    + (f", other answers: {refused}" if refused else "")
)
lag = caught_up()
log(f"replica caught up with the primary's WAL {lag * 1000:.0f} ms after the last pin")

# The reads, between two markers in both clusters' statement logs.
for port in (primary, replica):
    sql(port, "SELECT 'replica-demo: reads start'")
after = {app: (layer_count(app), list_count(app)) for app in apps}
for port in (primary, replica):
    sql(port, "SELECT 'replica-demo: reads end'")


def pin_reads(name: str) -> int:
    text = (work / f"{name}.log").read_text(errors="replace")
    window = text.split("replica-demo: reads start")[-1].split("replica-demo: reads end")[0]
    return len(re.findall(r'statement: SELECT .*FROM "mapideas_idea"', window))


reads = {"primary": pin_reads("primary"), "replica": pin_reads("replica")}
stored = {
    "primary": int(sql(primary, "SELECT count(*) FROM mapideas_idea")),
    "replica": int(sql(replica, "SELECT count(*) FROM mapideas_idea")),
}
total = sum(acked)
checks = [
    (f"every pin acknowledged: {total} of {len(points)}", total == len(points)),
    *(
        (
            f"{app}: engagement layer counts {count - before} new pins, /api/ideas/ lists "
            f"{listed} (expected {total} new, {before + total} in all)",
            count - before == total and listed == before + total,
        )
        for app, (count, listed) in after.items()
    ),
    (
        f"stored: {stored['primary']} pins on the primary, {stored['replica']} on the replica",
        stored["primary"] == stored["replica"] == before + total,
    ),
    (
        f"served by the replica: {reads['replica']} pin queries there, "
        f"{reads['primary']} on the primary during the reads",
        reads["replica"] > 0 and reads["primary"] == 0,
    ),
]
for text, ok in checks:
    print(f"  {'ok  ' if ok else 'FAIL'} {text}")
sys.exit(0 if all(ok for _t, ok in checks) else 1)
PY
    log "PASS: two app servers, a primary and a streaming replica: nothing lost ($((SECONDS - started)) s)"
else
    fail "see the checks above ($((SECONDS - started)) s)"
fi
