"""The bulk import row: `manage.py import_ideas --commit` of a CSV of pins, against the bare
INSERT ... SELECT of the same final rows, with the dead rows it leaves, how many times it
updated each summary row, whether it analysed, and whether its pages are all-visible.

Registered by importing this module (bench/__main__.py does, after bench.rows).

Settings (environment):
    BENCH_IMPORT_PINS   rows in the CSV file (default 200000); one in OUTSIDE_EVERY lies
                        outside the city and is refused
"""

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection, transaction

from bench.rows import Context, Measurement, _median, _sample_points, row
from geodata.imports.ideas import BATCH_SIZE, WRITTEN_TABLES
from geodata.management.commands import import_ideas
from mapideas.models import Idea, RoutingEvent

OUTSIDE_EVERY = 100
# Far from Chicago: outside every service area, so the import refuses the row.
OUTSIDE = (0.5, 0.5)
# Tables whose dead rows are reported: the pins, and the map's summaries kept by triggers.
PINS = Idea._meta.db_table
SUMMARIES = ("mapideas_viewportcount", "mapideas_viewportcellcount")
WRITTEN = tuple(model._meta.db_table for model in WRITTEN_TABLES)
# The bound also_met holds the summaries to, and the test holds the import to
# (tests/geodata/imports/test_import_ideas_bulk_writes.py): each summary row updated at most
# once per import (the pins reach mapideas_idea in one INSERT ... SELECT), so updates per live
# summary row <= 1. One INSERT per batch updated a busy cell's row once per batch.
MAX_SUMMARY_UPDATES_PER_ROW = 1.0
# Share of each written table's pages VACUUM must leave all-visible (the map's index-only
# counts fetch no heap page for those).
MIN_ALL_VISIBLE = 0.99
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


def _made_dead(tables: tuple[str, ...]) -> dict[str, int]:
    """Row versions each table's updates and deletes made dead so far (PostgreSQL's
    statistics, once this connection's pending counts are flushed), whatever VACUUM removed
    since: an upsert that updates counts one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int >= 150000")
        if cursor.fetchone()[0]:
            # Flushed when this statement's transaction ends, not up to a second later.
            cursor.execute("SELECT pg_stat_force_next_flush()")
        else:
            time.sleep(1.5)  # before 15: sent to the collector at most every 500 ms
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, n_tup_upd + n_tup_del FROM pg_stat_user_tables"
            " WHERE relname = ANY(%s)",
            [list(tables)],
        )
        return dict(cursor.fetchall())


def _all_visible(tables: tuple[str, ...]) -> dict[str, float]:
    """Share of each table's pages marked all-visible (pg_class.relallvisible, set by VACUUM;
    1 for a table without pages)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, CASE WHEN relpages = 0 THEN 1"
            " ELSE relallvisible::float / relpages END FROM pg_class"
            " WHERE relname = ANY(%s) AND relkind = 'r'",
            [list(tables)],
        )
        return {name: round(share, 4) for name, share in cursor.fetchall()}


@contextmanager
def _timed_closing_step(times: list[float]) -> Iterator[None]:
    """Time the command's closing VACUUM (ANALYZE) / ANALYZE apart from the whole import."""
    closing = import_ideas.vacuum_analyze_tables

    def timed(*tables: Any) -> str | None:
        started = time.perf_counter()
        try:
            return closing(*tables)
        finally:
            times.append(time.perf_counter() - started)

    import_ideas.vacuum_analyze_tables = timed
    try:
        yield
    finally:
        import_ideas.vacuum_analyze_tables = closing


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
    # The figures that must hold are in also_met: no dead pin row, each summary row updated at
    # most once, the tables analysed and (PostgreSQL) vacuumed all-visible. The
    # ratio is mostly Django's bulk INSERT and the checks of each row in Python (~16 at 20k
    # pins, where the routing takes a tenth of the time): the target only catches a
    # regression of about half as much again.
    target=25.0,
    value="manage.py import_ideas --commit of a CSV of BENCH_IMPORT_PINS pins (1 in 100 "
    "outside the city, refused), routing, events and the closing VACUUM (ANALYZE) included",
    floor="bare INSERT INTO mapideas_idea SELECT ... of the same final rows from a temporary "
    "table (same table and count triggers)",
)
def import_pins(context: Context) -> Measurement:
    count = _pins()
    product: list[float] = []
    floor: list[float] = []
    dead_per_pin: list[float] = []
    closing: list[float] = []
    summaries: dict[str, tuple[int, int]] = {}
    updates_per_row: dict[str, float] = {}
    worst_updates = 0.0
    visible: dict[str, float] = {}
    all_visible = True
    analysed = True
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pins.csv"
        inside = _write_csv(path, count)
        for run in range(1, context.runs + 1):
            marker = f"bench import run {run}"
            _vacuum()
            _forget_stats()
            before = _analysed()
            dead_before = (
                _made_dead((PINS, *SUMMARIES)) if connection.vendor == "postgresql" else {}
            )
            started = time.perf_counter()
            with _timed_closing_step(closing):
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
                # The row versions the import made dead, whatever the command's closing
                # VACUUM removed since: pins updated or deleted per pin imported, and summary
                # rows its triggers updated per live summary row.
                made_dead = _made_dead((PINS, *SUMMARIES))
                made = {table: made_dead[table] - dead_before[table] for table in made_dead}
                # VACUUMed before the run: every dead version left is the import's, after the
                # command's own VACUUM.
                counts = _dead_and_live((PINS, *SUMMARIES))
                dead_per_pin.append((made[PINS] + counts[PINS][0]) / imported)
                summaries = {table: counts[table] for table in SUMMARIES}
                updates_per_row = {
                    table: round(made[table] / max(counts[table][1], 1), 4) for table in SUMMARIES
                }
                worst_updates = max(worst_updates, *updates_per_row.values())
                visible = _all_visible(WRITTEN)
                all_visible = all_visible and all(
                    share >= MIN_ALL_VISIBLE for share in visible.values()
                )
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
            # PostgreSQL only (SQLite rewrites a row in place): pin versions made dead
            # (updated or deleted, by the statistics) plus those left (pgstattuple) per
            # imported pin, the worst run; must be 0.
            "dead_rows_per_pin": worst_dead,
            # PostgreSQL: the summaries' (dead, live) row versions after the last run, its
            # closing VACUUM included; and the rows the import's count triggers updated per
            # live summary row (n_tup_upd, each one dead version until a vacuum): the pins
            # reach mapideas_idea in one INSERT ... SELECT, so at most 1 whatever the batches.
            "summaries_dead_live": summaries or None,
            "summary_updates_per_live_row": updates_per_row or None,
            "batches": -(-inside // BATCH_SIZE),
            # The command's closing step alone (VACUUM (ANALYZE) on PostgreSQL, ANALYZE on
            # SQLite), each run; and the share of each written table's pages all-visible after
            # the last run (PostgreSQL).
            "closing_vacuum_analyze_s": [round(t, 3) for t in closing],
            "all_visible_pages": visible or None,
            "tables_analysed": analysed,
            "also_met": analysed
            and not worst_dead
            and worst_updates <= MAX_SUMMARY_UPDATES_PER_ROW
            and all_visible,
        },
    )
