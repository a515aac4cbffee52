"""The bulk import row: `manage.py import_ideas --commit` of a CSV of pins, against the bare
INSERT ... SELECT of the same final rows, with the dead rows it leaves and whether it analysed.

Registered by importing this module (bench/__main__.py does, after bench.rows).

Settings (environment):
    BENCH_IMPORT_PINS   rows in the CSV file (default 200000); one in OUTSIDE_EVERY lies
                        outside the city and is refused
"""

import os
import tempfile
import time
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection, transaction

from bench.rows import Context, Measurement, _median, _sample_points, row
from geodata.imports.ideas import BATCH_SIZE, WRITTEN_TABLES
from mapideas.models import Idea, RoutingEvent

OUTSIDE_EVERY = 100
# Far from Chicago: outside every service area, so the import refuses the row.
OUTSIDE = (0.5, 0.5)
# Tables whose dead rows are reported: the pins, and the map's summaries kept by triggers.
PINS = Idea._meta.db_table
SUMMARIES = ("mapideas_viewportcount", "mapideas_viewportcellcount")
WRITTEN = tuple(model._meta.db_table for model in WRITTEN_TABLES)
# Every stored column of a pin but its id: what the floor copies and inserts back.
COLUMNS = ", ".join(
    connection.ops.quote_name(f.column) for f in Idea._meta.concrete_fields if not f.primary_key
)


def _pins() -> int:
    raw = os.environ.get("BENCH_IMPORT_PINS", "").strip().replace("_", "")
    return int(raw) if raw else 200_000


def _write_csv(path: Path, count: int) -> int:
    """The file: the city's own pin locations, cycled; returns how many rows are inside."""
    points = _sample_points(min(count, 100_000))
    inside = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("lat,lon,title\n")
        for k in range(count):
            if k % OUTSIDE_EVERY == OUTSIDE_EVERY - 1:
                x, y = OUTSIDE
            else:
                x, y = points[k % len(points)]
                inside += 1
            out.write(f"{y!r},{x!r},Bench import row {k}\n")
    return inside


def _vacuum() -> None:
    """Start each run with no dead rows in the tables an import writes (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {', '.join(WRITTEN)}")


def _analysed() -> dict[str, Any]:
    """When each written table was last analysed (PostgreSQL), or whether sqlite_stat1 holds
    it (SQLite; None for an empty table, of which SQLite keeps no statistics)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                [list(WRITTEN)],
            )
            return dict(cursor.fetchall())
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        have: set[str] = set()
        if cursor.fetchone():
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
            have = {name for (name,) in cursor.fetchall()}
        found: dict[str, Any] = {}
        for name in WRITTEN:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name})")  # noqa: S608
            found[name] = (name in have) if cursor.fetchone()[0] else None
        return found


def _dead_and_live(tables: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """(dead, live) row versions of each table on PostgreSQL, counted by pgstattuple: exact,
    where n_dead_tup would mix the closing ANALYZE's count with the import's own (this
    connection reports them after the ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        counts = {}
        for table in tables:
            cursor.execute(
                "SELECT dead_tuple_count, tuple_count FROM pgstattuple(%s::regclass)", [table]
            )
            counts[table] = cursor.fetchone()
        return counts


def _forget_stats() -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sqlite_schema")
            cursor.execute("DELETE FROM sqlite_stat1")


def _delete(marker: str) -> int:
    """Remove the pins of one run (and what came with them); untimed."""
    through = Idea.also_in_teams.through._meta.db_table
    ids = f"SELECT id FROM {PINS} WHERE event_name = %s"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {RoutingEvent._meta.db_table} WHERE idea_id IN ({ids})",  # noqa: S608
            [marker],
        )
        cursor.execute(f"DELETE FROM {through} WHERE idea_id IN ({ids})", [marker])  # noqa: S608
        cursor.execute(f"DELETE FROM {PINS} WHERE event_name = %s", [marker])  # noqa: S608
        return cursor.rowcount


@row(
    "import_200k",
    unit="s",
    # The figures that must hold are in also_met: no dead pin row, the tables analysed. The
    # ratio is mostly Django's bulk INSERT and the checks of each row in Python (~16 at 20k
    # pins, where the routing takes a tenth of the time): the target only catches a
    # regression of about half as much again.
    target=25.0,
    value="manage.py import_ideas --commit of a CSV of BENCH_IMPORT_PINS pins (1 in 100 "
    "outside the city, refused), routing, events and the closing ANALYZE included",
    floor="bare INSERT INTO mapideas_idea SELECT ... of the same final rows from a temporary "
    "table (same table and count triggers)",
)
def import_pins(context: Context) -> Measurement:
    count = _pins()
    product: list[float] = []
    floor: list[float] = []
    dead_per_pin: list[float] = []
    summaries: dict[str, tuple[int, int]] = {}
    analysed = True
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pins.csv"
        inside = _write_csv(path, count)
        for run in range(1, context.runs + 1):
            marker = f"bench import run {run}"
            _vacuum()
            _forget_stats()
            before = _analysed()
            started = time.perf_counter()
            call_command(
                "import_ideas",
                str(path),
                "--lat-field",
                "lat",
                "--lon-field",
                "lon",
                "--title-field",
                "title",
                "--event",
                marker,
                "--commit",
                stdout=StringIO(),
            )
            product.append(time.perf_counter() - started)
            after = _analysed()
            imported = Idea.objects.filter(event_name=marker).count()
            if imported != inside:
                raise RuntimeError(f"import run {run} stored {imported} pins, not {inside}")
            if connection.vendor == "postgresql":
                # VACUUMed before the run: every dead row version is the import's.
                counts = _dead_and_live((PINS, *SUMMARIES))
                dead_per_pin.append(counts[PINS][0] / imported)
                summaries = {table: counts[table] for table in SUMMARIES}
                analysed = analysed and all(
                    after[t] is not None and (before[t] is None or after[t] > before[t])
                    for t in WRITTEN
                )
            else:
                analysed = analysed and all(after[t] is not False for t in WRITTEN)

            # The floor: the same final rows, copied aside, deleted, and inserted back at once.
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_import_rows")
                cursor.execute(
                    f"CREATE TEMP TABLE bench_import_rows AS SELECT {COLUMNS}"  # noqa: S608
                    f" FROM {PINS} WHERE event_name = %s",
                    [marker],
                )
            _delete(marker)
            _vacuum()
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {PINS} ({COLUMNS}) SELECT {COLUMNS}"  # noqa: S608
                    " FROM bench_import_rows"
                )
                inserted = cursor.rowcount
            floor.append(time.perf_counter() - started)
            if inserted != imported:
                raise RuntimeError(f"floor run {run} inserted {inserted} pins, not {imported}")
            _delete(marker)
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE bench_import_rows")
            context.log(
                f"  run {run}: import_ideas {product[-1]:.2f} s ({imported:,} pins),"
                f" bare INSERT ... SELECT {floor[-1]:.2f} s"
            )
    _vacuum()
    worst_dead = max(dead_per_pin) if dead_per_pin else None
    return Measurement(
        value=_median(product),
        floor=_median(floor),
        details={
            "runs_s": [round(t, 3) for t in product],
            "floor_runs_s": [round(t, 3) for t in floor],
            "csv_rows": count,
            "imported": inside,
            "pins_per_s": round(inside / _median(product)),
            # PostgreSQL only (SQLite rewrites a row in place): dead pin rows per imported pin,
            # the worst run; must be 0.
            "dead_rows_per_pin": worst_dead,
            # The summaries' (dead, live) row versions after the last run: the count triggers
            # run once per INSERT of a batch, so at most one dead version of a live row per
            # batch (the city's pins fill most cells before the import).
            "summaries_dead_live": summaries or None,
            "batches": -(-inside // BATCH_SIZE),
            "tables_analysed": analysed,
            "also_met": analysed and not worst_dead,
        },
    )
