"""The commands that load or re-route many rows end, once committed, with ANALYZE of the tables
they wrote (mapideas.plumbing.commands.analyze_tables); a dry run analyses nothing."""

from io import StringIO

import geopandas as gpd
import pytest
from django.core.management import call_command
from django.db import connection
from shapely.geometry import box

from mapideas.plumbing.commands import analyze_tables
from mapideas.rerouting.services import REROUTED_TABLES, boundaries_activate
from mapideas.submission.services import idea_create
from neighborhoods.models import BoundaryVersion, Neighborhood, Team
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db


def analysed(models) -> dict[str, object]:
    """When each model's table was last analysed (PostgreSQL), or whether SQLite has its
    statistics (sqlite_stat1 rows); on SQLite, cleared first by clear_sqlite_stats()."""
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                [tables],
            )
            found = dict(cursor.fetchall())
        else:
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
            have = {name for (name,) in cursor.fetchall()}
            found = {table: table in have for table in tables}
            for table in tables:
                cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table})")  # noqa: S608
                if cursor.fetchone()[0]:
                    found[table] = None  # SQLite keeps no statistics of an empty table
    return {table: found.get(table) for table in tables}


def clear_sqlite_stats() -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sqlite_schema")  # sqlite_stat1 exists from here on
            cursor.execute("DELETE FROM sqlite_stat1")


def assert_newly_analysed(before: dict, after: dict) -> None:
    for table, when in after.items():
        if connection.vendor == "postgresql":
            assert when is not None and (before[table] is None or when > before[table]), table
        elif when is not None:
            assert when is True, table


def test_analyze_tables_analyses_the_tables_named(city):
    clear_sqlite_stats()
    before = analysed([Neighborhood, Team])

    analyze_tables(Neighborhood, Team)

    assert_newly_analysed(before, analysed([Neighborhood, Team]))


def test_import_population_with_commit_analyses_the_neighborhoods(tmp_path, city):
    path = tmp_path / "population.csv"
    path.write_text("AREA,POP\nWest Side,12500\n", encoding="utf-8")
    clear_sqlite_stats()
    before = analysed([Neighborhood])

    call_command(
        "import_population",
        str(path),
        "--key-field",
        "AREA",
        "--population-field",
        "POP",
        "--commit",
        stdout=StringIO(),
    )

    assert_newly_analysed(before, analysed([Neighborhood]))


def test_activate_boundaries_analyses_what_the_re_route_wrote_and_a_dry_run_nothing(
    tmp_path, city, category
):
    # Two versions and an open pin that moves between them.
    idea_create(kind="idea", title="Bench", category=category, location=IN_EAST)
    first = BoundaryVersion.objects.get(is_active=True)
    frame = gpd.GeoDataFrame(
        {"NAME": ["East Side"], "TEAM": ["Harbor Team"]},
        geometry=[box(4.010, 50.000, 4.020, 50.010)],
        crs=4326,
    )
    path = tmp_path / "e.geojson"
    frame.to_file(path, engine="pyogrio")
    call_command(
        "import_neighborhoods", str(path), "--name-field", "NAME", "--team-field", "TEAM",
        "--commit", stdout=StringIO(),
    )  # fmt: skip
    boundaries_activate(version=first)
    second = BoundaryVersion.objects.exclude(pk=first.pk).get()
    clear_sqlite_stats()
    before = analysed(REROUTED_TABLES)

    call_command("activate_boundaries", str(second.pk), stdout=StringIO())
    assert analysed(REROUTED_TABLES) == before

    call_command("activate_boundaries", str(second.pk), "--commit", stdout=StringIO())
    assert_newly_analysed(before, analysed(REROUTED_TABLES))
