"""neighborhoods.compiled_queries.CompiledQuery: a query compiled once per database gives
what the ORM gives for every argument, and refuses a query it could not replay."""

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from neighborhoods.compiled_queries import CompiledQuery
from neighborhoods.models import CategoryRule, Neighborhood
from neighborhoods.spatial_index import in_spatial_index
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_ISLAND, ON_SHARED_BORDER, OUTSIDE_CITY

pytestmark = pytest.mark.django_db

EXAMPLES = (
    (Point(1.25, 2.5, srid=4326), "example-a"),
    (Point(3.75, 4.125, srid=4326), "example-b"),
)


def covering(point, category):
    box = (point.x, point.y, point.x, point.y)
    return (
        in_spatial_index(Neighborhood.objects.all(), "geometry", box, gist_lookup_follows=True)
        .filter(geometry__covers=point)
        .select_related("team", "version")
        .defer("geometry", "version__service_area")
        .annotate(ruled=Exists(CategoryRule.objects.filter(category=category)))
        .order_by("-priority", "area_m2", "slug")
    )


def described(neighborhood):
    """What a caller reads of a result: its columns, its relations, its annotation."""
    return (
        neighborhood.pk,
        neighborhood.name,
        neighborhood.slug,
        neighborhood.area_m2,
        neighborhood.team.pk,
        neighborhood.team.name,
        neighborhood.version.pk,
        neighborhood.version.is_active,
        neighborhood.ruled,
    )


@pytest.mark.parametrize(
    "point", [IN_WEST, IN_EAST, ON_SHARED_BORDER, ON_ISLAND, IN_ENCLAVE, OUTSIDE_CITY]
)
def test_it_gives_what_the_orm_gives_for_every_point_and_category(city, point):
    CategoryRule.objects.create(category="roads", team=city.east_team)
    compiled = CompiledQuery(covering, examples=EXAMPLES)

    for category in ("roads", "parks"):
        expected = [described(n) for n in covering(point, category)]
        assert [described(n) for n in compiled(point, category)] == expected


def test_it_runs_one_query_and_keeps_deferred_fields_deferred(city):
    compiled = CompiledQuery(covering, examples=EXAMPLES)
    compiled(IN_WEST, "roads")  # compiled here

    with CaptureQueriesContext(connection) as queries:
        found = compiled(ON_SHARED_BORDER, "roads")

    assert len(queries.captured_queries) == 1
    assert [n.slug for n in found] == ["east-side", "west-side"]
    assert "geometry" in found[0].get_deferred_fields()
    assert found[0]._state.db == "default" and not found[0]._state.adding


def test_a_query_whose_sql_depends_on_its_arguments_is_refused(city):
    def shaped(point, category):
        rows = Neighborhood.objects.filter(geometry__covers=point)
        return rows.filter(name=category) if category == "example-a" else rows

    with pytest.raises(ImproperlyConfigured, match="SQL depends on its arguments"):
        CompiledQuery(shaped, examples=EXAMPLES)(IN_WEST, "roads")


def test_a_parameter_no_argument_explains_is_refused(city):
    def stamped(point, category):
        # A value computed when the query is built: replaying the first one would be wrong.
        return Neighborhood.objects.filter(
            geometry__covers=point, version__created_at__lt=timezone.now()
        )

    with pytest.raises(ImproperlyConfigured, match="no argument explains"):
        CompiledQuery(stamped, examples=EXAMPLES)(IN_WEST, "roads")


def test_a_query_of_values_is_refused(city):
    def counts(point, category):
        return (
            Neighborhood.objects.filter(geometry__covers=point, name=category)
            .values("team")
            .annotate(n=Count("pk"))
        )

    with pytest.raises(ImproperlyConfigured, match="not a query of model instances"):
        CompiledQuery(counts, examples=EXAMPLES)(IN_WEST, "roads")


def test_relations_to_outer_rows_compile_too(city):
    """A correlated subquery (OuterRef) is part of the SQL text, not a parameter."""

    def with_rules(point, category):
        return Neighborhood.objects.filter(geometry__covers=point).annotate(
            own_rule=Exists(
                CategoryRule.objects.filter(category=category, team_id=OuterRef("team_id"))
            )
        )

    CategoryRule.objects.create(category="roads", team=city.west_team)
    compiled = CompiledQuery(with_rules, examples=EXAMPLES)

    assert [n.own_rule for n in compiled(IN_WEST, "roads")] == [True]
    assert [n.own_rule for n in compiled(IN_WEST, "parks")] == [False]
