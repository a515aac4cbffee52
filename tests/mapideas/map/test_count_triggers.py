"""The viewport counts' triggers are their current SQL (mapideas.map.count_triggers), put in
place again after every migrate. SQLite's case (triggers lost on table rebuilds, put back
with a recount) is in test_viewport_counts.py; here PostgreSQL's: the definitions defined
again, no recount."""

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection

from mapideas.map import count_triggers, viewport_counts
from mapideas.models import ViewportCellCount
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's triggers"),
]


def installed() -> tuple[str, list[str]]:
    """The trigger function's body and the triggers on mapideas_idea, as PostgreSQL has them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'mapideas_viewportcount_sync'")
        (body,) = cursor.fetchone()
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'mapideas_idea'::regclass"
            " AND NOT tgisinternal ORDER BY tgname"
        )
        return body, [name for (name,) in cursor.fetchall()]


def cell_total(idea) -> int:
    return ViewportCellCount.objects.get(resolution=9, cell=idea.h3_res9).n


def test_postgres_runs_the_current_function_and_triggers():
    body, triggers = installed()

    assert f"$${body}$$" in count_triggers.POSTGRES_FUNCTION
    assert triggers == sorted(count_triggers.POSTGRES_TRIGGERS)


def test_after_migrate_postgres_gets_the_current_definitions_back_without_a_recount(city, category):
    first = idea_create(kind="idea", title="counted", category=category, location=IN_EAST)
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER mapideas_viewportcount_insert ON mapideas_idea")
        cursor.execute(
            "CREATE OR REPLACE FUNCTION mapideas_viewportcount_sync() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
        )
    # A count a recount would correct (every migrate recounting a million pins: too slow).
    ViewportCellCount.objects.create(resolution=9, cell=1, n=42)

    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)

    body, triggers = installed()
    assert f"$${body}$$" in count_triggers.POSTGRES_FUNCTION
    assert triggers == sorted(count_triggers.POSTGRES_TRIGGERS)
    assert ViewportCellCount.objects.get(resolution=9, cell=1).n == 42
    before = cell_total(first)
    idea_create(kind="idea", title="counted too", category=category, location=IN_EAST)
    assert cell_total(first) == before + 1


def test_postgres_definitions_are_applied_again_each_time():
    assert viewport_counts.ensure_triggers() is True
    assert viewport_counts.ensure_triggers() is True
    assert installed()[1] == sorted(count_triggers.POSTGRES_TRIGGERS)
