#!/usr/bin/env bash
# Migrate, load the demo city into an empty database, collect static files, serve with
# gunicorn on http://127.0.0.1:${PORT:-8000}/.
#
# DATABASE_URL defaults to SpatiaLite in var/mapideas.sqlite3. With a postgis:// URL the
# database is created if missing; if the URL is the private cluster's
# (postgis://postgres@127.0.0.1:5433/mapideas) and nothing answers there, the private
# cluster in var/pg is started (and left running: scripts/postgis.sh stop).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/postgis.sh
source "$ROOT/scripts/postgis.sh"

log() { echo "run: $*"; }
die() {
    echo "run: ERROR: $*" >&2
    exit 1
}

PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || die ".venv is missing; run 'make setup' (or 'make run')"
mkdir -p var

export DATABASE_URL="${DATABASE_URL:-spatialite:///$ROOT/var/mapideas.sqlite3}"
masked="$(sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$DATABASE_URL")"

if [[ "$DATABASE_URL" == postgis://* ]]; then
    read -r host port < <(pg_url_host_port "$DATABASE_URL")
    if ! pg_url_reachable "$DATABASE_URL"; then
        if [[ ("$host" == 127.0.0.1 || "$host" == localhost) && "$port" == "$MAPIDEAS_PG_PORT" ]]; then
            pg_private_start || die "could not start the private PostgreSQL cluster"
            log "the private cluster stays running; stop it with: scripts/postgis.sh stop"
        else
            die "no PostgreSQL server answers at $host:$port.
       Start it, or use DATABASE_URL=$(pg_private_url) to run a private cluster in var/pg,
       or unset DATABASE_URL to use SpatiaLite."
        fi
    fi
    pg_ensure_database "$DATABASE_URL" || die "could not create the database of $masked"
fi

log "database: $masked"
"$PY" manage.py migrate --noinput
# The rate-limit counters' table (CACHE_URL unset or db://); a no-op when it exists.
"$PY" manage.py createcachetable
"$PY" manage.py load_demo_city --if-empty --demo-users --commit
"$PY" manage.py collectstatic --noinput >/dev/null

PORT="${PORT:-8000}"
# Each worker keeps its database connection between requests (and checks it before reuse),
# or with DB_POOL_SIZE shares a pool among its threads (mapideas/settings.py); statements
# are prepared on the server after a few runs (direct connections: no pgbouncer between).
# Workers and threads: mapideas/gunicorn_conf.py (WEB_CONCURRENCY, WEB_THREADS).
if [[ -z "${DB_POOL_SIZE:-}" ]]; then
    export DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-60}"
fi
export DB_PREPARE_THRESHOLD="${DB_PREPARE_THRESHOLD:-5}"
echo
echo "MapIdeas is starting on http://127.0.0.1:${PORT}/  (Ctrl-C to stop)"
echo
exec "$ROOT/.venv/bin/gunicorn" mapideas.wsgi \
    --config python:mapideas.gunicorn_conf \
    --bind "127.0.0.1:${PORT}"
