"""Entry point of `make bench` (scripts/bench.sh calls it once per backend, then merges).

    python -m bench run --out FILE          one backend, chosen by DATABASE_URL: builds the
                                            city in a fresh database, measures every row,
                                            writes the rows as JSON, drops the database
    python -m bench merge FILE... --out F   prints the rows of several runs as a table and as
                                            JSON, and writes them (one object per row) to F

Settings (environment):
    BENCH_IDEAS              ideas on PostGIS (default 1000000)
    BENCH_SPATIALITE_IDEAS   ideas on SpatiaLite (default 100000)
    BENCH_RUNS               timed runs per measurement, median reported (default 3)
    BENCH_ROUTE_CALLS        single-point lookups timed (default 2000)
    BENCH_ROWS               comma-separated row names to measure (default: all)
    BENCH_KEEP_DB            1 keeps the benchmark database afterwards (default: dropped)

A missed target is reported (MISSED) but is not an error: the exit status is non-zero only
when something failed.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"bench [{time.perf_counter() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def env_positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"bench: {name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"bench: {name} must be positive, not {value}")
    return value


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


# --- databases ---------------------------------------------------------------------------


def _pg_connect_kwargs(url: str) -> tuple[str, dict]:
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    kwargs = dict(parse_qsl(parts.query))
    kwargs.update(
        host=unquote(parts.hostname or "") or "127.0.0.1",
        port=parts.port or 5432,
        dbname="postgres",
        connect_timeout=10,
    )
    if parts.username:
        kwargs["user"] = unquote(parts.username)
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    return name, kwargs


def _pg_recreate(url: str, *, create: bool) -> None:
    """Drop the benchmark database (and create it again when `create`)."""
    import psycopg
    from psycopg import sql

    name, kwargs = _pg_connect_kwargs(url)
    if "bench" not in name:
        # It is dropped without asking: never let a typo point this at real data.
        raise SystemExit(f"bench: refusing to drop database {name!r}: its name must say 'bench'")
    with psycopg.connect(autocommit=True, **kwargs) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _spatialite_path(url: str) -> Path:
    rest = url.removeprefix("spatialite:").removeprefix("//")
    if not rest.startswith("/"):
        raise SystemExit("bench: give SpatiaLite an absolute path (spatialite:///abs/path)")
    return Path(rest)


def _spatialite_remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- run ---------------------------------------------------------------------------------


def run(out: Path) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgis://"):
        backend, ideas = "postgis", env_positive_int("BENCH_IDEAS", 1_000_000)
    elif url.startswith("spatialite:"):
        backend, ideas = "spatialite", env_positive_int("BENCH_SPATIALITE_IDEAS", 100_000)
    else:
        raise SystemExit("bench: DATABASE_URL must be a postgis:// or spatialite:/// URL")
    runs = env_positive_int("BENCH_RUNS", 3)
    calls = env_positive_int("BENCH_ROUTE_CALLS", 2000)
    keep = env_flag("BENCH_KEEP_DB")
    named = os.environ.get("BENCH_ROWS", "").replace(",", " ").split()
    only = set(named) or None

    if backend == "postgis":
        _pg_recreate(url, create=True)
    else:
        _spatialite_remove(_spatialite_path(url))
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mapideas.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from bench import (
            rows_exports,  # noqa: F401 (registers the export rows)
            rows_import,  # noqa: F401 (registers the bulk import row)
            rows_reads,  # noqa: F401 (registers the reads row)
        )
        from bench.data import build_city
        from bench.rows import ROWS, Context, run_rows, spatialite_note

        unknown = (only or set()) - {spec.name for spec in ROWS}
        if unknown:
            raise SystemExit(f"bench: no such row in BENCH_ROWS: {', '.join(sorted(unknown))}")
        log(f"{backend}: migrate")
        call_command("migrate", interactive=False, verbosity=0)
        log(f"{backend}: building the city with {ideas:,} ideas")
        city = build_city(ideas=ideas, log=log)
        log(
            f"{backend}: city built in {city.seconds:.1f} s; a switch moves "
            f"{city.team_changes:,} of {city.ideas:,} ideas to another team"
        )
        context = Context(city=city, runs=runs, calls=calls, log=log)
        rows = run_rows(context, backend=backend, only=only)
        with connection.cursor() as cursor:
            if backend == "postgis":
                cursor.execute("SELECT split_part(version(), ' ', 2), postgis_lib_version()")
                pg, postgis = cursor.fetchone()
                database = f"PostgreSQL {pg}, PostGIS {postgis}"
            else:
                cursor.execute("SELECT sqlite_version(), spatialite_version()")
                sqlite, spatialite = cursor.fetchone()
                database = f"SQLite {sqlite}, SpatiaLite {spatialite}"
        for one in rows:
            one["database"] = database
        if backend == "spatialite" and rows:
            rows[0]["note"] = spatialite_note(rows)
        connection.close()
    finally:
        if keep:
            log(f"{backend}: database kept (BENCH_KEEP_DB)")
        elif backend == "postgis":
            from django.db import connections

            connections.close_all()
            _pg_recreate(url, create=False)
        else:
            _spatialite_remove(_spatialite_path(url))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"backend": backend, "rows": rows}, indent=2) + "\n")
    log(f"{backend}: done, rows in {out}")
    return 0


# --- merge -------------------------------------------------------------------------------


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:.3f}" if value < 100 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def table(rows: list[dict]) -> str:
    header = ("row", "backend", "ideas", "value", "floor", "ratio", "target", "met")
    lines = [
        (
            r["name"],
            r["backend"],
            f"{r['ideas']:,}",
            _number(r["value"], r["unit"]),
            _number(r["floor"], r["unit"]),
            _number(r["ratio"]),
            "-" if r["target"] is None else f"<= {r['target']}",
            {True: "met", False: "MISSED", None: "-"}[r["met"]],
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=True)]
    out = []
    for k, line in enumerate([header, *lines]):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def merge(inputs: list[Path], out: Path) -> int:
    rows = []
    for path in inputs:
        rows.extend(json.loads(path.read_text())["rows"])
    if not rows:
        print("bench: no rows were measured", file=sys.stderr)
        return 1
    print(json.dumps(rows, indent=2))
    print()
    print(table(rows))
    for r in rows:
        if r.get("note"):
            print(f"\nnote ({r['backend']}): {r['note']}")
    missed = [r["name"] for r in rows if r["met"] is False]
    print()
    if missed:
        print(f"MISSED: {', '.join(missed)} (over target; see the ratio column)")
    else:
        print("All targets met.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"Figures written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="measure every row on DATABASE_URL's backend")
    run_parser.add_argument("--out", type=Path, required=True)
    merge_parser = commands.add_parser("merge", help="print and write the rows of several runs")
    merge_parser.add_argument("inputs", type=Path, nargs="+")
    merge_parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.out)
    return merge(args.inputs, args.out)


if __name__ == "__main__":
    sys.exit(main())
