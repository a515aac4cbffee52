#!/usr/bin/env bash
# Lint (ruff, import contracts, mypy), then the whole pytest suite twice: on SpatiaLite and on PostGIS.
# Arguments are passed to pytest (make test ARGS="-k routing").
#
# PostGIS URL: the caller's DATABASE_URL if it is postgis://, else the server on
# 127.0.0.1:5432 if one answers, else a private cluster in var/pg on 127.0.0.1:5433
# (started here and stopped again on exit). Django creates test_<name> and the postgis
# extension itself.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" test
export DJANGO_ALLOW_ASYNC_UNSAFE=true
mkdir -p var

describe() { # describe EXIT_CODE
    case "$1" in
    0) echo "OK" ;;
    5) echo "FAILED (pytest exit 5: no tests collected)" ;;
    *) echo "FAILED (exit $1)" ;;
    esac
}

banner() { printf '\n===== %s =====\n' "$*"; }

# --- lint: ruff, import contracts, mypy (scripts/lint.sh, also `make lint`) ---------------
banner "make lint"
lint_rc=0
bash "$ROOT/scripts/lint.sh" || lint_rc=$?

# --- Redis, for the Redis rate-limit counters' tests (they fail under CI without one) ----
redis_choose_test_url ||
    echo "test: warning: no Redis (REDIS_URL, 127.0.0.1:6379, or redis-server to start one)" >&2

# --- SpatiaLite ------------------------------------------------------------------------
sl_url="spatialite:///$ROOT/var/test-spatialite.sqlite3"
banner "pytest on SpatiaLite ($sl_url)"
sl_rc=0
DATABASE_URL="$sl_url" "$PY" -m pytest "$@" || sl_rc=$?

# --- PostGIS ---------------------------------------------------------------------------
pg_rc=0
pg_label="PostGIS"
if pg_choose_test_url; then
    pg_label="PostGIS ($(mask "$PG_TEST_URL"))"
    banner "pytest on $pg_label"
    pg_ensure_database "$PG_TEST_URL" ||
        echo "test: warning: could not make sure the database exists; Django may still manage" >&2
    DATABASE_URL="$PG_TEST_URL" "$PY" -m pytest "$@" || pg_rc=$?
else
    echo "test: no PostgreSQL server available for the PostGIS run" >&2
    pg_rc=1
fi

# --- summary ---------------------------------------------------------------------------
banner "summary"
if ((lint_rc)); then echo "lint (ruff, import contracts, mypy): FAILED (exit $lint_rc)"; else echo "lint (ruff, import contracts, mypy): OK"; fi
echo "tests on SpatiaLite: $(describe "$sl_rc")"
echo "tests on $pg_label: $(describe "$pg_rc")"

if ((lint_rc || sl_rc || pg_rc)); then
    exit 1
fi
