"""The pins' partial indexes (mapideas.models.Idea.Meta.indexes): a look-up by a duplicate's
original, an assignee or an author reads only the few pins that have one, through its index,
also once the database's statistics count the many pins without one.

SQLite's ANALYZE counts every NULL of a foreign key as one value, so its statistics say that
`duplicate_of_id = ?` matches every pin: with the foreign key's own index alone, its planner
scans the whole table (a pin's page spent 20 ms there at 100,000 pins)."""

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from mapideas.models import Idea
from mapideas.submission.services import idea_create
from tests.query_plans import plan

pytestmark = pytest.mark.django_db

LOOK_UPS = {
    "idea_duplicate_of_set": "duplicate_of_id",
    "idea_assignee_set": "assignee_id",
    "idea_author_set": "author_id",
}


@pytest.fixture
def analysed_city(city, category, make_user, west_member):
    """Sixty pins, one of them a duplicate with an assignee and a signed-in author, the rest
    without any: then the statistics of every table, as a bulk load leaves them."""
    author = make_user("author")
    pins = [
        idea_create(
            kind="issue",
            title=f"Pothole {i}",
            category=category,
            location=Point(4.005 + i * 1e-4, 50.002, srid=4326),
        )
        for i in range(60)
    ]
    Idea.objects.filter(pk=pins[1].pk).update(
        duplicate_of=pins[0], assignee=west_member, author=author
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return pins


def _plan(column: str, value: int) -> str:
    return plan(Idea.objects.filter(**{column: value}).values("id"))


@pytest.mark.parametrize(("index", "column"), LOOK_UPS.items())
def test_a_look_up_by_a_key_few_pins_have_reads_its_partial_index(analysed_city, index, column):
    value = getattr(Idea.objects.get(pk=analysed_city[1].pk), column)
    assert value is not None
    plan = _plan(column, value)
    assert index in plan, plan
    assert "SCAN mapideas_idea\n" not in plan + "\n", plan


@pytest.mark.parametrize(("index", "column"), LOOK_UPS.items())
def test_the_partial_indexes_hold_only_the_pins_that_have_the_key(analysed_city, index, column):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Idea._meta.db_table)
    assert constraints[index]["columns"] == [column]
    assert constraints[index]["index"]
    # Only what is set is in it: the pins without a duplicate, an assignee or an author are
    # found as before (the foreign key's own index), this index stays the size of the few.
    value = getattr(Idea.objects.get(pk=analysed_city[1].pk), column)
    assert Idea.objects.filter(**{column: value}).count() == 1
    assert Idea.objects.filter(**{f"{column.removesuffix('_id')}__isnull": True}).count() == 59
