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

# --- the suite on SpatiaLite and on PostGIS --------------------------------------------
# The two runs go side by side where the machine has two cores or more: the PostGIS run
# waits on its server much of the time, so both together take little longer than the PostGIS
# run alone (CI has 90 minutes). Each has its own database and its own Redis database (the
# counters' tests empty theirs); each line of output says which run wrote it.
# MAPIDEAS_TEST_SERIAL=1 runs them one after the other, unprefixed.
# Compiled queries are prepared on the server, as `make run` and production have them
# (scripts/run.sh; SpatiaLite ignores it): the suite runs the path the pages run.
export DB_PREPARE_THRESHOLD="${DB_PREPARE_THRESHOLD:-5}"
sl_url="spatialite:///$ROOT/var/test-spatialite.sqlite3"
sl_log="$ROOT/var/test-spatialite.log"
pg_log="$ROOT/var/test-postgis.log"
rm -f "$sl_log" "$pg_log"
sl_redis="${REDIS_URL:-}"
pg_redis="${REDIS_URL:-}"
if [[ "$pg_redis" =~ ^(.*)/([0-9]+)$ ]]; then
    pg_redis="${BASH_REMATCH[1]}/$(((BASH_REMATCH[2] + 1) % 16))"
fi

pg_ok=0
pg_label="PostGIS"
if pg_choose_test_url; then
    pg_ok=1
    pg_label="PostGIS ($(mask "$PG_TEST_URL"))"
    pg_ensure_database "$PG_TEST_URL" ||
        echo "test: warning: could not make sure the database exists; Django may still manage" >&2
else
    echo "test: no PostgreSQL server available for the PostGIS run" >&2
fi

# Each run's output is also kept in var/test-<backend>.log, so that the summary can name the
# tests that failed: side by side, the SpatiaLite run's failures are otherwise far up in the
# interleaved output, and a log cut to its tail shows only the run that finished last.
suite() { # suite DATABASE_URL REDIS_URL LOG PYTEST_ARGS...: pytest's exit code
    local database_url="$1" redis_url="$2" log="$3"
    shift 3
    set -o pipefail
    DATABASE_URL="$database_url" REDIS_URL="$redis_url" "$PY" -m pytest "$@" 2>&1 | tee "$log"
}
failures() { # failures LOG: the FAILED and ERROR lines of pytest's short summary, indented
    [[ -f "$1" ]] || return 0
    grep -E '^(FAILED|ERROR) ' "$1" | head -n 40 | sed 's/^/    /' || true
}
prefixed() { # prefixed PREFIX COMMAND...: the command's output, each line prefixed; its exit code
    local prefix="$1"
    shift
    set -o pipefail
    "$@" 2>&1 | sed -u "s/^/$prefix| /"
}

sl_rc=0
pg_rc=1
if [[ "${MAPIDEAS_TEST_SERIAL:-}" == 1 ]] || (($(nproc) < 2)) || ((!pg_ok)); then
    banner "pytest on SpatiaLite ($sl_url)"
    suite "$sl_url" "$sl_redis" "$sl_log" "$@" || sl_rc=$?
    if ((pg_ok)); then
        banner "pytest on $pg_label"
        pg_rc=0
        suite "$PG_TEST_URL" "$pg_redis" "$pg_log" "$@" || pg_rc=$?
    fi
else
    banner "pytest on SpatiaLite ($sl_url, lines 'spatialite|') and on $pg_label (lines 'postgis|'), side by side"
    (prefixed spatialite suite "$sl_url" "$sl_redis" "$sl_log" "$@") &
    sl_pid=$!
    pg_rc=0
    (prefixed postgis suite "$PG_TEST_URL" "$pg_redis" "$pg_log" "$@") || pg_rc=$?
    wait "$sl_pid" || sl_rc=$?
fi

# --- summary ---------------------------------------------------------------------------
banner "summary"
if ((lint_rc)); then echo "lint (ruff, import contracts, mypy): FAILED (exit $lint_rc)"; else echo "lint (ruff, import contracts, mypy): OK"; fi
echo "tests on SpatiaLite: $(describe "$sl_rc")"
if ((sl_rc)); then failures "$sl_log"; fi
echo "tests on $pg_label: $(describe "$pg_rc")"
if ((pg_rc)); then failures "$pg_log"; fi

if ((lint_rc || sl_rc || pg_rc)); then
    exit 1
fi
