"""A bulk import writes each pin once, keeps the map's counts with one update per import, and
ends with VACUUM (ANALYZE) of what it wrote (PostgreSQL; ANALYZE on SQLite).

These tests commit (transaction=True): PostgreSQL counts dead rows when a transaction ends,
and a rolled-back test transaction would turn every inserted row into a dead one.
"""

import io
from datetime import datetime

import pytest
from django.core.management import call_command
from django.db import connection, transaction
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
vacuum_on_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="VACUUM and the visibility map are PostgreSQL's; SQLite's import only analyses",
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
def test_it_updates_each_summary_row_once_per_import_whatever_the_batches(
    tmp_path, city, monkeypatch
):
    # A pin imported before: the summary rows of its cells exist, with the import's filters,
    # and the next import updates them rather than inserting them.
    import_csv(tmp_path, [IN_EAST])
    monkeypatch.setattr(idea_import, "BATCH_SIZE", 2)
    live_before = {
        table: model.objects.count()
        for table, model in zip(SUMMARIES, (ViewportCount, ViewportCellCount), strict=True)
    }
    before = pg_stats(("mapideas_idea", *SUMMARIES))

    imported = import_csv(tmp_path, [IN_EAST, IN_WEST] * 3)  # 3 batches of 2

    assert imported == 6
    after = pg_stats(("mapideas_idea", *SUMMARIES))
    assert after["mapideas_idea"][0] - before["mapideas_idea"][0] == 0
    # The bound: the pins reach mapideas_idea in one INSERT ... SELECT, so the count triggers
    # run once and each summary row touched gets one new version, whatever the batches. Only
    # the rows there before can be updated (the others are inserted): dead <= those, three
    # per table (IN_EAST's cell at each resolution). An INSERT per batch left one dead
    # version of every row per batch after the first, besides: 2 x the rows after.
    for table, model in zip(SUMMARIES, (ViewportCount, ViewportCellCount), strict=True):
        dead = after[table][0] - before[table][0]
        touched = live_before[table]
        assert touched == 3, table
        assert model.objects.count() >= touched, table
        assert dead <= touched, (table, dead, touched)
    assert_counts_match_the_pins()


def visibility(tables) -> dict[str, tuple[int, int, datetime | None]]:
    """(pages, all-visible pages, last vacuumed) of each table, as VACUUM leaves them in
    pg_class (relallvisible is set by VACUUM only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT c.relname, c.relpages, c.relallvisible, s.last_vacuum FROM pg_class c"
            " JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = ANY(%s)",
            [list(tables)],
        )
        return {name: (pages, visible, vacuumed) for name, pages, visible, vacuumed in cursor}


@vacuum_on_postgres
def test_a_committed_import_vacuums_what_it_wrote_so_its_pages_are_all_visible(
    tmp_path, city, capsys
):
    before = visibility(WRITTEN)

    # A pin on the shared border: an "also in their area" row, so every table has pages.
    assert "Imported 6 ideas." in import_command(tmp_path, [IN_EAST, IN_WEST, ON_SHARED_BORDER] * 2)

    after = visibility(WRITTEN)
    for table in WRITTEN:
        pages, visible, vacuumed = after[table]
        assert vacuumed is not None, table
        assert before[table][2] is None or vacuumed > before[table][2], table
        # Every page all-visible: the map's index-only counts read no heap page.
        assert pages > 0 and visible == pages, (table, pages, visible)
    assert "VACUUM skipped" not in capsys.readouterr().err
    assert_counts_match_the_pins()


@vacuum_on_postgres
def test_inside_a_transaction_it_analyses_only_and_says_why(tmp_path, city):
    before = visibility(WRITTEN)
    err = io.StringIO()

    with transaction.atomic():
        call_command(
            "import_ideas",
            str(write_csv(tmp_path, [IN_EAST])),
            "--lat-field",
            "lat",
            "--lon-field",
            "lon",
            "--commit",
            stdout=io.StringIO(),
            stderr=err,
        )

    assert "VACUUM skipped: the command ran inside a transaction" in err.getvalue()
    assert {table: when for table, (_p, _v, when) in visibility(WRITTEN).items()} == {
        table: when for table, (_p, _v, when) in before.items()
    }
    assert Idea.objects.count() == 1


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
