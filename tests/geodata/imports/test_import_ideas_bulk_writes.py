"""A bulk import writes each pin once, keeps the map's counts with one update per batch, and
ends with ANALYZE of what it wrote.

These tests commit (transaction=True): PostgreSQL counts dead rows when a transaction ends,
and a rolled-back test transaction would turn every inserted row into a dead one.
"""

import io
from datetime import datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from geodata.imports import ideas as idea_import
from geodata.imports.ideas import ideas_import_csv
from mapideas.models import Idea, ViewportCellCount, ViewportCount
from mapideas.pins.default_categories import default_categories_create
from tests.conftest import IN_EAST, IN_WEST, ON_SHARED_BORDER, OUTSIDE_CITY

pytestmark = pytest.mark.django_db(transaction=True)

SUMMARIES = (ViewportCount._meta.db_table, ViewportCellCount._meta.db_table)
WRITTEN = tuple(model._meta.db_table for model in idea_import.WRITTEN_TABLES)
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="dead rows are PostgreSQL's (MVCC)"
)


@pytest.fixture(autouse=True)
def categories_after_a_flush(transactional_db) -> None:
    # The flush after another transactional test removed the categories the data migration
    # wrote; the import's default category is one of them.
    default_categories_create()


def write_csv(tmp_path, points):
    path = tmp_path / "pins.csv"
    rows = "".join(f"{p.y},{p.x},Pin {n}\n" for n, p in enumerate(points))
    path.write_text("lat,lon,title\n" + rows, encoding="utf-8")
    return path


def import_csv(tmp_path, points) -> int:
    """The import itself, without the command's ANALYZE: PostgreSQL's ANALYZE sets the dead
    row count to what it finds, and the import's own counts arrive after it (this connection
    flushes them when idle), so the figures below would mix the two."""
    result = ideas_import_csv(
        path=write_csv(tmp_path, points), lat_field="lat", lon_field="lon", title_field="title"
    )
    return result.imported


def import_command(tmp_path, points, *, commit: bool = True) -> str:
    out = io.StringIO()
    call_command(
        "import_ideas",
        str(write_csv(tmp_path, points)),
        "--lat-field",
        "lat",
        "--lon-field",
        "lon",
        "--title-field",
        "title",
        *(["--commit"] if commit else []),
        stdout=out,
    )
    return out.getvalue()


def pg_stats(tables) -> dict[str, tuple[int, int, datetime | None]]:
    """(dead rows, live rows, last analysed) of each table, as PostgreSQL's statistics say
    once this connection's pending counts are flushed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        if cursor.fetchone()[0] >= 150000:
            # Flushed when this statement's transaction ends, not up to a second later.
            cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, n_dead_tup, n_live_tup, GREATEST(last_analyze, last_autoanalyze)"
            " FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [list(tables)],
        )
        return {name: (dead, live, analysed) for name, dead, live, analysed in cursor.fetchall()}


def assert_counts_match_the_pins() -> None:
    pins = Idea.objects.count()
    for resolution in (7, 8, 9):
        cells = ViewportCellCount.objects.filter(resolution=resolution)
        assert cells.aggregate(n=Sum("n"))["n"] == pins
        by_team = ViewportCount.objects.filter(resolution=resolution, n__gt=0)
        assert dict(by_team.values_list("team_id").annotate(n=Sum("n"))) == dict(
            Idea.objects.values_list("team_id").annotate(n=Count("id"))
        )
    # No summary row left at zero by a pin that passed through a placeholder team.
    assert not ViewportCount.objects.filter(n=0).exists()


@postgres_only
def test_it_writes_each_pin_once_and_the_summaries_once(tmp_path, city):
    before = pg_stats(("mapideas_idea", *SUMMARIES))

    imported = import_csv(tmp_path, [IN_EAST, IN_WEST, ON_SHARED_BORDER, OUTSIDE_CITY] * 3)

    assert imported == 9
    after = pg_stats(("mapideas_idea", *SUMMARIES))
    # The import's counts have reached the statistics (else the zero below proves nothing).
    assert after["mapideas_idea"][1] - before["mapideas_idea"][1] == 9
    # The refused rows were never inserted, the others never updated: no dead pin.
    assert after["mapideas_idea"][0] - before["mapideas_idea"][0] == 0
    # One batch into summaries that held none of these rows: each is inserted once, none is
    # updated (before, the routing UPDATE rewrote every row of the placeholder team).
    for table in SUMMARIES:
        assert after[table][0] - before[table][0] == 0, table
    assert_counts_match_the_pins()


@postgres_only
def test_it_updates_the_summaries_at_most_once_per_batch(tmp_path, city, monkeypatch):
    monkeypatch.setattr(idea_import, "BATCH_SIZE", 2)
    before = pg_stats(("mapideas_idea", *SUMMARIES))

    import_csv(tmp_path, [IN_EAST] * 6)  # 3 batches of 2, every pin in the same cells

    after = pg_stats(("mapideas_idea", *SUMMARIES))
    assert after["mapideas_idea"][0] - before["mapideas_idea"][0] == 0
    # The bound: a summary row is written at most once per batch (the triggers run once per
    # INSERT statement), so each batch after the first can leave one dead version of each
    # live row, and no more: dead <= (batches - 1) x live rows. Here 2 x 3 of each table (three
    # resolutions, one cell each), where a trigger per row would leave 5 x 3.
    for table, model in zip(SUMMARIES, (ViewportCount, ViewportCellCount), strict=True):
        dead = after[table][0] - before[table][0]
        live = model.objects.count()
        assert live == 3, table
        assert dead <= (3 - 1) * live, (table, dead)
    assert_counts_match_the_pins()


def test_it_analyses_the_tables_it_wrote(tmp_path, city):
    if connection.vendor == "postgresql":
        before = pg_stats(WRITTEN)
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sqlite_schema")  # makes sure sqlite_stat1 exists
            cursor.execute("DELETE FROM sqlite_stat1")

    assert "Imported 2 ideas." in import_command(tmp_path, [IN_EAST, ON_SHARED_BORDER])

    if connection.vendor == "postgresql":
        after = pg_stats(WRITTEN)
        for table in WRITTEN:
            assert after[table][2] is not None, table
            assert before[table][2] is None or after[table][2] > before[table][2], table
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
            analysed = {name for (name,) in cursor.fetchall()}
        assert set(WRITTEN) <= analysed
    assert_counts_match_the_pins()


def test_a_dry_run_analyses_nothing(tmp_path, city):
    if connection.vendor == "postgresql":
        before = pg_stats(WRITTEN)
        import_command(tmp_path, [IN_EAST], commit=False)
        assert pg_stats(WRITTEN)["mapideas_idea"][2] == before["mapideas_idea"][2]
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sqlite_schema")
            cursor.execute("DELETE FROM sqlite_stat1")
        import_command(tmp_path, [IN_EAST], commit=False)
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM sqlite_stat1")
            assert cursor.fetchone()[0] == 0
    assert not Idea.objects.exists()
