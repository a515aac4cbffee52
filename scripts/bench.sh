#!/usr/bin/env bash
# make bench: MapIdeas' figures against floors measured in the same run, on PostGIS and on
# SpatiaLite. Prints a table and the JSON, writes var/bench/latest.json (one object per row).
#
#   BENCH_IDEAS=200000 make bench      a smaller PostGIS city (default 1000000 ideas)
#   BENCH_SPATIALITE_IDEAS=50000       a smaller SpatiaLite city (default 100000)
#   BENCH_RUNS=5                       timed runs per measurement (default 3, median reported)
#   BENCH_BACKENDS=postgis             only one backend (default "postgis spatialite")
#   BENCH_DATABASE_URL=postgis://...   the PostGIS database to create, fill and drop; its
#                                      name must contain "bench" (default mapideas_bench on
#                                      127.0.0.1:5432, else on a private cluster in var/pg)
#
# A missed target prints MISSED but exits 0; the exit status is non-zero only on errors.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" bench
OUT="$ROOT/var/bench"
mkdir -p "$OUT"

rc=0
parts=()
for backend in ${BENCH_BACKENDS:-postgis spatialite}; do
    rm -f "$OUT/$backend.json"
    case "$backend" in
    postgis)
        if [[ -n "${BENCH_DATABASE_URL:-}" ]]; then
            url="$BENCH_DATABASE_URL"
            pg_url_reachable "$url" || {
                echo "bench: no PostgreSQL server answers for $(mask "$url")" >&2
                rc=1
                continue
            }
        elif pg_isready -q -h 127.0.0.1 -p 5432 -t 3; then
            url="postgis://postgres@127.0.0.1:5432/mapideas_bench"
        else
            pg_log "no server on 127.0.0.1:5432; using the private cluster"
            pg_private_start || {
                rc=1
                continue
            }
            url="postgis://postgres@127.0.0.1:${MAPIDEAS_PG_PORT}/mapideas_bench"
        fi
        ;;
    spatialite) url="spatialite:///$OUT/spatialite.sqlite3" ;;
    *)
        echo "bench: unknown backend '$backend' in BENCH_BACKENDS (postgis, spatialite)" >&2
        rc=1
        continue
        ;;
    esac
    echo "bench: $backend on $(mask "$url")" >&2
    if DATABASE_URL="$url" "$PY" -m bench run --out "$OUT/$backend.json"; then
        parts+=("$OUT/$backend.json")
    else
        echo "bench: the $backend run failed" >&2
        rc=1
    fi
done

if ((${#parts[@]})); then
    "$PY" -m bench merge "${parts[@]}" --out "$OUT/latest.json" || rc=1
fi
exit "$rc"
